from __future__ import annotations

import numpy as np
import pytest
from _segment_scenes import SPACING, add_calcifications
from scipy import ndimage as ndi

from mammocad.errors import SegmentationError
from mammocad.io import ROI
from mammocad.segment import breast_mask, breast_region, detect_candidates
from mammocad.segment.candidates import (
    MASS_FEATURES,
    Candidate,
    propose_candidates,
    rank_candidates,
    suppress,
)


def _textured_breast(rng, size: int, centre_row: float, semi_axes: tuple[float, float], background: float):
    """A half-ellipse breast on the left edge with smooth texture; also the grid and the breast mask."""
    yy, xx = np.mgrid[:size, :size]
    breast = ((yy - centre_row) / semi_axes[0]) ** 2 + (xx / semi_axes[1]) ** 2 <= 1.0
    texture = ndi.gaussian_filter(rng.normal(0, 1, (size, size)), 6)
    noise = rng.normal(0, 1.5, (size, size))
    return np.where(breast, 100.0 + 15.0 * texture / texture.std(), background) + noise, breast, yy, xx


def _add_mass(img, yy, xx, centre: tuple[int, int], radius: int, contrast: float) -> None:
    mass = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2
    img += ndi.gaussian_filter(mass.astype(float), 2) * contrast


def _whole_image(seed: int = 0):
    """384×384 film: a breast on the left with a calcification cluster and a mass."""
    img, breast, yy, xx = _textured_breast(np.random.default_rng(seed), 384, 192, (170.0, 300.0), 5.0)
    _add_mass(img, yy, xx, (280, 150), 25, 60)
    centres = [(100, 200), (106, 210), (96, 214), (110, 198), (102, 220)]
    scene = add_calcifications(img, centres, [3, 3, 4, 3, 3], contrast=45)
    return scene.image, breast, (103.0, 208.0), (280.0, 150.0)


def test_finds_the_cluster_and_the_mass():
    img, breast, calc_centre, mass_centre = _whole_image()
    # every proposal (on this toy texture the learned ranking is not the point)
    found = detect_candidates(img, pixel_spacing_mm=SPACING, breast=breast, max_candidates=100)
    assert found and all(a.score >= b.score for a, b in zip(found, found[1:], strict=False))
    assert all(0 <= c.score < 1 for c in found)
    calcs = [c for c in found if c.kind == "calcification"]
    masses = [c for c in found if c.kind == "mass"]
    assert any(np.hypot(c.roi.y - calc_centre[0], c.roi.x - calc_centre[1]) < 15 for c in calcs)
    assert any(np.hypot(c.roi.y - mass_centre[0], c.roi.x - mass_centre[1]) < 15 for c in masses)
    best_mass = next(c for c in masses if np.hypot(c.roi.y - 280, c.roi.x - 150) < 15)
    assert 20 < best_mass.roi.radius < 80  # encloses the 25-px mass


def test_breast_mask_computed_when_not_given_and_kinds_and_limit():
    img, _, _, _ = _whole_image()
    found = detect_candidates(img, pixel_spacing_mm=SPACING, max_candidates=2, kinds=("mass",))
    assert 1 <= len(found) <= 2 and {c.kind for c in found} == {"mass"}
    inside = breast_mask(img)
    assert all(inside[int(c.roi.y), int(c.roi.x)] for c in found)


@pytest.mark.parametrize("value", [0, 90])
def test_blank_image_gives_no_candidates(value):
    assert detect_candidates(np.full((128, 128), value, np.uint8), pixel_spacing_mm=SPACING) == []


def test_bad_input():
    img = np.zeros((64, 64))
    with pytest.raises(SegmentationError, match="breast"):
        detect_candidates(img, pixel_spacing_mm=SPACING, breast=np.ones((10, 10), bool))
    with pytest.raises(SegmentationError, match="kinds"):
        detect_candidates(img, pixel_spacing_mm=SPACING, kinds=("tumour",))
    with pytest.raises(SegmentationError, match="max_candidates"):
        detect_candidates(img, pixel_spacing_mm=SPACING, max_candidates=0)


