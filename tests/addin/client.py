"""Requests as the add-in's JavaScript makes them (custom functions, scripts)."""

from __future__ import annotations

import httpx
import xlwings as xw


def call(server: str, name: str, *args) -> object:
    """One custom-function call as the Office.js runtime posts it; returns the cell result."""
    body = {
        "func_name": name,
        "args": list(args),
        "caller_address": "Sheet1!C3",
        "version": xw.__version__,
        "runtime": "1.4",
        "client": "Office.js",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
    }
    response = httpx.post(server + "/xlwings/custom-functions-call", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def run_script(server: str, name: str, payload: dict, args: list) -> list[dict]:
    response = httpx.post(
        server + f"/xlwings/custom-scripts-call/{name}", json={**payload, "args": args}, timeout=300
    )
    assert response.status_code == 200, response.text
    return response.json()["actions"]
