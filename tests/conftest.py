"""Shared fixtures. Environment first: these must be set before torch/timm/xlwings import."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a hub call fails at once instead of after 46 s
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")  # xlwings server mode, tests only

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests import libreoffice

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    skip_lo = pytest.mark.skip(reason="needs LibreOffice (soffice)")
    cuda = False
    if any("gpu" in item.keywords for item in items):
        import torch

        cuda = torch.cuda.is_available()
    for item in items:
        if "gpu" in item.keywords and not cuda:
            item.add_marker(skip_gpu)
        if "libreoffice" in item.keywords and not libreoffice.available():
            item.add_marker(skip_lo)


def _write_workbook(path: Path, cells: dict[str, Any]) -> Path:
    """Build an .xlsx from {"Sheet!A1": value or "=formula"}; sheets are made in first-seen order."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for key, value in cells.items():
        sheet, _, coord = key.rpartition("!")
        sheet = sheet.strip("'")
        ws = wb[sheet] if sheet in wb.sheetnames else wb.create_sheet(sheet)
        ws[coord] = value
    wb.save(path)
    return path


@pytest.fixture
def make_workbook(tmp_path: Path):
    """make_workbook({"Sheet1!A1": 2, "Sheet1!B1": "=A1*3"}, name="book.xlsx") -> Path."""
    counter = iter(range(10_000))

    def make(cells: dict[str, Any], name: str | None = None) -> Path:
        return _write_workbook(tmp_path / (name or f"book{next(counter)}.xlsx"), cells)

    return make


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
