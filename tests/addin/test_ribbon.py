"""Every ribbon button reaches a macro that exists, and the macro runs over HTTP as Excel runs it.

The chain is: manifest button (ExecuteFunction name) → ribbon.js' LESSON3_BUTTONS → script
name → `udfs.macros` function, published by the server's custom_scripts module.
"""

from __future__ import annotations

import httpx
import pytest

from tests.addin.client import run_script
from tests.udfs.excel_payload import empty_payload, office_payload
from udfs import macros
from xl_lesson3.addin.manifest import render_manifest, ribbon_buttons, ribbon_scripts

BUTTONS = ribbon_buttons(render_manifest("https://localhost:8000"))


def test_every_button_is_wired_to_a_macro():
    scripts = ribbon_scripts()
    assert set(BUTTONS.values()) == set(scripts), "manifest and ribbon.js disagree"
    for label, function_name in BUTTONS.items():
        assert callable(getattr(macros, scripts[function_name], None)), label


def test_the_server_publishes_every_button_script(server):
    published = {
        m["function_name"] for m in httpx.get(server + "/xlwings/custom-scripts-meta").json()
    }
    assert {ribbon_scripts()[name] for name in BUTTONS.values()} <= published


# What each button's script needs beyond the ribbon's formula payload to run quickly here.
SCRIPT_ARGS = {"solve": [None, 20]}


@pytest.mark.parametrize("label", sorted(BUTTONS))
def test_each_button_runs_its_macro(server, titanic_model, label):
    script = ribbon_scripts()[BUTTONS[label]]
    history = {macros.HISTORY_SHEET: [["Step", "Loss"], [0, 1.0], [1, 0.5]]}
    extra = history if script == "loss_chart" else None
    payload, formulas = office_payload(titanic_model, active_sheet="nnet", extra_sheets=extra)
    if script == "build_titanic_sheets":  # needs a workbook without the lesson's sheets
        payload, formulas = empty_payload(), []
    recorded = run_script(server, script, payload, [formulas, *SCRIPT_ARGS.get(script, [])])
    assert recorded, f"{label}: no actions"
    funcs = {action["func"] for action in recorded}
    expected = {
        "solve": {"setValues", "addSheet"},
        "reset_parameters": {"setValues"},
        "evaluate": {"setValues"},
        "build_titanic_sheets": {"addSheet", "addTable", "setFormula", "namesAdd"},
        "loss_chart": {"addChart"},
    }[script]
    assert expected <= funcs, (label, funcs)
