"""make_segmentation: a binary SEG on the source grid, validated by dciodvfy, read back by highdicom."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from _dicom_objects import dciodvfy_errors, mammogram_file
from PIL import Image

from mammocad import __version__
from mammocad.errors import ExportError, ImageReadError
from mammocad.export import FINDINGS, make_segmentation, patient_orientation, resample_mask
from mammocad.io import read_dicom_header, read_mask

SHAPE = (90, 60)
SCALE = 0.5  # the analysis grid is half the source: 45 x 30 pixels, padded to 50 x 50


def _masks() -> dict[str, np.ndarray]:
    labels = np.zeros((50, 50), dtype=np.int32)
    labels[10, 12] = 1
    labels[12:14, 15] = 2
    labels[14, 11:13] = 3
    mass = np.zeros((50, 50), dtype=bool)
    mass[20:30, 5:18] = True
    mass[25, 18:22] = True
    return {"calcification": labels, "mass": mass}


def _write(ds: pydicom.Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return mammogram_file(tmp_path / "mammogram.dcm", SHAPE, orientation=["P", "FL"])


def test_seg_is_valid_and_masks_equal_the_resampled_segmentation(source: Path, tmp_path: Path) -> None:
    header = read_dicom_header(source)
    masks = _masks()
    path = _write(make_segmentation(header, masks, scale=SCALE), tmp_path / "seg.dcm")
    assert dciodvfy_errors(path) == []

    seg = hd.seg.segread(path)
    assert (seg.Rows, seg.Columns) == SHAPE  # the source's own grid, not the analysis grid
    assert seg.SegmentationType == "BINARY"
    sop = header.SOPInstanceUID
    assert [str(uid[2]) for uid in seg.get_source_image_uids()] == [sop]
    for number, kind in enumerate(("calcification", "mass"), start=1):
        description = seg.get_segment_description(number)
        assert description.segment_label == FINDINGS[kind].label
        assert description.segmented_property_type == FINDINGS[kind].code
        assert description.segmented_property_category.meaning == "Morphologically Abnormal Structure"
        assert description.algorithm_type.value == "AUTOMATIC"
        algorithm = description.algorithm_identification[0]
        assert (algorithm.AlgorithmName, algorithm.AlgorithmVersion) == ("mammocad", __version__)
        pixels = seg.get_pixels_by_source_instance([sop], segment_numbers=[number])[0, :, :, 0]
        np.testing.assert_array_equal(pixels > 0, resample_mask(masks[kind], SHAPE, SCALE))
    # A block of the analysis grid is 2x2 source pixels: the areas scale by 1/scale².
    assert seg.get_pixels_by_source_instance([sop], segment_numbers=[2]).sum() == 4 * masks["mass"].sum()

    written = pydicom.dcmread(path)
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID",
                    "StudyDate", "StudyTime", "StudyID", "AccessionNumber"):  # fmt: skip
        assert written.get(keyword) == header.get(keyword), keyword
    assert written.SeriesInstanceUID != header.SeriesInstanceUID
    assert list(written.PatientOrientation) == ["P", "FL"]
    assert written.Manufacturer == "mammocad" and written.SoftwareVersions == __version__


def test_read_mask_reads_the_union_of_a_seg_on_the_source_grid(source: Path, tmp_path: Path) -> None:
    masks = _masks()
    path = _write(make_segmentation(read_dicom_header(source), masks, scale=SCALE), tmp_path / "seg.dcm")
    union = resample_mask(masks["calcification"], SHAPE, SCALE) | resample_mask(masks["mass"], SHAPE, SCALE)
    np.testing.assert_array_equal(read_mask(path), union)
    png = tmp_path / "mask.png"
    Image.fromarray(np.where(union, 255, 0).astype(np.uint8)).save(png)
    np.testing.assert_array_equal(read_mask(png), union)  # a plain image mask: non-zero pixels


def test_a_source_with_pixel_spacing_gives_a_seg_highdicom_reads_back(tmp_path: Path) -> None:
    """highdicom 0.28 copies Pixel Spacing into Pixel Measures without Slice Thickness, then cannot
    read its own SEG; without a frame of reference neither is needed, so they are left out."""
    path = mammogram_file(tmp_path / "mg.dcm", SHAPE, orientation=["P", "FL"])
    ds = pydicom.dcmread(path)
    ds.PixelSpacing = [0.1, 0.1]  # e.g. Hologic writes both Pixel Spacing and Imager Pixel Spacing
    ds.save_as(path, enforce_file_format=True)
    masks = _masks()
    seg = make_segmentation(read_dicom_header(path), masks, scale=SCALE)
    assert "PixelMeasuresSequence" not in seg.SharedFunctionalGroupsSequence[0]
    written = _write(seg, tmp_path / "seg.dcm")
    assert dciodvfy_errors(written) == []
    assert hd.seg.segread(written).get_source_image_uids()[0][2] == ds.SOPInstanceUID
    expected = resample_mask(masks["calcification"], SHAPE, SCALE) | resample_mask(
        masks["mass"], SHAPE, SCALE
    )
    np.testing.assert_array_equal(read_mask(written), expected)


def test_read_mask_keeps_the_pixel_limit(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(make_segmentation(read_dicom_header(source), _masks(), scale=SCALE), tmp_path / "seg.dcm")
    monkeypatch.setenv("MAMMOCAD_MAX_PIXELS", str(SHAPE[0] * SHAPE[1]))  # one frame fits, two do not
    with pytest.raises(ImageReadError, match="larger than the limit"):
        read_mask(path)


def test_empty_findings_get_no_segment(source: Path, tmp_path: Path) -> None:
    masks = _masks()
    masks["calcification"] = np.zeros_like(masks["calcification"])
    seg = make_segmentation(read_dicom_header(source), masks, scale=SCALE)
    assert [s.SegmentLabel for s in seg.SegmentSequence] == ["Mass"]
    assert int(seg.NumberOfFrames) == 1
    with pytest.raises(ExportError, match="nothing was segmented"):
        make_segmentation(read_dicom_header(source), {"mass": np.zeros((50, 50), bool)}, scale=SCALE)


def test_bad_values_are_refused(source: Path) -> None:
    header = read_dicom_header(source)
    with pytest.raises(ExportError, match="unknown finding type"):
        make_segmentation(header, {"cyst": np.ones((50, 50), bool)}, scale=SCALE)
    with pytest.raises(ExportError, match="does not cover"):
        make_segmentation(header, {"mass": np.ones((20, 20), bool)}, scale=SCALE)
    del header.StudyInstanceUID
    with pytest.raises(ExportError, match="lacks StudyInstanceUID"):
        make_segmentation(header, _masks(), scale=SCALE)


@pytest.mark.filterwarnings("ignore:Invalid value for VR DA")
def test_invalid_source_values_are_not_copied(tmp_path: Path) -> None:
    """GE writes Patient's Birth Date 00000000: the SEG leaves it empty (type 2), not invalid."""
    path = mammogram_file(tmp_path / "ge-like.dcm", SHAPE, orientation=["P", "FL"], birth_date="00000000")
    seg_path = _write(make_segmentation(read_dicom_header(path), _masks(), scale=SCALE), tmp_path / "seg.dcm")
    assert dciodvfy_errors(path) != []  # the source itself is invalid ...
    assert dciodvfy_errors(seg_path) == []  # ... what we write is not
    assert pydicom.dcmread(seg_path).PatientBirthDate == ""


