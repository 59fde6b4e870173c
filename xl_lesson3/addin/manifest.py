"""The add-in manifest (Office's description of the "Lesson 3" tab) and the ribbon's wiring.

The manifest is a Jinja template in the xlwings Server project (``project/templates/
manifest.xml``); the server renders it per request, and `render_manifest` renders the same
template for a fixed URL, for sideloading. `ribbon_buttons` and `ribbon_scripts` read the two
halves of the ribbon's wiring (manifest button → function name → Python script) so tests can
check that every button reaches a macro.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import urlsplit
from xml.etree import ElementTree

from xl_lesson3.errors import BadInputError

from .server import MANIFEST_ID, PROJECT_DIR, PROJECT_NAME

TEMPLATE = PROJECT_DIR / "templates" / "manifest.xml"
RIBBON_JS = PROJECT_DIR / "static" / "js" / "ribbon.js"
_NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "v": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def render_manifest(url: str, *, allow_http: bool = False) -> str:
    """The manifest for a server at `url` (``https://host:port``), as the server renders it.

    Office loads add-ins over HTTPS only, so an ``http://`` URL is refused unless `allow_http`
    (local testing).
    """
    from jinja2 import Environment, FileSystemLoader

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInputError(f"--url: expected https://HOST[:PORT], got {url!r}")
    if parts.scheme == "http" and not allow_http:
        raise BadInputError(
            f"--url: {url} is plain HTTP; Office loads add-ins over HTTPS only "
            "(--allow-http writes it anyway, for local testing)"
        )
    base_url = f"{parts.scheme}://{parts.netloc}"
    app_path = parts.path.rstrip("/")
    settings = SimpleNamespace(
        project_name=PROJECT_NAME, static_url_path=f"{app_path}/static", app_path=app_path
    )
    env = Environment(
        loader=FileSystemLoader(TEMPLATE.parent),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(TEMPLATE.name).render(
        settings=settings,
        base_url=base_url,
        base_url_with_app_path=f"{base_url}{app_path}",
        manifest_id=MANIFEST_ID,
    )


def ribbon_buttons(manifest_xml: str) -> dict[str, str]:
    """``{button label: ExecuteFunction name}`` for every function button of the manifest."""
    root = ElementTree.fromstring(manifest_xml)
    labels = {
        s.get("id"): s.get("DefaultValue")
        for s in root.iter("{http://schemas.microsoft.com/office/officeappbasictypes/1.0}String")
    }
    buttons = {}
    for control in root.iter(f"{{{_NS['v']}}}Control"):
        action = control.find("v:Action", _NS)
        if action is None or action.get(_XSI_TYPE) != "ExecuteFunction":
            continue
        label = labels[control.find("v:Label", _NS).get("resid")]
        buttons[label] = action.find("v:FunctionName", _NS).text.strip()
    return buttons


def ribbon_scripts(ribbon_js: str | None = None) -> dict[str, str]:
    """``{ExecuteFunction name: Python script name}`` from ribbon.js' LESSON3_BUTTONS table."""
    text = RIBBON_JS.read_text() if ribbon_js is None else ribbon_js
    table = re.search(r"const LESSON3_BUTTONS = \{(.*?)\};", text, re.DOTALL)
    if table is None:
        raise ValueError("ribbon.js: no LESSON3_BUTTONS table")
    return dict(re.findall(r'"([\w-]+)":\s*"(\w+)"', table.group(1)))
