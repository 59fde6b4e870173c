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


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Base URL of a running add-in server; stopped at the end of the session."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("addin-server") / "server.log"
    log = log_path.open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLWINGS_ON_SERVER")}
    env["XLWINGS_LICENSE_KEY"] = "noncommercial"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xl_lesson3.addin.server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--allow-http",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited: {log_path.read_text()}")
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not start")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