def test_orientation_derived_where_the_source_has_none(tmp_path: Path) -> None:
    """Without Patient Orientation dciodvfy rejects a SEG of a projection image: one is derived."""
    path = mammogram_file(tmp_path / "cc.dcm", SHAPE, orientation=None, laterality="L", view="CC")
    header = read_dicom_header(path)
    seg_path = _write(make_segmentation(header, _masks(), scale=SCALE), tmp_path / "seg.dcm")
    assert dciodvfy_errors(seg_path) == []
    assert list(pydicom.dcmread(seg_path).PatientOrientation) == ["A", "R"]
    assert patient_orientation(header, chest_wall="right") == ["P", "R"]
    # CBIS-DDSM writes the view where the orientation belongs ("MLO"): read as the view.
    header.PatientOrientation = "MLO"
    del header.ViewPosition
    assert patient_orientation(header, laterality="R", chest_wall="right") == ["P", "FL"]
    del header.ImageLaterality
    with pytest.raises(ExportError, match="no laterality"):
        patient_orientation(header)
    header.ImageLaterality = "L"
    header.PatientOrientation = ""
    header.ViewPosition = "SPOT"
    with pytest.raises(ExportError, match="view"):
        patient_orientation(header)


def test_non_dicom_input_is_refused_in_one_line(tmp_path: Path) -> None:
    png = tmp_path / "film.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(png)
    with pytest.raises(ImageReadError, match=r"film\.png: not a DICOM file; DICOM output \(SEG, SR\) needs"):
        read_dicom_header(png)
    with pytest.raises(ImageReadError, match="no such file"):
        read_dicom_header(tmp_path / "missing.dcm")
