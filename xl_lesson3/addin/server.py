"""Run the add-in: xlwings Server (the `xlwings-server` package) with our project folder.

xlwings Server is a FastAPI app that serves the Office.js add-in: the manifest, the task pane,
the custom-function metadata and calls, and the custom scripts the ribbon buttons run. It is
configured by ``XLWINGS_*`` environment variables that must be set *before* xlwings is imported
(``XLWINGS_ON_SERVER=true`` switches ``xw.func`` to the server's decorators), so the server always
runs in a process of its own: ``python -m xl_lesson3.addin.server`` (what ``xl-lesson3 addin
serve`` starts) sets the environment, then imports the app.

Licensing: xlwings itself is BSD-licensed, but its server mode and ``xlwings-server`` are xlwings
PRO, dual-licensed: free for noncommercial use under the PolyForm Noncommercial licence
(``XLWINGS_LICENSE_KEY=noncommercial``), a paid key otherwise. We never set the key for you.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from xl_lesson3.errors import BadInputError

PROJECT_DIR = Path(__file__).resolve().parent / "project"
PROJECT_NAME = "Lesson 3"
MANIFEST_ID = "bee64dbb-a157-4de1-ae4c-524e681103d8"  # this add-in's fixed Office add-in id
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
HTTP_WARNING = (
    "WARNING: --allow-http: serving the add-in over plain HTTP. Office loads add-ins over "
    "HTTPS only; use this for local testing (a browser, the test suite), never for Excel."
)
SHUTDOWN_GRACE_SECONDS = 3  # then open requests are dropped and their jobs cancelled
LICENSE_HELP = (
    "xlwings Server needs a licence key: set XLWINGS_LICENSE_KEY=noncommercial for "
    "noncommercial use (PolyForm Noncommercial), or to your xlwings PRO key"
)


def own_origins(host: str, port: int, *, https: bool, hostname: str | None = None) -> list[str]:
    """The origins the add-in's own pages come from: the only ones CORS lets in besides Office."""
    scheme = "https" if https else "http"
    hosts = {host, "localhost", "127.0.0.1"} if host in ("127.0.0.1", "localhost") else {host}
    origins = [f"{scheme}://{name}:{port}" for name in sorted(hosts)]
    if hostname:
        origins.append(f"https://{hostname}")
    return origins


def server_environment(
    base: Mapping[str, str],
    *,
    hostname: str | None = None,
    origins: Sequence[str] = (),
) -> dict[str, str]:
    """`base` plus the XLWINGS_* settings the add-in needs; raises without a licence key.

    `hostname`: the public ``host[:port]`` the manifest should point at (https is assumed);
    None uses the address each request came in on. `origins`: the add-in's own origins, which
    CORS admits besides Office's hosts.
    """
    if not base.get("XLWINGS_LICENSE_KEY"):
        raise BadInputError(f"XLWINGS_LICENSE_KEY: {LICENSE_HELP}")
    env = dict(base)
    env.setdefault("OMP_NUM_THREADS", "1")  # many small calls in parallel threads: 1 each
    env.update(
        {
            "XLWINGS_ON_SERVER": "true",
            "XLWINGS_PROJECT_DIR": str(PROJECT_DIR),
            "XLWINGS_PROJECT_NAME": PROJECT_NAME,
            "XLWINGS_ENVIRONMENT": "prod",  # no "[dev]" suffix, no namespace: =RELU(...)
            "XLWINGS_FUNCTIONS_NAMESPACE": "",
            "XLWINGS_MANIFEST_ID_PROD": MANIFEST_ID,
            "XLWINGS_ENABLE_SOCKETIO": "false",  # no streaming functions
            "XLWINGS_ENABLE_EXAMPLES": "false",
            "XLWINGS_ENABLE_HOTRELOAD": "false",
            # CORS: our own origins here; Office's hosts are added by xl_lesson3.addin.asgi.
            "XLWINGS_CORS_ALLOW_ORIGINS": json.dumps(list(origins)),
            "LESSON3_ALLOWED_ORIGINS": json.dumps(list(origins)),
            # A solve can take a while; the client waits this many seconds.
            "XLWINGS_REQUEST_TIMEOUT": env.get("XLWINGS_REQUEST_TIMEOUT", "600"),
            # The project folder must not shadow ours with a stray .env of the caller's cwd.
            "DOTENV_PATH": str(PROJECT_DIR / ".env"),
        }
    )
    if hostname:
        env["XLWINGS_HOSTNAME"] = hostname
    return env


def serve_command(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    allow_http: bool = False,
) -> list[str]:
    """The command line that runs the server in a fresh interpreter."""
    command = [sys.executable, "-m", "xl_lesson3.addin.server", "--host", host, "--port", str(port)]
    if certfile and keyfile:
        command += ["--certfile", str(certfile), "--keyfile", str(keyfile)]
    if allow_http:
        command.append("--allow-http")
    return command


def run(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m xl_lesson3.addin.server``: configure, then start uvicorn."""
    parser = argparse.ArgumentParser(prog="python -m xl_lesson3.addin.server")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--certfile", type=Path)
    parser.add_argument("--keyfile", type=Path)
    parser.add_argument("--allow-http", action="store_true")
    args = parser.parse_args(argv)
    https = bool(args.certfile and args.keyfile)
    if not https and not args.allow_http:
        raise BadInputError(
            "--certfile/--keyfile: Office loads add-ins over HTTPS only; give both, "
            "or --allow-http for local testing"
        )
    if not https:
        print(HTTP_WARNING, file=sys.stderr)
    if "xlwings" in sys.modules:  # too late: xw.func is already bound to the local decorators
        raise RuntimeError("xlwings was imported before the server environment was set")
    origins = own_origins(args.host, args.port, https=https)
    os.environ.update(server_environment(os.environ, origins=origins))

    import uvicorn

    uvicorn.run(
        "xl_lesson3.addin.asgi:app",
        host=args.host,
        port=args.port,
        ssl_certfile=str(args.certfile) if args.certfile else None,
        ssl_keyfile=str(args.keyfile) if args.keyfile else None,
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )


if __name__ == "__main__":
    try:
        run()
    except BadInputError as exc:
        print(f"xl-lesson3 addin serve: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
