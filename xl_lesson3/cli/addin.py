"""``xl-lesson3 addin``: run the Excel add-in, write its manifest, or print how to install it."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

STEPS = """\
The "Lesson 3" Excel add-in: a ribbon tab (Solve, Reset parameters, Evaluate, Build Titanic
sheets, Loss chart), a task pane, and the worksheet functions RELU, SIGMOID, TORCH_SUMPRODUCT,
TORCH_MMULT, TORCH_MSE, TORCH_LOGLOSS and TORCH_SOLVE. Python runs on your machine (or a server
you run); Excel talks to it over HTTPS through xlwings Server.

Licence: xlwings is BSD, but xlwings Server (server mode and the xlwings-server package) is
xlwings PRO: free for noncommercial use (PolyForm Noncommercial), a paid key otherwise.

1. Install:       python -m pip install ".[excel]"      (in a clone of this repository)
2. Licence key:   export XLWINGS_LICENSE_KEY=noncommercial   (or your xlwings PRO key)
3. Certificate:   Office only loads add-ins over HTTPS. For this machine, e.g.
                    mkcert -install && mkcert localhost 127.0.0.1
                  (or: npx office-addin-dev-certs install, which prints the file paths)
4. Serve:         xl-lesson3 addin serve --certfile localhost+1.pem --keyfile localhost+1-key.pem
5. Manifest:      xl-lesson3 addin manifest --url https://localhost:8000 -o lesson3.xml
6. Sideload it:
   - Excel on the web: Home > Add-ins > More add-ins > Upload My Add-in > lesson3.xml
   - Windows: put lesson3.xml in a shared folder, add it under File > Options > Trust Center >
     Trust Center Settings > Trusted Add-in Catalogs (tick "Show in Menu"), restart Excel, then
     Home > Add-ins > Advanced > Shared Folder > Lesson 3
   - macOS: copy lesson3.xml to
     ~/Library/Containers/com.microsoft.Excel/Data/Documents/wef/  and restart Excel
7. Use it: the "Lesson 3" tab appears; type =RELU(A1:A5) or =TORCH_MMULT(...) in a cell.

Desktop Excel without the server (Windows/macOS, classic xlwings, BSD):
   xl-lesson3 addin desktop --out lesson3-desktop
   writes Lesson3.xlsx (xlwings.conf sheet with this interpreter and UDF Modules udfs.functions),
   Lesson3Macros.bas (RunPython macros), Lesson3Ribbon.xml and INSTALL.txt with the steps.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "addin",
        help="run the Excel add-in (xlwings Server), write its manifest, print install steps",
        description="The Excel add-in: a Lesson 3 ribbon tab and torch-backed worksheet "
        "functions, served by xlwings Server (needs XLWINGS_LICENSE_KEY; free for "
        "noncommercial use).",
    )
    commands = parser.add_subparsers(dest="addin_command", metavar="ACTION", required=True)

    serve = commands.add_parser("serve", help="start the add-in server (Ctrl+C stops it)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--certfile", type=Path, help="TLS certificate (Office needs HTTPS)")
    serve.add_argument("--keyfile", type=Path, help="TLS private key")
    serve.add_argument(
        "--allow-http",
        action="store_true",
        help="serve without TLS: local testing only (Office needs HTTPS)",
    )
    serve.set_defaults(func=run_serve)

    manifest = commands.add_parser("manifest", help="write the add-in manifest for sideloading")
    manifest.add_argument(
        "--url",
        default="https://localhost:8000",
        help="where the server is reachable (default https://localhost:8000)",
    )
    manifest.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    manifest.add_argument(
        "--allow-http",
        action="store_true",
        help="accept an http:// --url: local testing only (Office needs HTTPS)",
    )
    manifest.set_defaults(func=run_manifest)

    desktop = commands.add_parser(
        "desktop",
        help="write the classic desktop files (xlwings.conf workbook, VBA module, ribbon XML)",
        description="Classic desktop Excel (Windows/macOS) with the standard xlwings add-in: "
        "writes Lesson3.xlsx (xlwings.conf sheet: this interpreter, UDF Modules udfs.functions), "
        "Lesson3Macros.bas (RunPython macros), Lesson3Ribbon.xml and INSTALL.txt.",
    )
    desktop.add_argument(
        "--out", type=Path, default=Path("lesson3-desktop"), help="folder to write into"
    )
    desktop.add_argument("--interpreter", help="Python for Excel to run (default: this one)")
    desktop.set_defaults(func=run_desktop)

    steps = commands.add_parser("steps", help="print how to install and use the add-in")
    steps.set_defaults(func=run_steps)


def run_serve(args: argparse.Namespace) -> int:
    from xl_lesson3.addin.server import serve_command, server_environment
    from xl_lesson3.errors import BadInputError

    if bool(args.certfile) != bool(args.keyfile):
        raise BadInputError("--certfile and --keyfile go together")
    for path in (args.certfile, args.keyfile):
        if path is not None and not path.is_file():
            raise BadInputError(f"{path}: no such file")
    server_environment(os.environ)  # fails early, with the licence explained, without a key
    if not args.certfile and not args.allow_http:
        raise BadInputError(
            "--certfile/--keyfile: Office loads add-ins over HTTPS only; give both, "
            "or --allow-http for local testing"
        )
    scheme = "https" if args.certfile else "http"
    print(f"Lesson 3 add-in: {scheme}://{args.host}:{args.port}/manifest.xml (Ctrl+C stops)")
    command = serve_command(
        host=args.host,
        port=args.port,
        certfile=args.certfile,
        keyfile=args.keyfile,
        allow_http=args.allow_http,
    )
    return subprocess.call(command)


def run_manifest(args: argparse.Namespace) -> int:
    from xl_lesson3.addin.manifest import render_manifest
    from xl_lesson3.addin.server import HTTP_WARNING
    from xl_lesson3.errors import WorkbookIOError

    text = render_manifest(args.url, allow_http=args.allow_http)
    if args.url.lower().startswith("http://"):
        print(HTTP_WARNING, file=sys.stderr)
    if args.output is None:
        print(text, end="")
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise WorkbookIOError(f"{args.output}: cannot write ({exc.strerror or exc})") from exc
    print(f"wrote {args.output}")
    return 0


def run_desktop(args: argparse.Namespace) -> int:
    from xl_lesson3.addin.desktop import write_desktop_files

    files = write_desktop_files(args.out, interpreter=args.interpreter)
    print(files.steps.read_text(encoding="utf-8"), end="")
    for path in (files.workbook, files.vba_module, files.ribbon, files.steps):
        print(f"wrote {path}")
    return 0


def run_steps(args: argparse.Namespace) -> int:
    print(STEPS, end="")
    return 0
