"""Constraint rows as tensors: every row's two sides for a batch of points, in one program run.

The objective's compiled program is compiled with the rows' cells as extra outputs, so one run
gives the objective and every constraint cell for all restarts at once. A row ``lhs <= rhs`` is
held as ``g = lhs - rhs <= 0``, ``lhs >= rhs`` as ``g = rhs - lhs <= 0``, ``lhs = rhs`` as
``g = lhs - rhs = 0``; `violation` is then ``max(g, 0)`` or ``|g|``.

Feasibility uses Excel's constraint precision (``solver_pre``, 1e-6): a row is satisfied when it
is violated by at most ``precision * max(1, |rhs|)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from xl_lesson3.solver.bounds import Row
from xl_lesson3.workbook.address import CellAddress

PRECISION = 1e-6  # Excel's default constraint precision (solver_pre)


def row_cells(rows: Sequence[Row]) -> tuple[CellAddress, ...]:
    """Every cell the rows read (left sides and cell right sides), each once, in order."""
    cells: dict[CellAddress, None] = {}
    for row in rows:
        cells.setdefault(row.lhs, None)
        if isinstance(row.rhs, CellAddress):
            cells.setdefault(row.rhs, None)
    return tuple(cells)


@dataclass
class RowSet:
    """Tensors for a fixed list of rows."""

    rows: tuple[Row, ...]
    precision: float = PRECISION

    def __post_init__(self) -> None:
        self.equality = torch.tensor([row.relation == "=" for row in self.rows], dtype=torch.bool)
        self.sign = torch.tensor([-1.0 if row.relation == ">=" else 1.0 for row in self.rows])

    def __len__(self) -> int:
        return len(self.rows)

    def sides(
        self, outputs: Mapping[CellAddress, torch.Tensor], like: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(lhs, rhs), each (batch, n_rows), from the program's outputs."""
        batch = like.shape[0]
        lhs = torch.stack([outputs[row.lhs] for row in self.rows], dim=1)
        rhs = torch.stack(
            [
                outputs[row.rhs]
                if isinstance(row.rhs, CellAddress)
                else torch.full((batch,), float(row.rhs), dtype=like.dtype, device=like.device)
                for row in self.rows
            ],
            dim=1,
        )
        return lhs, rhs

    def g(self, lhs: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
        """(batch, n_rows) in ``g <= 0`` / ``g = 0`` form."""
        return (lhs - rhs) * self.sign.to(lhs)

    def violation(self, lhs: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
        """(batch, n_rows) how far each row is from holding, scaled by max(1, |rhs|)."""
        g = self.g(lhs, rhs)
        raw = torch.where(self.equality.to(g.device), g.abs(), g.clamp_min(0.0))
        raw = torch.where(torch.isfinite(raw), raw, torch.inf)
        return raw / rhs.abs().clamp_min(1.0)

    def feasible(self, lhs: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
        """(batch,) every row holds within the precision."""
        if not self.rows:
            return torch.ones(lhs.shape[0], dtype=torch.bool, device=lhs.device)
        return (self.violation(lhs, rhs) <= self.precision).all(dim=1)
