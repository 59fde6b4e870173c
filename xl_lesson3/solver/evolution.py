"""The Evolutionary engine: differential evolution, the whole population in one program run.

For objectives that are not smooth (IF, ROUND, look-ups on changing cells), where gradients say
nothing. DE/rand/1/bin (Storn and Price; F = 0.7, CR = 0.9): each generation builds one trial
per member from three distinct random members, evaluates all trials in a single batched run of
the compiled program (CPU or GPU, like the restarts of the gradient engine) and keeps the better
of member and trial by Deb's feasibility rules: a feasible point beats an infeasible one, two
infeasible points compare by violation, two feasible ones by the objective.

Bounds are honoured by clamping; integer cells are rounded, an AllDifferent group is repaired
into a permutation of 1..n by ranking its values. The population (``solver_ssz``), seed
(``solver_rsd``) and maximum time (``solver_tim``) come from the options; the run stops after
`STALL_GENERATIONS` generations without a better best, or `MAX_GENERATIONS` (or ``solver_itr``).
Member 0 starts at the workbook's point.
"""

from __future__ import annotations

import torch

from xl_lesson3.solver.context import Context
from xl_lesson3.solver.gradient import EngineRun
from xl_lesson3.solver.options import Options
from xl_lesson3.solver.starts import start_box

F_WEIGHT = 0.7
CROSSOVER = 0.9
MAX_GENERATIONS = 2000
STALL_GENERATIONS = 200


def _repair(ctx: Context, points: torch.Tensor) -> torch.Tensor:
    points = torch.clamp(points, ctx.lower, ctx.upper)
    integer = list(ctx.problem.constraints.integer)
    if integer:
        points[:, integer] = points[:, integer].round()
    for group in ctx.problem.constraints.all_different:
        index = list(group)
        ranks = points[:, index].argsort(dim=1).argsort(dim=1)
        points[:, index] = (ranks + 1).to(points.dtype)
    return points


def _score(ctx: Context, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, violation) per point; non-finite losses count as infinitely bad."""
    with torch.no_grad():
        measured = ctx.measure(points)
    loss = torch.where(torch.isfinite(measured.loss), measured.loss, torch.inf)
    if len(ctx.rows):
        violation = ctx.rows.violation(measured.lhs, measured.rhs)
        violation = torch.where(violation <= ctx.rows.precision, 0.0, violation).sum(dim=1)
    else:
        violation = torch.zeros_like(loss)
    return loss, violation


def _better(loss_a, viol_a, loss_b, viol_b) -> torch.Tensor:
    """(batch,) a is better than b by Deb's rules."""
    both_feasible = (viol_a == 0) & (viol_b == 0)
    return torch.where(both_feasible, loss_a < loss_b, viol_a < viol_b)


def _initial_population(ctx: Context, size: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform within the bounds (Excel's Evolutionary engine wants them); where a cell has
    none, within the restarts' box widened to reach the stored value."""
    low, high = start_box(ctx.lower, ctx.upper)
    low = torch.where(torch.isfinite(ctx.lower), ctx.lower, torch.minimum(low, ctx.initial - 1.0))
    high = torch.where(torch.isfinite(ctx.upper), ctx.upper, torch.maximum(high, ctx.initial + 1.0))
    unit = torch.rand(size, ctx.n_vars, generator=generator, dtype=torch.float64).to(low)
    population = low + unit * (high - low)
    population[0] = ctx.initial
    return _repair(ctx, population)


def run_evolution(ctx: Context, options: Options) -> EngineRun:
    """Differential evolution from the options' population, seed and limits."""
    size = max(options.population, 4)
    generator = torch.Generator().manual_seed(options.seed)
    population = _initial_population(ctx, size, generator)  # (size, n_vars)
    loss, violation = _score(ctx, population)
    max_generations = options.max_steps or MAX_GENERATIONS
    best_key = (float(violation.min()), float(loss[violation == violation.min()].min()))
    stall, status, history = 0, "finished", []
    generation = 0
    for generation in range(1, max_generations + 1):
        # three distinct members per trial: the first three of a random permutation per row
        picks = torch.rand(size, size, generator=generator).argsort(dim=1)[:, :3]
        picks = picks.to(population.device)  # (size, 3)
        a, b, c = population[picks[:, 0]], population[picks[:, 1]], population[picks[:, 2]]
        mutant = a + F_WEIGHT * (b - c)
        cross = torch.rand(size, ctx.n_vars, generator=generator, dtype=torch.float64)
        forced = torch.randint(ctx.n_vars, (size,), generator=generator)
        cross = cross.to(population) < CROSSOVER
        cross[torch.arange(size), forced.to(population.device)] = True
        trial = _repair(ctx, torch.where(cross, mutant, population))
        trial_loss, trial_violation = _score(ctx, trial)
        better = _better(trial_loss, trial_violation, loss, violation)
        population = torch.where(better[:, None], trial, population)
        loss = torch.where(better, trial_loss, loss)
        violation = torch.where(better, trial_violation, violation)
        least = float(violation.min())
        key = (least, float(loss[violation == least].min()))
        history.append(ctx.to_shown(key[1]) if least == 0 else float("inf"))
        gain = best_key[1] - key[1] if key[0] == best_key[0] else 1.0
        if key[0] < best_key[0] or gain > 1e-12 * max(1.0, abs(key[1])):
            best_key, stall = key, 0
        else:
            stall += 1
        if stall >= STALL_GENERATIONS:
            status = f"converged at generation {generation} (no gain in {stall} generations)"
            break
        if ctx.out_of_time():
            status = "stopped at the time limit"
            break
    return EngineRun(population, status, generation, "differential evolution")
