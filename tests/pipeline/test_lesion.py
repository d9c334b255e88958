"""One lesion: segmented once, and every consumer (table, viewer, report) sees the same pixels."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mammocad.datasets import load_mias, read_lesion_table
from mammocad.errors import FeatureError, ROIError
from mammocad.features import FEATURE_NAMES, calcification_features, mass_features
from mammocad.io import ROI, Mammogram, normalise, read_mammogram
from mammocad.pipeline import (
    analyse_lesion,
    analysis_grid,
    calcification_layer,
    find_candidates,
    lesion_overlay,
    lesion_overlays,
    measure_lesion_table,
)
from mammocad.segment import detect_candidates, render_overlay, segment_calcifications, segment_mass
from mammocad.synth import make_case, make_cohort


def features_as_in_0_1(mammogram: Mammogram, roi: ROI) -> dict[str, float]:
    """mammocad 0.1's ``extract_lesion_features``: segment and measure on the whole normalised image."""
    mg = normalise(mammogram)
    roi_here = roi.scaled(mg.scale / mammogram.scale)
    s = float(mg.pixel_spacing_mm)
    calcs = segment_calcifications(mg.pixels, roi_here, pixel_spacing_mm=s)
    mass = segment_mass(mg.pixels, roi_here, pixel_spacing_mm=s)
    values = calcification_features(mg.pixels, calcs.labels, pixel_spacing_mm=s, roi=roi_here)
    values.update(mass_features(mg.pixels, mass.mask, pixel_spacing_mm=s))
    return {name: values[name] for name in FEATURE_NAMES}


@pytest.mark.parametrize(
    ("seed", "abnormality", "size", "spacing"),
    [
        (0, "calcification", 512, 0.2),
        (1, "mass", 512, 0.2),
        (2, "both", 768, 0.1),
        (3, "calcification", 1024, 0.1),
    ],
)
def test_features_are_bit_identical_to_0_1_on_synthetic_lesions(seed, abnormality, size, spacing):
    case = make_case(seed, abnormality=abnormality, size=size, pixel_spacing_mm=spacing)
    for lesion in case.lesions:
        ours = analyse_lesion(case.mammogram, lesion.roi).features
        assert ours == features_as_in_0_1(case.mammogram, lesion.roi)  # exact equality, every value


@pytest.mark.realdata
def test_features_are_bit_identical_to_0_1_on_real_mias_rois(mias_dir):
    lesions = load_mias(mias_dir, with_roi=True)
    # calcification clusters, masses of every size (the largest ROI reaches the film's edge)
    picks = pd.concat(
        [
            lesions[lesions["abnormality"] == "calcification"].head(2),
            lesions[lesions["abnormality"] == "mass"].head(2),
            lesions.nlargest(1, "radius"),
            lesions.nsmallest(1, "radius"),
        ]
    )
    for row in picks.itertuples():
        mg = read_mammogram(row.image_path, pixel_spacing_mm=row.pixel_spacing_mm)
        roi = ROI(row.x, row.y, row.radius)
        assert analyse_lesion(mg, roi).features == features_as_in_0_1(mg, roi), row.lesion_id


def test_analysis_values_and_errors():
    case = make_case(4, abnormality="both", size=512, pixel_spacing_mm=0.2)
    calc = next(lesion for lesion in case.lesions if lesion.abnormality == "calcification")
    result = analyse_lesion(case.mammogram, calc.roi)
    assert (
        result.scale == 2.0 and result.grid_roi == calc.roi.scaled(2.0) and result.grid.shape == (1024, 1024)
    )
    assert result.features["calc_count"] == result.segmentation.calcification_count > 0
    assert list(result.features) == list(FEATURE_NAMES) and result.probability is None
    # a given spacing fills in where the image has none; the image's own wins (the grid is
    # twice as fine as the image)
    unknown = case.mammogram.replace(pixel_spacing_mm=None)
    coarse = analyse_lesion(unknown, calc.roi, pixel_spacing_mm=0.4)
    assert result.segmentation.pixel_spacing_mm == 0.1 and coarse.segmentation.pixel_spacing_mm == 0.2
    assert coarse.grid.pixel_spacing_source == "option"
    kept = analyse_lesion(case.mammogram, calc.roi, pixel_spacing_mm=0.4)
    assert kept.segmentation.pixel_spacing_mm == 0.1
    with pytest.raises(FeatureError, match="pixel spacing unknown"):
        analyse_lesion(case.mammogram.replace(pixel_spacing_mm=None), calc.roi)
    with pytest.raises(FeatureError, match="positive number"):
        analyse_lesion(case.mammogram, calc.roi, pixel_spacing_mm=-1.0)
    with pytest.raises(ROIError, match="outside"):
        analyse_lesion(case.mammogram, ROI(5000, 5000, 10))


