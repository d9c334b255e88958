"""The segment-and-write journey (``mammocad segment``) on small images made in code."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from mammocad.errors import ROIError, SegmentationError
from mammocad.io import ROI, Mammogram
from mammocad.pipeline import segment_and_write, segment_mammogram, write_segmentation


def _mammogram(spacing: float | None = 0.2) -> Mammogram:
    """160×160 tissue with one blurred round mass (radius 15 px) at (80, 80)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:160, :160]
    image = 100.0 + ndi.gaussian_filter(rng.normal(0, 6, (160, 160)), 4) + rng.normal(0, 2, (160, 160))
    image += 70.0 * ndi.gaussian_filter(((yy - 80) ** 2 + (xx - 80) ** 2 <= 15**2).astype(float), 1.5)
    return Mammogram(np.clip(image, 0, 255).astype(np.uint8), pixel_spacing_mm=spacing, source="x.png")


def test_given_roi_and_kinds():
    mg = _mammogram()
    both = segment_mammogram(mg, ROI(80, 80, 25))
    assert both.calcifications is not None and both.mass is not None and both.mass.found
    only = segment_mammogram(mg, ROI(80, 80, 25), kind="calcification")
    assert only.mass is None and only.calcifications is not None and only.candidates is None
    summary = only.summary()
    json.dumps(summary)  # JSON-ready
    assert summary["mass"] is None and summary["roi"]["radius"] == 25


def test_writes_files_atomically_named(tmp_path):
    result = segment_mammogram(_mammogram(), ROI(80, 80, 25), kind="mass")
    paths = write_segmentation(result, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths.values())


def test_errors():
    with pytest.raises(SegmentationError, match="pixel spacing"):
        segment_mammogram(_mammogram(None), ROI(80, 80, 25))
    with pytest.raises(SegmentationError, match="type"):
        segment_mammogram(_mammogram(), ROI(80, 80, 25), kind="masses")
    with pytest.raises(ROIError, match="outside"):
        segment_mammogram(_mammogram(), ROI(-500, 80, 25))


def test_out_path_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = segment_mammogram(_mammogram(), ROI(80, 80, 25), kind="mass")
    with pytest.raises(SegmentationError, match="not a folder"):
        write_segmentation(result, target)


def test_segment_and_write_maps_the_roi_of_a_file_onto_the_grid(tmp_path):
    path = tmp_path / "film.png"
    Image.fromarray(_mammogram().pixels).save(path)
    result, paths = segment_and_write(
        path, tmp_path / "out", roi="80,80,25", kind="mass", pixel_spacing_mm=0.2
    )
    assert result.mammogram.shape == (1024, 1024) and result.mammogram.scale == pytest.approx(1024 / 160)
    assert result.roi == ROI(80, 80, 25).scaled(1024 / 160)
    summary = json.loads(paths["json"].read_text())
    assert summary["roi"]["source"]["x"] == pytest.approx(80) and summary["mass"]["found"]
    as_read, _ = segment_and_write(
        path, tmp_path / "raw", roi=ROI(80, 80, 25), kind="mass", pixel_spacing_mm=0.2, normalise_image=False
    )
    assert as_read.mammogram.shape == (160, 160) and as_read.roi == ROI(80, 80, 25)
