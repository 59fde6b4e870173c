"""The reading benchmark in its tiny size: it runs, and both readers see the same cells."""

from __future__ import annotations

import openpyxl
import pytest

from benchmarks import reading
from benchmarks.common import BenchConfig


def test_reading_benchmark_runs_and_counts_the_same_cells(tmp_path):
    section = reading.run(BenchConfig(tiny=True, cache_dir=tmp_path))
    assert section.status == "ok"
    for run in section.data["runs"]:
        # openpyxl shows an array formula's other cells as values; the model keeps them apart
        assert run["cells"] + run["array_members"] == run["openpyxl_cells"] > 0, run["file"]


def test_scaled_nnet_xlsx_has_the_model_layout(tmp_path):
    path = reading.write_nnet_xlsx(30, tmp_path / "nnet.xlsx")
    model, objective, block = reading.replicated_nnet_model(30)
    ws = openpyxl.load_workbook(path)[model.sheet_names[0]]
    assert ws[objective.coordinate].value == model.cell(objective).formula
    expected = model.cell(block.top_left).value
    assert ws.cell(block.min_row, block.min_col).value == pytest.approx(expected, rel=1e-15)
    assert len(ws.tables) == 1
