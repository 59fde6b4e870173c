"""Excel Solver models: the hidden, sheet-scoped ``solver_*`` defined names, read and written.

Excel's Solver add-in keeps one model per worksheet in hidden names scoped to that sheet
(``<definedName name="solver_opt" localSheetId="0" hidden="1">linear!$B$3</definedName>``):

- ``solver_opt``: the objective cell; ``solver_typ``: 1 max, 2 min, 3 value-of (``solver_val``);
- ``solver_adj``: the changing cells, one or several areas separated by commas;
- ``solver_neg``: 1 makes changing cells without an explicit lower bound non-negative, 2 does not
  (Excel's dialog ticks it by default, so a missing name also means 1);
- ``solver_num`` constraints ``solver_lhsN`` / ``solver_relN`` / ``solver_rhsN``, relation codes
  1 ``<=``, 2 ``=``, 3 ``>=``, 4 int, 5 bin, 6 dif (AllDifferent; right side ``"integer"``,
  ``"binary"``, ``"AllDifferent"``). ``solver_num`` is authoritative: Excel leaves stale
  ``solver_lhs5`` names behind when a model shrinks;
- ``solver_eng`` (1 GRG Nonlinear, 2 Simplex LP, 3 Evolutionary), ``solver_ver`` 3, and the options
  Excel writes on every save (tolerances, limits), which we write with Excel's defaults so Excel's
  own Solver dialog opens the model exactly as if a user had set it up there.

Reading validates shape only; `xl_lesson3.solver.bounds` splits the constraints into bounds,
general rows and integrality, and `xl_lesson3.solver.options` reads the engine and options.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from xl_lesson3.errors import SolverModelError, UnknownReferenceError, located
from xl_lesson3.workbook.address import CellAddress, RangeAddress, quote_sheet
from xl_lesson3.workbook.safexml import parse_xml

if TYPE_CHECKING:
    from xl_lesson3.workbook.model import WorkbookModel

Goal = str | float  # "min", "max", or a target value (Excel's "Value Of")
Rhs = float | CellAddress | RangeAddress | None

RELATION_CODES = {"<=": 1, "=": 2, ">=": 3, "int": 4, "bin": 5, "dif": 6}
CODE_RELATIONS = {code: rel for rel, code in RELATION_CODES.items()}
# What Excel puts in solver_rhsN for the relations that take no right-hand side.
KEYWORD_RHS = {"int": "integer", "bin": "binary", "dif": "AllDifferent"}
GOAL_CODES = {"max": 1, "min": 2}

# Options Excel's Solver writes on every save, with the values of a fresh Solver dialog
# (GRG Nonlinear). Excel reads them back into its Options dialog; we only preserve them.
EXCEL_OPTION_DEFAULTS = {
    "solver_cvg": "0.0001",  # GRG convergence
    "solver_drv": "1",  # derivatives: forward differences
    "solver_est": "1",  # estimates: tangent
    "solver_itr": "2147483647",  # max iterations
    "solver_mip": "2147483647",  # max integer subproblems
    "solver_mni": "30",  # evolutionary: max time without improvement
    "solver_mrt": "0.075",  # evolutionary: mutation rate
    "solver_msl": "2",  # multistart: off
    "solver_nod": "2147483647",  # max feasible solutions
    "solver_nwt": "1",  # search: Newton
    "solver_pre": "0.000001",  # constraint precision
    "solver_rbv": "1",  # require bounds on variables (evolutionary/multistart)
    "solver_rlx": "2",  # ignore integer constraints: no
    "solver_rsd": "0",  # random seed
    "solver_scl": "1",  # automatic scaling
    "solver_sho": "2",  # show iteration results: no
    "solver_ssz": "100",  # population size
    "solver_tim": "2147483647",  # max time (s)
    "solver_tol": "0.01",  # integer optimality (1%)
}
ENGINE_GRG, ENGINE_SIMPLEX, ENGINE_EVOLUTIONARY = 1, 2, 3


@dataclass(frozen=True)
class Constraint:
    """One Solver constraint ``lhs relation rhs``.

    `rhs` is a number, a cell, a range of `lhs`'s shape, or None for ``int``/``bin``/``dif``.
    """

    lhs: RangeAddress
    relation: str
    rhs: Rhs = None

    def __post_init__(self) -> None:
        if self.relation not in RELATION_CODES:
            raise SolverModelError(
                located(
                    str(self.lhs),
                    f"unknown constraint relation {self.relation!r} "
                    f"(known: {', '.join(RELATION_CODES)})",
                )
            )


@dataclass(frozen=True)
class SolverModel:
    """A Solver model of one sheet: objective, changing cells, goal and constraints.

    `goal` is ``"min"``, ``"max"`` or a float (Excel's "Value Of"). `non_negative` is Excel's "Make
    unconstrained variables non-negative" box; it defaults to False here because the weights of a
    neural network must be free to go negative. `engine`: 1 GRG Nonlinear, 2 Simplex LP,
    3 Evolutionary (which of our engines runs: `xl_lesson3.solver.dispatch`).
    """

    sheet: str
    objective: CellAddress
    changing: tuple[RangeAddress, ...]
    goal: Goal = "min"
    constraints: tuple[Constraint, ...] = ()
    non_negative: bool = False
    engine: int = ENGINE_GRG
    options: Mapping[str, str] = field(default_factory=dict)  # other solver_* names, kept as text

    def __post_init__(self) -> None:
        if not isinstance(self.goal, str):
            object.__setattr__(self, "goal", float(self.goal))
        elif self.goal not in GOAL_CODES:
            raise SolverModelError(
                located(self.sheet, f"goal must be 'min', 'max' or a number, got {self.goal!r}")
            )
        if not self.changing:
            raise SolverModelError(located(self.sheet, "a Solver model needs changing cells"))

    @property
    def variables(self) -> tuple[CellAddress, ...]:
        """Every changing cell, area by area, row by row; duplicates (overlapping areas) once."""
        seen: dict[CellAddress, None] = {}
        for area in self.changing:
            for cell in area.cells():
                seen.setdefault(cell, None)
        return tuple(seen)


# ---------------------------------------------------------------------------------------------
# Writing: model -> name texts
# ---------------------------------------------------------------------------------------------


def _ref_text(ref: CellAddress | RangeAddress) -> str:
    """Sheet-qualified absolute reference as Excel stores it: ``linear!$B$3:$C$4``."""
    area = ref if isinstance(ref, RangeAddress) else RangeAddress.from_cell(ref)
    first = f"${_col(area.min_col)}${area.min_row}"
    if area.is_cell:
        return f"{quote_sheet(area.sheet)}!{first}"
    return f"{quote_sheet(area.sheet)}!{first}:${_col(area.max_col)}${area.max_row}"


def _col(index: int) -> str:
    from openpyxl.utils.cell import get_column_letter

    return get_column_letter(index)


def _number_text(value: float) -> str:
    """A number the way Excel's formula bar writes it (``2``, ``0.5``, ``1E-06``)."""
    value = float(value)
    if not math.isfinite(value):
        raise SolverModelError(f"{value}: Solver models need finite numbers")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15g").upper()


def _rhs_text(constraint: Constraint) -> str:
    if constraint.relation in KEYWORD_RHS:
        return f'"{KEYWORD_RHS[constraint.relation]}"'
    rhs = constraint.rhs
    if isinstance(rhs, (CellAddress, RangeAddress)):
        return _ref_text(rhs)
    if rhs is None:
        raise SolverModelError(
            located(
                str(constraint.lhs),
                f"'{constraint.relation}' needs a right-hand side (a number or a cell)",
            )
        )
    return _number_text(rhs)


def solver_defined_names(model: SolverModel) -> dict[str, str]:
    """Every name Excel's Solver stores for `model`, name -> text (without ``=``).

    All of them belong on `model.sheet` (sheet scope) and hidden, as Excel writes them.
    """
    if isinstance(model.goal, str):
        typ, val = GOAL_CODES[model.goal], 0.0
    else:
        typ, val = 3, model.goal
    names = {
        "solver_opt": _ref_text(model.objective),
        "solver_typ": str(typ),
        "solver_val": _number_text(val),
        "solver_adj": ",".join(_ref_text(area) for area in model.changing),
        "solver_neg": "1" if model.non_negative else "2",
        "solver_num": str(len(model.constraints)),
        "solver_eng": str(model.engine),
        "solver_lin": "1" if model.engine == ENGINE_SIMPLEX else "2",
        "solver_ver": "3",
    }
    for index, constraint in enumerate(model.constraints, start=1):
        names[f"solver_lhs{index}"] = _ref_text(constraint.lhs)
        names[f"solver_rel{index}"] = str(RELATION_CODES[constraint.relation])
        names[f"solver_rhs{index}"] = _rhs_text(constraint)
    for name, text in {**EXCEL_OPTION_DEFAULTS, **model.options}.items():
        names.setdefault(name, text)
    return dict(sorted(names.items()))


# ---------------------------------------------------------------------------------------------
# Reading: name texts -> model
# ---------------------------------------------------------------------------------------------

_STRUCTURAL = {
    "solver_opt",
    "solver_typ",
    "solver_val",
    "solver_adj",
    "solver_neg",
    "solver_num",
    "solver_eng",
    "solver_lin",
    "solver_ver",
}
_CONSTRAINT_NAME_RE = re.compile(r"^solver_(lhs|rel|rhs)\d+$")


def sheet_solver_names(model: WorkbookModel, sheet: str) -> dict[str, str]:
    """The ``solver_*`` names scoped to `sheet`, lower-cased name -> text without ``=``."""
    names = {}
    for defined in model.defined_names:
        if defined.scope == sheet and defined.name.lower().startswith("solver_"):
            names[defined.name.lower()] = defined.text.strip().removeprefix("=").strip()
    return names


def read_solver_model(model: WorkbookModel, sheet: str) -> SolverModel:
    """The Solver model Excel stored on `sheet` (its sheet-scoped ``solver_*`` names).

    Raises UnknownReferenceError for a sheet that does not exist and SolverModelError, naming
    the sheet and the name, for a missing or malformed model.
    """
    if sheet not in model.sheet_names:
        raise UnknownReferenceError(
            located(quote_sheet(sheet), f"no such sheet (sheets: {', '.join(model.sheet_names)})")
        )
    names = sheet_solver_names(model, sheet)
    reader = _NameReader(sheet, names, model.sheet_names)
    if "solver_opt" not in names or "solver_adj" not in names:
        raise SolverModelError(
            located(
                quote_sheet(sheet),
                "no Solver model on this sheet (no solver_opt and "
                "solver_adj names); give the objective and changing cells explicitly",
            )
        )
    objective = reader.cell("solver_opt")
    changing = reader.areas("solver_adj")
    typ = reader.integer("solver_typ", default=2)
    if typ == 3:
        goal: Goal = reader.number("solver_val", default=0.0)
    elif typ in (1, 2):
        goal = "max" if typ == 1 else "min"
    else:
        raise SolverModelError(
            reader.where("solver_typ") + f": {typ} is not 1 (max), 2 (min) or 3 (value of)"
        )
    neg = reader.integer("solver_neg", default=1)  # Excel's dialog ticks the box by default
    constraints = tuple(
        reader.constraint(index) for index in range(1, reader.integer("solver_num", 0) + 1)
    )
    options = {
        name: text
        for name, text in names.items()
        if name not in _STRUCTURAL and not _CONSTRAINT_NAME_RE.match(name)
    }
    return SolverModel(
        sheet=sheet,
        objective=objective,
        changing=changing,
        goal=goal,
        constraints=constraints,
        non_negative=neg == 1,
        engine=reader.integer("solver_eng", default=ENGINE_GRG),
        options=options,
    )


class _NameReader:
    """Parses the texts of one sheet's solver names, with errors that name sheet and name."""

    def __init__(
        self, sheet: str, names: Mapping[str, str], sheet_names: Sequence[str] = ()
    ) -> None:
        self.sheet = sheet
        self.names = names
        self.sheet_names = tuple(sheet_names)  # to name the solver_ name that refers elsewhere

    def where(self, name: str) -> str:
        return f"{quote_sheet(self.sheet)}!{name}"

    def text(self, name: str) -> str:
        if name not in self.names:
            raise SolverModelError(f"{self.where(name)}: missing from the Solver model")
        return self.names[name]

    def number(self, name: str, default: float | None = None) -> float:
        if name not in self.names and default is not None:
            return default
        text = self.text(name)
        try:
            return float(text)
        except ValueError as exc:
            raise SolverModelError(f"{self.where(name)}: expected a number, got {text!r}") from exc

    def integer(self, name: str, default: int | None = None) -> int:
        value = self.number(name, None if default is None else float(default))
        if not value.is_integer():
            raise SolverModelError(f"{self.where(name)}: expected a whole number, got {value}")
        return int(value)

    def areas(self, name: str) -> tuple[RangeAddress, ...]:
        """One or more comma-separated areas (``a!$A$1:$B$2,a!$D$1``)."""
        text = self.text(name)
        parts = _split_areas(text)
        try:
            areas = tuple(RangeAddress.parse(part, default_sheet=self.sheet) for part in parts)
        except UnknownReferenceError as exc:
            raise SolverModelError(
                f"{self.where(name)}: {text!r} is not a cell or range reference"
            ) from exc
        if not areas:
            raise SolverModelError(f"{self.where(name)}: empty reference")
        for area in areas:
            if self.sheet_names and area.sheet not in self.sheet_names:
                raise SolverModelError(
                    f"{self.where(name)}: {text!r} refers to sheet {area.sheet!r}, which does "
                    f"not exist (sheets: {', '.join(self.sheet_names)})"
                )
        return areas

    def cell(self, name: str) -> CellAddress:
        areas = self.areas(name)
        if len(areas) != 1 or not areas[0].is_cell:
            raise SolverModelError(
                f"{self.where(name)}: expected one cell, got {self.text(name)!r}"
            )
        return areas[0].top_left

    def constraint(self, index: int) -> Constraint:
        lhs_name, rel_name, rhs_name = (f"solver_{part}{index}" for part in ("lhs", "rel", "rhs"))
        areas = self.areas(lhs_name)
        if len(areas) != 1:
            raise SolverModelError(f"{self.where(lhs_name)}: expected one range")
        code = self.integer(rel_name)
        if code not in CODE_RELATIONS:
            raise SolverModelError(
                f"{self.where(rel_name)}: unknown relation code {code} "
                "(1 <=, 2 =, 3 >=, 4 int, 5 bin, 6 dif)"
            )
        relation = CODE_RELATIONS[code]
        if relation in KEYWORD_RHS:
            return Constraint(areas[0], relation, None)
        return Constraint(areas[0], relation, self.rhs(rhs_name, areas[0]))

    def rhs(self, name: str, lhs: RangeAddress) -> Rhs:
        text = self.text(name)
        try:
            return float(text)
        except ValueError:
            pass
        rhs = self.areas(name)
        if len(rhs) != 1:
            raise SolverModelError(f"{self.where(name)}: expected a number or one range")
        area = rhs[0]
        if area.is_cell:
            return area.top_left
        if area.shape != lhs.shape:
            raise SolverModelError(
                f"{self.where(name)}: {area} does not match the shape of "
                f"{lhs} ({area.shape} vs {lhs.shape})"
            )
        return area


def _split_areas(text: str) -> list[str]:
    """Split ``a!$A$1,'b,c'!$B$2`` on commas outside quoted sheet names."""
    parts, current, quoted = [], [], False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _file_solver_names(path: Path, sheet: str) -> set[str]:
    """Names starting ``solver_`` scoped to `sheet` in the file (to remove stale ones on save)."""
    try:
        with zipfile.ZipFile(path) as archive:
            root = parse_xml(archive.read("xl/workbook.xml"), f"{path}: xl/workbook.xml")
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        from xl_lesson3.errors import WorkbookIOError

        raise WorkbookIOError(f"{path}: not a readable .xlsx workbook ({exc})") from exc
    sheets = [el.get("name") for el in root.iter(f"{_MAIN_NS}sheet")]
    if sheet not in sheets:
        raise UnknownReferenceError(
            located(quote_sheet(sheet), f"no such sheet in {path} (sheets: {', '.join(sheets)})")
        )
    index = str(sheets.index(sheet))
    return {
        el.get("name", "")
        for el in root.iter(f"{_MAIN_NS}definedName")
        if el.get("localSheetId") == index and el.get("name", "").lower().startswith("solver_")
    }


def save_model(path: str | Path, model: SolverModel, out: str | Path | None = None) -> Path:
    """Write `model`'s Solver names into the workbook at `path` (or a copy at `out`).

    Only ``xl/workbook.xml``'s defined names change; every other byte stays (the patch goes
    through `patch_workbook`, which writes atomically). Stale ``solver_*`` names of the sheet
    (constraints beyond the new ``solver_num``) are removed. Returns the written path.
    """
    from xl_lesson3.workbook.xlsx_patch import patch_workbook

    src = Path(path)
    dst = Path(out) if out is not None else src
    new = solver_defined_names(model)
    stale = {name for name in _file_solver_names(src, model.sheet) if name.lower() not in new}
    changes: dict[tuple[str, str | None], str | None] = {(n, model.sheet): None for n in stale}
    changes.update({(name, model.sheet): text for name, text in new.items()})
    patch_workbook(src, dst, defined_names=changes)
    return dst
