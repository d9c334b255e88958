"""``mammocad features`` on tables it cannot (fully) measure: a clear failure, a list of what was skipped."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from mammocad.datasets import read_lesion_table, write_lesion_table
from mammocad.features.table import read_feature_table
from mammocad.synth import make_cohort

runner = CliRunner()


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("cohort")
    make_cohort(3, root, seed=4, size=256, pixel_spacing_mm=0.2)
    return read_lesion_table(root / "lesions.csv")


def features(table: pd.DataFrame, folder: Path, *extra: str):
    lesions = folder / "lesions.csv"
    write_lesion_table(table, lesions)
    from mammocad.cli import app

    return runner.invoke(app, ["features", str(lesions), "--out", str(folder / "features.parquet"), *extra])


def test_a_table_where_no_lesion_can_be_measured_fails_with_one_line(
    cohort: pd.DataFrame, tmp_path: Path
) -> None:
    table = cohort.assign(pixel_spacing_mm=float("nan"))  # PNG files: no spacing anywhere
    result = features(table, tmp_path, "--quiet")
    assert result.exit_code == 1
    skipped = tmp_path / "features.skipped.csv"
    n = len(table)
    assert result.stderr.splitlines()[-1] == (
        f"error: 0 of {n} lesions measured: {n} lack pixel spacing; see {skipped}"
    )
    listed = pd.read_csv(skipped)
    assert list(listed["lesion_id"]) == list(table["lesion_id"])
    assert set(listed["category"]) == {"spacing"}
    assert all("--pixel-spacing" in reason for reason in listed["reason"])


def test_a_mix_measures_what_it_can_lists_the_rest_and_resumes(cohort: pd.DataFrame, tmp_path: Path) -> None:
    table = cohort.copy()
    table.loc[0, "pixel_spacing_mm"] = float("nan")  # no spacing
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    table.loc[1, "image_path"] = str(broken)  # unreadable
    result = features(table, tmp_path)
    assert result.exit_code == 0, result.output
    n = len(table)
    skipped = tmp_path / "features.skipped.csv"
    assert (
        f"{n - 2} of {n} lesions measured: 1 lack pixel spacing, 1 have an unreadable image; see {skipped}"
        in result.stdout
    )
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning: lesion")]
    assert len(warned) == 2 and all(" skipped: " in line for line in warned)
    assert set(pd.read_csv(skipped)["lesion_id"]) == {table.loc[0, "lesion_id"], table.loc[1, "lesion_id"]}
    assert len(read_feature_table(tmp_path / "features.parquet")) == n - 2

    # The spacing given now: only the lesion that lacked it is measured; the rest is resumed.
    Image.new("L", (256, 256)).save(broken)  # and the broken file replaced by a blank film
    again = features(table, tmp_path, "--pixel-spacing", "0.2")
    assert again.exit_code == 0, again.output
    measured = read_feature_table(tmp_path / "features.parquet")
    assert len(measured) == n and not skipped.exists()
    assert "(2 measured now" in again.stdout
    row = measured.set_index("lesion_id").loc[table.loc[0, "lesion_id"]]
    assert (row["pixel_spacing_mm"], row["pixel_spacing_source"]) == (0.2, "option")
