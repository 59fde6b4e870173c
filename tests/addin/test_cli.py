"""``xl-lesson3 addin``: manifest, steps, and the licence check before serving."""

from __future__ import annotations

from xml.etree import ElementTree

from xl_lesson3.addin.manifest import ribbon_buttons
from xl_lesson3.cli import main


def test_manifest_written_for_a_url(tmp_path, capsys):
    out = tmp_path / "lesson3.xml"
    assert main(["addin", "manifest", "--url", "https://lesson3.example:8443", "-o", str(out)]) == 0
    root = ElementTree.parse(out).getroot()
    ns = {"o": "http://schemas.microsoft.com/office/appforoffice/1.1"}
    assert root.find("o:DisplayName", ns).get("DefaultValue") == "Lesson 3"
    source = root.find("o:DefaultSettings/o:SourceLocation", ns).get("DefaultValue")
    assert source == "https://lesson3.example:8443/taskpane.html"
    assert len(ribbon_buttons(out.read_text())) == 5


def test_manifest_rejects_a_bad_url(capsys):
    assert main(["addin", "manifest", "--url", "localhost:8000"]) == 2
    assert "--url" in capsys.readouterr().err


def test_steps_explain_install_and_licence(capsys):
    assert main(["addin", "steps"]) == 0
    text = capsys.readouterr().out
    assert "XLWINGS_LICENSE_KEY=noncommercial" in text
    assert "Upload My Add-in" in text  # Excel on the web


def test_serve_refuses_without_a_licence_key(monkeypatch, capsys):
    monkeypatch.delenv("XLWINGS_LICENSE_KEY", raising=False)
    assert main(["addin", "serve", "--port", "8999"]) == 2
    assert "noncommercial" in capsys.readouterr().err


def test_desktop_writes_the_classic_xlwings_files(tmp_path, capsys):
    import re
    import sys

    import openpyxl
    from defusedxml import ElementTree as SafeTree

    from udfs import macros

    out = tmp_path / "desktop"
    assert main(["addin", "desktop", "--out", str(out)]) == 0
    assert "Import File" in capsys.readouterr().out
    conf = openpyxl.load_workbook(out / "Lesson3.xlsx")["xlwings.conf"]
    settings = {row[0]: row[1] for row in conf.iter_rows(values_only=True)}
    assert settings["Interpreter_Win"] == settings["Interpreter_Mac"] == sys.executable
    assert settings["UDF Modules"] == "udfs.functions"
    vba = (out / "Lesson3Macros.bas").read_text()
    scripts = re.findall(r"udfs\.macros\.run\('(\w+)'\)", vba)
    assert sorted(scripts) == sorted(
        ["solve", "reset_parameters", "evaluate", "build_titanic_sheets", "loss_chart"]
    )
    for script in scripts:
        assert callable(getattr(macros, script))
    subs = set(re.findall(r"^Sub (\w+)\(", vba, re.MULTILINE))
    ribbon = SafeTree.parse(out / "Lesson3Ribbon.xml").getroot()
    actions = [b.get("onAction") for b in ribbon.iter() if b.tag.endswith("button")]
    assert len(actions) == 5 and set(actions) <= subs