def test_a_flat_image_gives_defined_values():
    result = analyse_lesion(
        Mammogram(np.full((128, 128), 90, np.uint8), pixel_spacing_mm=0.2), ROI(64, 64, 20)
    )
    assert all(math.isfinite(v) for v in result.features.values()) and result.features["calc_count"] == 0


def test_layers_and_candidates_are_in_the_image_coordinates():
    case = make_case(5, abnormality="both", size=512, pixel_spacing_mm=0.2)
    calc = next(lesion for lesion in case.lesions if lesion.abnormality == "calcification")
    result = analyse_lesion(case.mammogram, calc.roi)
    rgba, (x0, y0, width, height) = calcification_layer(result)
    assert rgba.shape[:2] == result.segmentation.labels.shape and rgba.dtype == np.uint8
    # every calcification centroid (grid coordinates) lands inside the layer, in image pixels
    props = result.segmentation.properties
    xs, ys = props["x"] / result.scale, props["y"] / result.scale
    assert ((xs >= x0) & (xs <= x0 + width) & (ys >= y0) & (ys <= y0 + height)).all()
    assert (rgba[..., 3] > 0).sum() == (result.segmentation.labels > 0).sum()
    assert lesion_overlay(result).shape == (1024, 1024, 3)

    grid = analysis_grid(case.mammogram)
    on_grid = detect_candidates(grid.pixels, pixel_spacing_mm=grid.pixel_spacing_mm)
    found = find_candidates(case.mammogram)
    assert [c.kind for c in found] == [c.kind for c in on_grid] and found
    for mine, theirs in zip(found, on_grid, strict=True):
        assert mine.roi == theirs.roi.scaled(0.5) and mine.score == theirs.score


def test_table_viewer_and_report_see_the_same_segmentation(tmp_path):
    make_cohort(4, tmp_path, seed=2, size=384, pixel_spacing_mm=0.2)
    lesions = read_lesion_table(tmp_path / "lesions.csv")
    table = measure_lesion_table(lesions, tmp_path / "features.parquet", progress=False)
    analyses = {}
    for row in lesions.itertuples():
        mg = read_mammogram(row.image_path, pixel_spacing_mm=row.pixel_spacing_mm)
        analyses[row.lesion_id] = analyse_lesion(mg, ROI(row.x, row.y, row.radius))
        # the viewer's values are the table's, bit for bit
        assert (
            analyses[row.lesion_id].features
            == table.set_index("lesion_id").loc[row.lesion_id, list(FEATURE_NAMES)].to_dict()
        )
    # the report's overlays are drawn from that same segmentation, on the same grid
    split = table[["lesion_id", "label"]].assign(split="test")
    overlays = lesion_overlays(SimpleNamespace(split=split), lesions, n=4)
    assert len(overlays) == 4
    for overlay in overlays:
        analysis = analyses[overlay.name]
        seg = analysis.segmentation
        is_mass = lesions.set_index("lesion_id").loc[overlay.name, "abnormality"] == "mass"
        expected = render_overlay(
            analysis.grid.pixels,
            analysis.grid_roi,
            calcifications=None if is_mass else seg.calcifications(),
            mass=seg.mass() if is_mass else None,
        )
        np.testing.assert_array_equal(overlay.image, expected)
        assert overlay.caption.startswith(f"{overlay.name}: ")
