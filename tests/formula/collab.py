"""A workbook shaped like the course's collaborative-filtering sheet, built with openpyxl.

Ratings in long form (user, movie, rating), a user and a movie factor table of 5 columns, each
rating's factors looked up with MATCH inside OFFSET array formulas, the prediction a SUMPRODUCT
of the two, the objective ``=SQRT(SUMXMY2(ratings, predictions)/COUNT(ratings))`` and an Excel
Solver model over both factor tables, as in fast.ai's ``collab_filter.xlsx``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import openpyxl
from openpyxl.worksheet.formula import ArrayFormula

from xl_lesson3.solver import SolverModel, save_model
from xl_lesson3.workbook.address import CellAddress, RangeAddress

N_USERS, N_MOVIES, N_FACTORS = 15, 15, 5
SHEET = "collab"
USER_IDS = [14, 29, 72, 211, 212, 293, 310, 379, 451, 467, 508, 546, 563, 579, 623]
MOVIE_IDS = [1, 110, 260, 296, 318, 356, 480, 527, 589, 593, 608, 1196, 1198, 1210, 2571]


@dataclass(frozen=True)
class CollabData:
    """The data written into the sheet (also what the independent torch script trains on)."""

    users: np.ndarray  # (n,) user index 0..14 of each rating
    movies: np.ndarray  # (n,) movie index
    ratings: np.ndarray  # (n,)
    user_factors: np.ndarray  # (15, 5) initial values
    movie_factors: np.ndarray  # (15, 5)


def collab_data(seed: int = 0, keep: float = 0.85) -> CollabData:
    """Ratings from hidden rank-5 factors plus noise; `keep` of the 225 pairs are rated."""
    rng = np.random.default_rng(seed)
    true_u = rng.normal(0, 0.6, (N_USERS, N_FACTORS))
    true_m = rng.normal(0, 0.6, (N_MOVIES, N_FACTORS))
    pairs = [(u, m) for u in range(N_USERS) for m in range(N_MOVIES) if rng.random() < keep]
    users = np.array([p[0] for p in pairs])
    movies = np.array([p[1] for p in pairs])
    ratings = np.clip(
        3 + (true_u[users] * true_m[movies]).sum(1) + rng.normal(0, 0.3, len(pairs)), 0.5, 5
    ).round(1)
    return CollabData(
        users,
        movies,
        ratings,
        rng.uniform(0, 1, (N_USERS, N_FACTORS)).round(3),
        rng.uniform(0, 1, (N_MOVIES, N_FACTORS)).round(3),
    )


def write_collab_workbook(path: Path, data: CollabData) -> Path:
    """The sheet: A:C ratings, D:H and I:M looked-up factors, N predictions, O:T user table,
    U:Z movie table, AB1 the objective; a Solver model minimising AB1 over P2:T16, V2:Z16."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(["userId", "movieId", "rating"])
    last = len(data.ratings) + 1
    for i, (u, m, r) in enumerate(zip(data.users, data.movies, data.ratings, strict=True)):
        row = i + 2
        ws.cell(row, 1, USER_IDS[u])
        ws.cell(row, 2, MOVIE_IDS[m])
        ws.cell(row, 3, float(r))
        ws[f"D{row}"] = ArrayFormula(
            f"D{row}:H{row}", f"=OFFSET($P$1,MATCH(A{row},$O$2:$O$16,0),0,1,5)"
        )
        ws[f"I{row}"] = ArrayFormula(
            f"I{row}:M{row}", f"=OFFSET($V$1,MATCH(B{row},$U$2:$U$16,0),0,1,5)"
        )
        ws[f"N{row}"] = f"=SUMPRODUCT(D{row}:H{row},I{row}:M{row})"
    ws["O1"], ws["U1"] = "userId", "movieId"
    for i in range(N_USERS):
        ws.cell(i + 2, 15, USER_IDS[i])
        for k in range(N_FACTORS):
            ws.cell(i + 2, 16 + k, float(data.user_factors[i, k]))
    for i in range(N_MOVIES):
        ws.cell(i + 2, 21, MOVIE_IDS[i])
        for k in range(N_FACTORS):
            ws.cell(i + 2, 22 + k, float(data.movie_factors[i, k]))
    ws["AA1"] = "RMSE"
    ws["AB1"] = f"=SQRT(SUMXMY2(C2:C{last},N2:N{last})/COUNT(C2:C{last}))"
    wb.save(path)
    save_model(
        path,
        SolverModel(
            sheet=SHEET,
            objective=CellAddress(SHEET, 1, 28),
            changing=(
                RangeAddress.parse(f"{SHEET}!P2:T16"),
                RangeAddress.parse(f"{SHEET}!V2:Z16"),
            ),
        ),
    )
    return path
