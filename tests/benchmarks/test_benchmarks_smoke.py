"""Every benchmark in its smallest configuration, so `python -m benchmarks` cannot rot.

Sizes are the `--tiny` ones (a 50-passenger Titanic workbook, 50- and 200-row scaling, a 59-weight
network). Timings are not asserted; what is checked is that each section runs, and the facts the
report relies on (our engine agrees with LibreOffice, the op count does not grow with rows, the
finite-difference baseline reaches the least-squares optimum, soffice never outlives a session).
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from benchmarks import many_params, scaling
from benchmarks.__main__ import main
from benchmarks.common import BenchConfig, loglog_slope
from xl_lesson3.workbook.address import CellAddress, RangeAddress

TINY = BenchConfig(tiny=True)


@pytest.mark.parametrize(
    ("xs", "ys", "slope"),
    [([1, 10, 100], [2, 20, 200], 1.0), ([1, 10, 100], [3, 300, 30_000], 2.0), ([5], [1], None)],
    ids=["linear", "quadratic", "one-point"],
)
def test_loglog_slope(xs, ys, slope):
    found = loglog_slope(xs, ys)
    assert found == slope if slope is None else found == pytest.approx(slope)


@pytest.mark.slow
def test_many_params_trains_the_network():
    section = many_params.run(TINY)
    assert section.status == "ok"
    (run,) = section.data["runs"]
    assert run["final"] < run["initial"]  # the loss falls


def test_network_sheet_has_the_declared_parameter_count():
    model, objective, changing = many_params.build_network_model(many_params.TINY)
    assert sum(rng.size for rng in changing) == many_params.TINY.n_params
    assert model.cell(objective).formula.startswith("=TORCH_MSE(")


@pytest.mark.slow
def test_scaling_op_count_does_not_grow_with_rows():
    section = scaling.run(TINY)
    runs = section.data["runs"]["cpu"]
    assert [r.get("error") for r in runs] == [None] * len(runs)
    assert len({r["op_count"] for r in runs}) == 1
    assert runs[-1]["cells"] > runs[0]["cells"]


def test_main_writes_markdown_and_json(tmp_path):
    out = tmp_path / "RESULTS.md"
    assert main(["--tiny", "--device", "cpu", "--only", "many_params", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# xl-lesson3 benchmarks")
    assert "## Headlines" in text and "## Many parameters" in text
    payload = json.loads(out.with_suffix(".json").read_text())
    assert payload["mode"] == "tiny"
    assert [s["key"] for s in payload["sections"]] == ["many_params"]
    assert payload["versions"]["torch"]


@pytest.fixture
def least_squares_workbook(make_workbook):
    """y = X·w + b + noise on 40 rows; objective = mean squared error; changing A1:D1."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = x @ [1.0, -2.0, 0.5] + 0.3 + 0.1 * rng.normal(size=40)
    cells = {f"fit!{c}1": 0.0 for c in "ABCD"}
    for i in range(40):
        r = i + 3
        cells.update({f"fit!A{r}": x[i, 0], f"fit!B{r}": x[i, 1], f"fit!C{r}": x[i, 2]})
        cells[f"fit!D{r}"] = y[i]
        cells[f"fit!E{r}"] = f"=(A{r}*$A$1+B{r}*$B$1+C{r}*$C$1+$D$1-D{r})^2"
    cells["fit!G1"] = "=AVERAGE(E3:E42)"
    design = np.c_[x, np.ones(40)]
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return make_workbook(cells), float(np.mean((design @ coef - y) ** 2))


@pytest.mark.libreoffice
def test_fd_baseline_reaches_least_squares(least_squares_workbook):
    from benchmarks.fd_baseline import fd_lbfgs_baseline

    path, floor = least_squares_workbook
    result = fd_lbfgs_baseline(
        path,
        CellAddress.parse("fit!G1"),
        [RangeAddress.parse("fit!A1:D1")],
        [0.0] * 4,
        max_seconds=60,
    )
    assert result.final_loss == pytest.approx(floor, rel=1e-6)
    # One recalculation per probe: each gradient is 1 + 4 recalculations.
    assert result.recalculations == 5 * len(result.history)
    assert result.time_to_reach(result.final_loss) is not None


@pytest.mark.libreoffice
def test_calc_session_leaves_no_soffice_behind(least_squares_workbook):
    from benchmarks.libreoffice_uno import CalcSession

    path, _ = least_squares_workbook
    with pytest.raises(ZeroDivisionError), CalcSession(path) as session:
        pid = session._proc.pid
        assert session.value(CellAddress.parse("fit!A3")) != 0
        1 / 0  # noqa: B018  (an error inside the session)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


@pytest.mark.slow
@pytest.mark.libreoffice
def test_formula_eval_agrees_with_libreoffice():
    from benchmarks import formula_eval

    section = formula_eval.run(TINY)
    assert section.status == "ok"
    agreement = dict(section.data["agreement"])
    assert agreement["xl-lesson3"] <= 1e-9
    assert not math.isnan(agreement["xl-lesson3"])


@pytest.mark.slow
@pytest.mark.libreoffice
def test_solver_section_runs_both_sides_from_the_same_start():
    from benchmarks import solver_vs_baseline

    section = solver_vs_baseline.run(TINY)
    assert section.status == "ok"
    for sheet in ("linear", "nnet"):
        data = section.data["sheets"][sheet]
        baseline = data["baseline"]
        assert baseline["recalculations"] > 0
        assert baseline["final_loss"] <= baseline["initial_loss"]
        assert {(o["method"], o["restarts"]) for o in data["ours"]} == {
            ("adam", 1),
            ("adam", 16),
            ("lbfgs", 1),
            ("lbfgs", 16),
        }
    floor = section.data["sheets"]["linear"]["lstsq_floor"]["mse"]
    # Nothing gets below the least-squares optimum of the linear sheet.
    assert section.data["sheets"]["linear"]["baseline"]["final_loss"] >= floor * (1 - 1e-9)
    assert all(
        o["final_loss"] >= floor * (1 - 1e-9) for o in section.data["sheets"]["linear"]["ours"]
    )
    # The GRG engine's exact least squares lands on that optimum, timed with reading the file.
    exact = section.data["sheets"]["linear"]["exact"]
    assert exact["final_loss"] == pytest.approx(floor, rel=1e-9)
    assert exact["read_seconds"] > 0 and exact["seconds"] > exact["solve_seconds"]
    assert any("exact least squares" in line for line in section.headlines)
