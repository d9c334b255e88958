"""``mammocad serve``: options and clear errors (the server itself is tested in test_browser)."""

from __future__ import annotations

from typer.testing import CliRunner

from mammocad.cli import app


def test_serve_help_lists_the_options():
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--model", "--data", "--max-upload-mb"):
        assert option in result.output
    assert "127.0.0.1" in result.output


def test_serve_refuses_a_missing_data_folder(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--data", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "not a folder" in result.output


def test_serve_refuses_a_folder_without_a_model(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--model", str(tmp_path)])
    assert result.exit_code == 1
    assert "error:" in result.output


def test_serve_refuses_a_bad_port():
    result = CliRunner().invoke(app, ["serve", "--port", "70000"])
    assert result.exit_code != 0
