"""The server stays responsive and honest: readable errors, work off the event loop, Cancel.

Against the real add-in server on 127.0.0.1 (the `server` fixture). A long Solve is the nnet
sheet with a tiny L-BFGS step (it keeps improving, so it runs until stopped); the tests check
what happens, in order, rather than how fast: a RELU is answered while that Solve is still
running, Cancel ends it long before its step budget, a client that gives up cancels its work.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time

import httpx
import pytest

from tests.addin.client import call
from tests.addin.conftest import start_server, stop_server
from tests.udfs.excel_payload import office_payload

LONG_SOLVE_ARGS = [1_000_000, 1e-6]  # steps, lr: improves a little at every step, never ends
WAIT_SECONDS = 60  # an upper bound for a state change to show up, not a speed requirement


def _post_script(server: str, name: str, payload: dict, args: list, timeout: float = 300):
    return httpx.post(
        f"{server}/xlwings/custom-scripts-call/{name}",
        json={**payload, "args": args},
        timeout=timeout,
    )


def _wait_for(server: str, job_id: str, condition) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        response = httpx.get(f"{server}/lesson3/jobs/{job_id}", timeout=10)
        if response.status_code == 200 and condition(response.json()):
            return response.json()
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached the expected state")


@pytest.mark.parametrize(
    ("script", "extra", "message"),
    [
        ("evaluate", None, "ribbon, which sends them"),
        ("loss_chart", [], "press Solve first"),
        ("reset_parameters", [], 'no Solver model and no "Total loss" label'),
    ],
    ids=["no-formulas", "chart-before-solve", "no-solver-model"],
)
def test_script_errors_are_http_400_with_the_project_message(server, titanic_model, script, extra, message):  # fmt: skip
    payload, formulas = office_payload(titanic_model, active_sheet="About")
    args = [] if extra is None else [formulas, *extra]
    response = _post_script(server, script, payload, args)
    assert response.status_code == 400
    assert message in response.text


def test_function_errors_are_400_and_not_retried(server):
    body = {
        "func_name": "torch_solve",
        "args": [[[1.0]], [[1.0]], None, "bogus"],
        "caller_address": "Sheet1!C3",
        "version": "x",
        "runtime": "1.4",
        "client": "Office.js",
        "culture_info_name": "en-US",
        "date_format": "M/d/yyyy",
    }
    response = httpx.post(server + "/xlwings/custom-functions-call", json=body, timeout=60)
    assert response.status_code == 400
    assert "model_kind must be one of linear, relu" in response.text  # the #VALUE! tooltip
    config = re.search(
        r'<script id="config" type="application/json">\s*(\{.*?\})\s*</script>',
        httpx.get(server + "/taskpane.html").text,
        re.DOTALL,
    )
    assert 400 not in json.loads(config.group(1))["customFunctionsRetryCodes"]


def test_relu_answers_during_a_solve_and_cancel_stops_it(server, titanic_model):
    payload, formulas = office_payload(titanic_model, active_sheet="nnet")
    job_id = "job-test-cancel"
    answer = {}
    solve = threading.Thread(
        target=lambda: answer.update(
            response=_post_script(server, "solve", payload, [formulas, job_id, *LONG_SOLVE_ARGS])
        )
    )
    solve.start()
    try:
        _wait_for(server, job_id, lambda job: job["step"] >= 3)
        assert call(server, "relu", [[1.5, -2.0]]) == [[1.5, 0.0]]
        during = httpx.get(f"{server}/lesson3/jobs/{job_id}").json()
        assert during["state"] == "running"  # the RELU did not wait for the solve
        assert during["best"] is not None and during["elapsed"] > 0
        cancelled = httpx.post(f"{server}/lesson3/jobs/{job_id}/cancel").json()
        assert cancelled["id"] == job_id
    finally:
        solve.join(WAIT_SECONDS)
    assert not solve.is_alive()
    response = answer["response"]
    assert response.status_code == 400
    assert "cancelled (Cancel was pressed)" in response.text
    final = httpx.get(f"{server}/lesson3/jobs/{job_id}").json()
    assert final["state"] == "cancelled"
    assert final["step"] < LONG_SOLVE_ARGS[0] // 10


def test_a_client_that_gives_up_cancels_its_solve(server, titanic_model):
    payload, formulas = office_payload(titanic_model, active_sheet="nnet")
    job_id = "job-test-disconnect"
    with pytest.raises(httpx.ReadTimeout):
        _post_script(server, "solve", payload, [formulas, job_id, *LONG_SOLVE_ARGS], timeout=3)
    job = _wait_for(server, job_id, lambda job: job["state"] != "running")
    assert job["state"] == "cancelled"
    assert "the client disconnected" in job["message"]
    assert call(server, "sigmoid", [[0.0]]) == [[0.5]]  # and the server answers


def test_a_solve_stops_at_the_solver_models_max_time(server, titanic_model):
    payload, formulas = office_payload(titanic_model, active_sheet="nnet")
    for name in payload["names"]:
        if name["scope_sheet_name"] == "nnet" and name["name"] == "solver_tim":
            name["refers_to"] = "=1"
    response = _post_script(server, "solve", payload, [formulas, "job-test-time", *LONG_SOLVE_ARGS])
    assert response.status_code == 200
    note = next(
        {row[0]: row[1] for row in action["values"]}
        for action in response.json()["actions"]
        if action["func"] == "setValues" and action["values"][0][0] == "xl-lesson3: last Solve"
    )
    assert note["Status"].startswith("stopped: time limit")
    assert 1 <= note["Steps"] < LONG_SOLVE_ARGS[0]
    assert note["Loss after"] < note["Loss before"]  # the best point so far is written


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://evil.example", False),
        ("http://localhost:1", False),
        ("https://excel.officeapps.live.com", True),
        ("https://contoso.sharepoint.com", True),
    ],
    ids=["other-site", "other-local-port", "excel-on-the-web", "sharepoint"],
)
def test_cors_admits_only_office_and_the_add_in(server, origin, allowed):
    response = httpx.options(
        server + "/xlwings/custom-functions-call",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert (response.headers.get("access-control-allow-origin") == origin) is allowed


def test_cors_admits_the_add_ins_own_origin(server):
    origin = server.replace("127.0.0.1", "localhost")
    response = httpx.options(
        server + "/lesson3/jobs/x",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    assert response.headers.get("access-control-allow-origin") == origin


def test_sigterm_stops_the_server_during_a_solve(tmp_path, titanic_model):
    process, url = start_server(tmp_path / "server.log")
    payload, formulas = office_payload(titanic_model, active_sheet="nnet")
    answer = {}

    def solve():
        try:
            _post_script(url, "solve", payload, [formulas, "job-sigterm", *LONG_SOLVE_ARGS])
        except httpx.TransportError as exc:
            answer["error"] = exc

    client = threading.Thread(target=solve)
    client.start()
    try:
        _wait_for(url, "job-sigterm", lambda job: job["step"] >= 3)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=WAIT_SECONDS)  # the running solve does not keep it alive
    finally:
        if process.poll() is None:
            stop_server(process)
        client.join(WAIT_SECONDS)
    assert isinstance(answer.get("error"), httpx.RemoteProtocolError)
