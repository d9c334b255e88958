"""`mammocad features`: list the registry, measure a lesion table, resume."""

from __future__ import annotations

import pandas as pd
import pytest

import mammocad.pipeline.measure as measure_module
from mammocad.cli import main
from mammocad.features import FEATURE_NAMES
from mammocad.features.registry import registry_markdown
from mammocad.synth import make_cohort


def test_list_prints_every_feature(capsys):
    assert main(["features", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in FEATURE_NAMES)
    assert main(["features", "--list", "--markdown"]) == 0
    assert capsys.readouterr().out == registry_markdown()


def test_measure_and_resume(tmp_path, capsys, monkeypatch):
    make_cohort(2, tmp_path, seed=4, size=384, pixel_spacing_mm=0.2)
    calls = []

    def fake(grid, roi, **_):
        calls.append(roi)
        return None, dict.fromkeys(FEATURE_NAMES, 0.5)

    monkeypatch.setattr(measure_module, "measure_on_grid", fake)
    out = tmp_path / "features.parquet"
    assert main(["features", str(tmp_path / "lesions.csv"), "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    table = pd.read_parquet(out)
    assert len(table) == len(calls) >= 2 and (table[list(FEATURE_NAMES)] == 0.5).all().all()
    assert main(["features", str(tmp_path / "lesions.csv"), "--out", str(out)]) == 0
    assert "0 measured now" in capsys.readouterr().out
    assert len(calls) == len(table)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["features"], "give a lesion table"),
        (["features", "missing.csv", "--out", "f.parquet"], "missing.csv"),
        (["features", "missing.csv", "--out", "f.parquet", "--workers", "0"], "workers"),
    ],
)
def test_bad_invocations_exit_1_with_a_message(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 1
    assert message in capsys.readouterr().err
