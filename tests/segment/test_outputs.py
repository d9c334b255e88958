from __future__ import annotations

import json

import numpy as np
import pytest
from _segment_scenes import mass_scene

from mammocad.errors import ROIError, SegmentationError
from mammocad.io import ROI, Mammogram
from mammocad.segment import segment_mammogram, write_segmentation


def _mammogram(spacing: float | None = 0.2) -> Mammogram:
    s = mass_scene(shape=(160, 160), centre=(80, 80), axes=(15, 15), contrast=70.0)
    return Mammogram(np.clip(s.image, 0, 255).astype(np.uint8), pixel_spacing_mm=spacing, source="x.png")


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
