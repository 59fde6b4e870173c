"""The options of one run: the caller's, else the Solver model's stored ones, else ours.

Excel writes every option on each save (``solver_itr`` 2147483647, ``solver_cvg`` 0.0001, ...),
so a stored value equal to Excel's default records no choice by the user: it leaves our own
default (measured for torch, see `xl_lesson3.solver.api.DEFAULTS`) in place. A stored value that
differs from Excel's default was set in Excel's Options dialog and is honoured:

- ``solver_eng``: 1 GRG Nonlinear (gradient methods), 2 Simplex LP, 3 Evolutionary;
- ``solver_msl`` 1 (multistart on) with ``solver_ssz``: that many restarts; for the Evolutionary
  engine ``solver_ssz`` is the population size;
- ``solver_rsd``: the random seed (Excel's 0 means "a new seed each run"; ours stays 0, so runs
  repeat);
- ``solver_tim``: maximum time in seconds; ``solver_itr``: maximum iterations (steps);
- ``solver_cvg``: convergence, the relative gain under which a run stops;
- ``solver_pre`` (constraint precision) is read where the rows are built
  (`xl_lesson3.solver.context`), ``solver_neg`` and the constraints by `xl_lesson3.solver.bounds`.

`Options.sources` tells, per option, where its value came from: "cli" (the caller), "model"
(the workbook) or "default".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from xl_lesson3.errors import BadInputError, SolverModelError
from xl_lesson3.solver.excel_model import (
    ENGINE_EVOLUTIONARY,
    ENGINE_GRG,
    ENGINE_SIMPLEX,
    EXCEL_OPTION_DEFAULTS,
    SolverModel,
)

ENGINE_NAMES = {ENGINE_GRG: "grg", ENGINE_SIMPLEX: "simplex", ENGINE_EVOLUTIONARY: "evolutionary"}
ENGINES = tuple(ENGINE_NAMES.values())
DEFAULT_POPULATION = 100  # Excel's default population size (solver_ssz)


@dataclass(frozen=True)
class Options:
    """Resolved run options; `sources[name]` is "cli", "model" or "default"."""

    engine: str
    restarts: int
    population: int
    seed: int
    max_time: float  # seconds; inf when unlimited
    max_steps: int | None  # None: the method's default
    tol: float | None  # None: the method's default
    sources: Mapping[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, dict[str, object]]:
        """{"engine": {"value": "grg", "from": "model"}, ...} for ``--json``."""
        out = {}
        for name in ("engine", "restarts", "population", "seed", "max_time", "max_steps", "tol"):
            value = getattr(self, name)
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            out[name] = {"value": value, "from": self.sources.get(name, "default")}
        return out


def _stored(model: SolverModel, name: str) -> float | None:
    """A stored numeric option that differs from Excel's default, else None."""
    text = model.options.get(name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise SolverModelError(f"{model.sheet}!{name}: expected a number, got {text!r}") from exc
    default = EXCEL_OPTION_DEFAULTS.get(name)
    if default is not None and math.isclose(value, float(default)):
        return None
    return value


def _pick(name, given, stored, default, sources):
    if given is not None:
        sources[name] = "cli"
        return given
    if stored is not None:
        sources[name] = "model"
        return stored
    sources[name] = "default"
    return default


def resolve_options(
    model: SolverModel,
    *,
    engine: str | None = None,
    restarts: int | None = None,
    population: int | None = None,
    seed: int | None = None,
    max_time: float | None = None,
    steps: int | None = None,
    tol: float | None = None,
) -> Options:
    """Merge the caller's options over the model's stored ones (see the module docstring)."""
    if engine is not None and engine not in ENGINES:
        raise BadInputError(f"--engine: {engine!r} is not one of {', '.join(ENGINES)}")
    if model.engine not in ENGINE_NAMES:
        raise SolverModelError(
            f"{model.sheet}!solver_eng: {model.engine} is not 1 (GRG Nonlinear), "
            "2 (Simplex LP) or 3 (Evolutionary)"
        )
    sources: dict[str, str] = {}
    # The model always has an engine (GRG when solver_eng is absent, as in Excel).
    chosen_engine = _pick("engine", engine, ENGINE_NAMES[model.engine], "grg", sources)
    ssz = _stored(model, "solver_ssz")
    multistart = model.options.get("solver_msl", "2").strip() == "1"
    stored_restarts = int(ssz or DEFAULT_POPULATION) if multistart else None
    stored_population = int(ssz) if ssz is not None else None
    stored_tim = _stored(model, "solver_tim")
    stored_itr = _stored(model, "solver_itr")
    options = Options(
        engine=chosen_engine,
        restarts=int(_pick("restarts", restarts, stored_restarts, 1, sources)),
        population=int(
            _pick("population", population, stored_population, DEFAULT_POPULATION, sources)
        ),
        seed=int(_pick("seed", seed, _stored(model, "solver_rsd"), 0, sources)),
        max_time=float(_pick("max_time", max_time, stored_tim, math.inf, sources)),
        max_steps=_pick("max_steps", steps, int(stored_itr) if stored_itr else None, None, sources),
        tol=_pick("tol", tol, _stored(model, "solver_cvg"), None, sources),
        sources=sources,
    )
    _check(options)
    return options


def _check(options: Options) -> None:
    if options.restarts < 1:
        raise BadInputError(f"--restarts: must be at least 1, got {options.restarts}")
    if options.population < 2:
        raise BadInputError(f"--population: must be at least 2, got {options.population}")
    if not options.max_time > 0:
        raise BadInputError(
            f"--max-time: must be a positive number of seconds, got {options.max_time}"
        )
    if options.max_steps is not None and options.max_steps < 1:
        raise BadInputError(f"--steps: must be at least 1, got {options.max_steps}")
    if options.tol is not None and not (options.tol >= 0 and math.isfinite(options.tol)):
        raise BadInputError(f"--tol: must be a non-negative number, got {options.tol}")
