"""resample_mask: analysis grid → source grid, against scikit-image and the geometry of normalise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.transform import resize

from mammocad.errors import ExportError
from mammocad.export import resample_mask
from mammocad.io import Mammogram, normalise


def _analysis_mask(rows: int, cols: int, size: int, seed: int) -> tuple[np.ndarray, float, tuple[int, int]]:
    """A random mask on the grid normalise() makes of a rows x cols image."""
    analysis = normalise(Mammogram(np.zeros((rows, cols), np.uint8)), size=size)
    h, w = max(1, round(rows * analysis.scale)), max(1, round(cols * analysis.scale))
    mask = np.zeros(analysis.shape, dtype=bool)
    mask[:h, :w] = np.random.default_rng(seed).random((h, w)) < 0.3
    return mask, analysis.scale, (h, w)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(32, 400),
    cols=st.integers(32, 400),
    size=st.integers(2, 128),
    seed=st.integers(0, 2**16),
)
def test_nearest_neighbour_equals_scikit_image(rows: int, cols: int, size: int, seed: int) -> None:
    mask, scale, (h, w) = _analysis_mask(rows, cols, size, seed)
    got = resample_mask(mask, (rows, cols), scale)
    # Reference: scikit-image's nearest-neighbour resize of the unpadded region, the
    # inverse of the resize normalise() made.
    expected = resize(mask[:h, :w].astype(np.uint8), (rows, cols), order=0, anti_aliasing=False) > 0.5
    assert got.shape == (rows, cols) and got.dtype == bool
    # Equal except at ties (a source centre exactly on an analysis pixel edge), which
    # either library may round either way.
    ties = _tie_rows(rows, h)[:, None] | _tie_rows(cols, w)[None, :]
    np.testing.assert_array_equal(got[~ties], expected[~ties])


def _tie_rows(n_source: int, n_analysis: int) -> np.ndarray:
    """Source pixels whose centre falls exactly on an analysis pixel edge."""
    return ((2 * np.arange(n_source) + 1) * n_analysis) % (2 * n_source) == 0


@pytest.mark.parametrize(("rows", "cols", "size"), [(3062, 2394, 1024), (788, 1318, 1024), (300, 200, 64)])
def test_each_analysis_pixel_covers_a_block_of_whole_source_pixels(rows: int, cols: int, size: int) -> None:
    """Area consistency: an analysis pixel becomes floor or ceil of 1/scale source pixels per axis."""
    analysis = normalise(Mammogram(np.zeros((rows, cols), np.uint8)), size=size)
    h, w = round(rows * analysis.scale), round(cols * analysis.scale)
    total = 0
    for r, c in [(0, 0), (h // 2, w // 3), (h - 1, w - 1), (h // 3, w - 2)]:
        mask = np.zeros(analysis.shape, dtype=bool)
        mask[r, c] = True
        block = resample_mask(mask, (rows, cols), analysis.scale)
        rr, cc = np.nonzero(block)
        height, width = rr.max() - rr.min() + 1, cc.max() - cc.min() + 1
        assert block.sum() == height * width  # a solid rectangle
        assert height in (rows // h, -(-rows // h))
        assert width in (cols // w, -(-cols // w))
        total += int(block.sum())
    # Every source pixel belongs to exactly one analysis pixel: the full mask maps to all.
    full = np.zeros(analysis.shape, dtype=bool)
    full[:h, :w] = True
    assert resample_mask(full, (rows, cols), analysis.scale).all()
    assert total > 0


def test_identity_at_scale_one_and_padding_ignored() -> None:
    mask = np.zeros((12, 12), dtype=np.int32)
    mask[2:5, 3:7] = 7  # a label image: non-zero = inside
    mask[10:, :] = 1  # below the 10x12 source: padding
    got = resample_mask(mask, (10, 12), 1.0)
    np.testing.assert_array_equal(got, mask[:10] != 0)
    pad_only = np.zeros((8, 8), bool)
    pad_only[6:, :] = True
    assert not resample_mask(pad_only, (10, 20), 0.4).any()  # source is 4x8 there


def test_round_trip_through_normalise_keeps_a_disc() -> None:
    """A disc drawn on the source and carried to the analysis grid by normalise comes back."""
    rows, cols = 900, 700
    yy, xx = np.mgrid[:rows, :cols]
    disc = (xx - 350.0) ** 2 + (yy - 400.0) ** 2 <= 120.0**2
    analysis = normalise(Mammogram(np.where(disc, 255, 0).astype(np.uint8)), size=256)
    back = resample_mask(analysis.pixels >= 128, (rows, cols), analysis.scale)
    iou = (back & disc).sum() / (back | disc).sum()
    assert iou > 0.97
    assert abs(int(back.sum()) - int(disc.sum())) / disc.sum() < 0.03


def test_mask_too_small_or_bad_scale() -> None:
    with pytest.raises(ExportError, match="does not cover"):
        resample_mask(np.zeros((10, 10), bool), (100, 100), 0.5)
    with pytest.raises(ExportError, match="scale"):
        resample_mask(np.zeros((10, 10), bool), (10, 10), 0.0)
