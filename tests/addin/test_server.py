"""The add-in as Excel sees it: xlwings Server running on 127.0.0.1, driven over HTTP.

The server runs in its own process, started as ``xl-lesson3 addin serve`` starts it, because
xlwings Server's settings must be in the environment before xlwings is imported. Requests are
the ones the add-in's JavaScript makes: custom-function metadata and calls, script metadata and
calls (with the book payload and the ribbon's formula payload), the manifest, the task pane.
"""

from __future__ import annotations

import httpx
import numpy as np

from tests.addin.client import call, run_script
from tests.udfs.excel_payload import office_payload
from xl_lesson3.addin.manifest import render_manifest, ribbon_buttons, ribbon_scripts
from xl_lesson3.titanic.layout import NNET

UDF_NAMES = {
    "RELU",
    "SIGMOID",
    "TORCH_SUMPRODUCT",
    "TORCH_MMULT",
    "TORCH_MSE",
    "TORCH_LOGLOSS",
    "TORCH_SOLVE",
}
MACROS = {"solve", "reset_parameters", "evaluate", "build_titanic_sheets", "loss_chart"}


def test_function_metadata_lists_the_udfs(server):
    meta = httpx.get(server + "/xlwings/custom-functions-meta").json()
    functions = {f["name"]: f for f in meta["functions"]}
    assert set(functions) == UDF_NAMES  # no namespace: =RELU(...), as the engine spells it
    assert functions["TORCH_SUMPRODUCT"]["parameters"][0]["repeating"] is True
    device = functions["TORCH_MMULT"]["parameters"][-1]
    assert (device["name"], device["optional"]) == ("device", True)
    solve_params = [p["name"] for p in functions["TORCH_SOLVE"]["parameters"]]
    assert solve_params == [
        "data",
        "target",
        "init_params",
        "model_kind",
        "hidden",
        "steps",
        "lr",
        "seed",
        "device",
    ]


def test_function_calls_match_numpy(server):
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    np.testing.assert_allclose(call(server, "torch_mmult", a.tolist(), b.tolist()), a @ b)
    assert call(server, "relu", [[1.5, -2.0], [None, 3.0]]) == [[1.5, 0.0], [0.0, 3.0]]
    np.testing.assert_allclose(call(server, "sigmoid", [[0.0, 2.0]]), [[0.5, 1 / (1 + np.exp(-2))]])
    # varargs arrive as one list; a trailing "cpu" picks the device
    total = call(server, "torch_sumproduct", [a.tolist(), a.tolist(), [["cpu"]]])
    np.testing.assert_allclose(total, [[np.sum(a * a)]])
    pred, y = [[0.2], [0.9]], [[0.0], [1.0]]
    np.testing.assert_allclose(call(server, "torch_mse", pred, y), [[(0.04 + 0.01) / 2]])
    np.testing.assert_allclose(
        call(server, "torch_logloss", pred, y), [[-(np.log(0.8) + np.log(0.9)) / 2]]
    )


def test_excel_errors_come_back_as_error_values(server):
    value_error = [[{"type": "Error", "errorType": "Value"}]]
    assert call(server, "torch_mmult", [[1.0, 2.0]], [[1.0, 2.0]]) == value_error
    assert call(server, "torch_mse", [[1.0, 2.0]], [[1.0], [2.0]]) == value_error
    # an error cell in an argument arrives as an error object and propagates
    div0 = {"type": "Error", "errorType": "Div0", "basicValue": "#DIV/0!"}
    assert call(server, "relu", [[div0, -1.0]]) == [[{"type": "Error", "errorType": "Div0"}, 0.0]]


def test_torch_solve_over_http(server):
    x = [[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0]]
    y = [[1.0], [3.0], [5.0], [7.0]]  # y = 2x + 1
    params = call(server, "torch_solve", x, y, [[0.0, 0.0]], "linear", None, 2000, 0.1, 0)
    np.testing.assert_allclose(params, [[2.0, 1.0]], atol=1e-3)


def test_script_metadata_lists_the_macros(server):
    meta = httpx.get(server + "/xlwings/custom-scripts-meta").json()
    assert {m["function_name"] for m in meta} == MACROS


def test_reset_and_evaluate_scripts(server, titanic_model):
    payload, formulas = office_payload(titanic_model, active_sheet="nnet")
    recorded = run_script(server, "reset_parameters", payload, [formulas])
    write = recorded[0]  # then the block showing the seed
    assert (write["start_row"] + 1, write["start_column"] + 1) == (
        NNET.params.min_row,
        NNET.params.min_col,
    )
    values = np.array(write["values"])
    assert values.shape == (2, 10) and ((values >= -0.5) & (values < 0.5)).all()
    recorded = run_script(server, "evaluate", payload, [formulas])
    labels = [row[0] for row in recorded[0]["values"]]
    assert labels == ["xl-lesson3: Evaluate", "Total loss", "Accuracy (pred >= 0.5)", "Rows"]


def test_manifest_has_the_lesson3_tab(server):
    text = httpx.get(server + "/manifest.xml").text
    assert text == render_manifest(
        server, allow_http=True
    )  # the sideloading file is the served manifest
    buttons = ribbon_buttons(text)
    assert set(buttons) == {
        "Solve",
        "Reset parameters",
        "Evaluate",
        "Build Titanic sheets",
        "Loss chart",
    }
    assert '<bt:String id="Lesson3Tab.Label" DefaultValue="Lesson 3" />' in text


def test_task_pane_and_ribbon_script_are_ours(server):
    ribbon_js = httpx.get(server + "/static/js/ribbon.js").text
    assert ribbon_scripts(ribbon_js) == ribbon_scripts()
    taskpane = httpx.get(server + "/taskpane.html").text
    for function_name in ribbon_scripts():
        assert f'data-lesson3-button="{function_name}"' in taskpane
