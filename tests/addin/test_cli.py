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
