"""The small Titanic workbook that the payloads describe (built once per session)."""

from __future__ import annotations

import pytest

from tests.udfs.excel_payload import shared_titanic_model


@pytest.fixture(scope="session")
def titanic_model():
    """The Titanic workbook (first 50 passengers) with every formula value filled in."""
    return shared_titanic_model()