# --------------------------------------------------------------------------------------
# whole films: the search region, ranking, bad input


def _mlo_film_with_artefacts(seed: int = 3):
    """512×512 MLO-like film at 0.2 mm: breast off the top edge, pectoral, label, film strip, a mass."""
    rng = np.random.default_rng(seed)
    img, breast, yy, xx = _textured_breast(rng, 512, 200, (300.0, 300.0), 6.0)
    muscle = breast & (xx < 160 - 0.8 * yy)
    img[muscle] = 190.0 + rng.normal(0, 2, muscle.sum())
    _add_mass(img, yy, xx, (330, 170), 22, 50)
    img[40:90, 400:480] = 240.0  # label
    img[:, 505:] = 230.0  # film-edge strip
    return np.clip(img, 0, 250).astype(np.uint8), breast & ~muscle


def test_candidates_only_inside_the_breast_region():
    img, tissue = _mlo_film_with_artefacts()
    found = detect_candidates(img, pixel_spacing_mm=SPACING, max_candidates=50)
    assert found, "the mass should give candidates"
    region = breast_region(img)
    assert region.pectoral_found
    for c in found:
        assert region.tissue[int(round(c.roi.y)), int(round(c.roi.x))], c
    assert any(c.kind == "mass" and np.hypot(c.roi.x - 170, c.roi.y - 330) < 22 for c in found)


@pytest.mark.parametrize("value", [0, 255])
def test_no_breast_gives_no_candidates(value):
    img = np.full((256, 256), value, np.uint8)
    assert detect_candidates(img, pixel_spacing_mm=SPACING) == []
    proposals = propose_candidates(img, pixel_spacing_mm=SPACING)
    assert {k: len(v) for k, v in proposals.items()} == {"calcification": 0, "mass": 0}


def test_all_breast_crop_and_mlo_without_muscle_are_well_formed():
    img, _, calc_centre, mass_centre = _whole_image()
    crop = img[60:330, 60:300]  # inside the breast throughout
    found = detect_candidates(crop, pixel_spacing_mm=SPACING, max_candidates=50)
    assert all(isinstance(c, Candidate) and 0 <= c.score < 1 for c in found)
    assert all(0 <= c.roi.x < crop.shape[1] and 0 <= c.roi.y < crop.shape[0] for c in found)
    # an MLO view whose muscle is not visible: nothing is cut, detection still runs
    found = detect_candidates(img, pixel_spacing_mm=SPACING, view="MLO", max_candidates=50)
    assert any(
        c.kind == "mass" and np.hypot(c.roi.y - mass_centre[0], c.roi.x - mass_centre[1]) < 15 for c in found
    )


def test_rank_uses_the_scorer_and_drops_concentric_duplicates():
    img, breast, _, _ = _whole_image()
    proposals = propose_candidates(img, pixel_spacing_mm=SPACING, breast=breast)
    assert proposals["mass"].features.shape == (len(proposals["mass"]), len(MASS_FEATURES))
    assert np.isfinite(proposals["mass"].features).all()
    ranked = rank_candidates(proposals)
    assert ranked == sorted(ranked, key=lambda c: -c.score)
    assert detect_candidates(img, pixel_spacing_mm=SPACING, breast=breast, max_candidates=100) == ranked
    high = detect_candidates(img, pixel_spacing_mm=SPACING, breast=breast, min_score=0.5, max_candidates=100)
    assert all(c.score >= 0.5 for c in high) and len(high) <= len(ranked)
    rois = (ROI(50, 50, 10), ROI(52, 50, 10), ROI(70, 50, 30), ROI(72, 50, 5))
    kept = suppress(rois, np.array([0.9, 0.8, 0.95, 0.3]), "mass")
    assert [c.roi for c in kept] == [
        ROI(70, 50, 30),
        ROI(50, 50, 10),
    ]  # (52,50) duplicates (50,50); (72,50) of (70,50)
    kept = suppress((ROI(50, 50, 30), ROI(80, 50, 8)), np.array([0.9, 0.8]), "mass")
    assert len(kept) == 2  # a small finding inside a large better one's ROI is kept
