from __future__ import annotations

import numpy as np
import pytest
from _segment_scenes import dice
from scipy import ndimage as ndi

from mammocad.errors import SegmentationError
from mammocad.segment import breast_mask, breast_region, chest_wall_side


def _film(seed: int = 0, *, pectoral: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """256×256 'MLO' film: half-ellipse breast on the left edge, a bright label top-right."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:256, :256]
    breast = ((yy - 128) / 110.0) ** 2 + (xx / 150.0) ** 2 <= 1.0
    img = np.where(breast, 110.0, 8.0) + rng.normal(0, 3, (256, 256))
    img += np.where(breast, ndi.gaussian_filter(rng.normal(0, 1, (256, 256)), 4) * 60, 0)
    label = (yy > 10) & (yy < 30) & (xx > 200) & (xx < 240)
    img[label] = 250.0
    muscle = breast & (xx < 80 - 0.8 * (yy - 18))
    if pectoral:
        img[muscle] = 200.0 + rng.normal(0, 3, muscle.sum())
    return np.clip(img, 0, 255).astype(np.uint8), breast, muscle


def test_breast_found_and_label_excluded():
    img, truth, _ = _film()
    mask = breast_mask(img)
    assert mask.shape == img.shape and mask.dtype == bool
    assert dice(mask, truth) > 0.97
    assert not mask[20, 220]


def test_right_breast_is_the_mirror_image():
    img, truth, _ = _film()
    mask = breast_mask(img[:, ::-1])
    assert dice(mask, truth[:, ::-1]) > 0.97
    assert chest_wall_side(mask) == "right" and chest_wall_side(truth) == "left"
    # laterality only decides when the image cannot: a centred, symmetric blob
    blob = np.zeros((50, 50), bool)
    blob[10:40, 10:40] = True
    assert chest_wall_side(blob, "R") == "right" and chest_wall_side(blob, "L") == "left"
    assert chest_wall_side(mask, "L") == "right"  # the image wins


@pytest.mark.parametrize("flip", [False, True])
def test_pectoral_muscle_removed(flip):
    img, truth, muscle = _film(pectoral=True)
    laterality = "L"
    if flip:
        img, truth, muscle, laterality = img[:, ::-1], truth[:, ::-1], muscle[:, ::-1], "R"
    kept = breast_mask(img, remove_pectoral=True, laterality=laterality)
    assert (kept & muscle).sum() < 0.15 * muscle.sum()
    assert dice(kept, truth & ~muscle) > 0.93
    assert dice(breast_mask(img, remove_pectoral=True), kept) > 0.99  # side inferred
    assert (breast_mask(img) & muscle).sum() > 0.95 * muscle.sum()  # only when asked


@pytest.mark.parametrize("value", [0, 77])
def test_blank_image_gives_empty_mask(value):
    assert not breast_mask(np.full((40, 40), value, np.uint8)).any()


def test_bad_input():
    with pytest.raises(SegmentationError, match="laterality"):
        breast_mask(np.zeros((20, 20)), laterality="left")
    with pytest.raises(SegmentationError, match="2-D"):
        breast_mask(np.zeros(20))


@pytest.mark.realdata
def test_real_mias_film(mias_dir):
    from mammocad.io import read_mammogram

    img = read_mammogram(mias_dir / "mdb001.png").pixels
    mask = breast_mask(img)
    assert 0.15 < mask.mean() < 0.6
    assert not mask[:, :100].any()  # mdb001's breast lies on the right; the left is film


# --------------------------------------------------------------------------------------
# breast_region: film, markers, strips, crops and the pectoral muscle


def _cc_film(seed: int = 0) -> np.ndarray:
    """256×256 'CC' film: a half-disc breast on the left edge not touching the top or bottom."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:256, :256]
    breast = ((yy - 128) / 90.0) ** 2 + (xx / 140.0) ** 2 <= 1.0
    img = np.where(breast, 110.0, 8.0) + rng.normal(0, 3, (256, 256))
    img += np.where(breast, ndi.gaussian_filter(rng.normal(0, 1, (256, 256)), 4) * 60, 0)
    return np.clip(img, 0, 254).astype(np.uint8)


@pytest.mark.parametrize("value", [0, 255])
def test_no_breast_blank_or_white(value):
    region = breast_region(np.full((300, 200), value, np.uint8))
    assert region.breast.shape == (300, 200) and region.breast.dtype == bool
    assert not region.breast.any() and not region.pectoral.any() and not region.tissue.any()
    assert region.chest_wall in ("left", "right") and not region.pectoral_found


def test_all_breast_crop_is_breast_throughout():
    from mammocad.synth import make_case

    case = make_case(11, abnormality="mass", size=512, pixel_spacing_mm=0.2, view="CC")
    rows, cols = np.nonzero(ndi.binary_erosion(case.breast_mask, iterations=60))
    crop = case.mammogram.pixels[rows.min() : rows.max(), cols.min() : cols.max()]
    region = breast_region(crop)
    assert crop.size > 100 * 100
    assert region.breast.mean() > 0.99 and not region.pectoral_found


def test_mlo_without_visible_muscle_keeps_the_breast():
    img, truth, _ = _film(pectoral=False)
    for view in ("MLO", None):
        region = breast_region(img, view=view)
        assert not region.pectoral_found
        assert dice(region.tissue, truth) > 0.97


def _mlo_film(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """256×256 MLO film: the breast runs off the top edge, a pectoral triangle in the top-left corner."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:256, :256]
    breast = ((yy - 90) / 130.0) ** 2 + (xx / 150.0) ** 2 <= 1.0
    img = np.where(breast, 110.0, 8.0) + rng.normal(0, 3, (256, 256))
    img += np.where(breast, ndi.gaussian_filter(rng.normal(0, 1, (256, 256)), 4) * 60, 0)
    muscle = breast & (xx < 90 - 0.7 * yy)
    img[muscle] = 200.0 + rng.normal(0, 3, muscle.sum())
    return np.clip(img, 0, 254).astype(np.uint8), muscle


def test_pectoral_detected_when_the_view_is_unknown_not_on_cc():
    img, muscle = _mlo_film()
    auto = breast_region(img)  # view unknown: detected
    assert auto.pectoral_found and dice(auto.pectoral, muscle) > 0.8
    assert not breast_region(img, view="CC").pectoral_found  # CC: never looked for
    assert breast_mask(img, remove_pectoral="auto").sum() < breast_mask(img).sum()
    cc = breast_region(_cc_film(), view=None)  # breast not touching the top edge
    assert not cc.pectoral_found and cc.breast.any()
    with pytest.raises(SegmentationError, match="remove_pectoral"):
        breast_mask(img, remove_pectoral="sometimes")


def test_padding_strips_and_markers_are_not_breast():
    img, truth, _ = _film()
    film = np.zeros((300, 320), np.uint8)  # zero padding right and below, as normalise() leaves
    film[:256, :256] = img
    film[:256, 250:256] = 230  # a bright film-border strip along the film's right edge
    film[100:104, 60:90] = 255  # a burnt-in cross inside the breast (saturated)
    film[88:116, 73:77] = 255
    region = breast_region(film)
    assert not region.breast[:, 256:].any() and not region.breast[256:].any()
    assert not region.breast[20:236, 250:256].any()  # the strip
    assert region.markers[101, 75] and not region.breast[101, 75]
    assert dice(region.breast[:256, :256] | region.markers[:256, :256], truth) > 0.95


def test_label_touching_the_skin_is_cut_off():
    img, truth, _ = _film()
    img = img.copy()
    img[19:22, 60:205] = 200  # the film's label card (top right) joined to the skin by a thin bridge
    region = breast_region(img)
    assert not region.breast[10:30, 200:240].any()
    assert dice(region.breast, truth) > 0.95
