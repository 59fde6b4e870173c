"""Fixtures of the add-in tests: the small Titanic workbook, and a running add-in server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.udfs.excel_payload import shared_titanic_model

STARTUP_SECONDS = 120


@pytest.fixture(scope="session")
def titanic_model():
    """The Titanic workbook (first 50 passengers) with every formula value filled in."""
    return shared_titanic_model()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(log_path) -> tuple[subprocess.Popen, str]:
    """Start the add-in server as `xl-lesson3 addin serve` does; (process, base URL) once up."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLWINGS_ON_SERVER")}
    env["XLWINGS_LICENSE_KEY"] = "noncommercial"
    command = [sys.executable, "-m", "xl_lesson3.addin.server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--allow-http"]
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"server exited: {log_path.read_text()}")
        try:
            if httpx.get(url + "/", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stop_server(process)
            pytest.fail("server did not start")
        time.sleep(0.5)


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Base URL of a running add-in server; stopped at the end of the session."""
    process, url = start_server(tmp_path_factory.mktemp("addin-server") / "server.log")
    try:
        yield url
    finally:
        stop_server(process)
