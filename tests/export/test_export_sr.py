"""make_report: a TID 1500 Comprehensive SR, validated by dciodvfy, read back by highdicom."""

from __future__ import annotations

import math
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from _dicom_objects import dciodvfy_errors, mammogram_file

from mammocad import __version__
from mammocad.errors import ExportError
from mammocad.export import FINDINGS, PROBABILITY_CONCEPT, feature_unit, make_report, make_segmentation
from mammocad.features.registry import FEATURES, feature_spec
from mammocad.io import read_dicom_header

PROBABILITY = 0.7318294017150937  # more digits than a DS holds: the FD value must keep them all


def _masks() -> dict[str, np.ndarray]:
    calcs = np.zeros((40, 40), dtype=bool)
    calcs[5:7, 5:7] = calcs[9, 12] = True
    mass = np.zeros((40, 40), dtype=bool)
    mass[20:31, 10:25] = True
    return {"calcification": calcs, "mass": mass}


@pytest.fixture
def objects(tmp_path: Path) -> tuple[pydicom.Dataset, pydicom.Dataset, Path]:
    source = read_dicom_header(
        mammogram_file(tmp_path / "mg.dcm", (80, 80), orientation=["A", "FR"], laterality="L")
    )
    seg = make_segmentation(source, _masks(), scale=0.5)
    seg_path = tmp_path / "seg.dcm"
    seg.save_as(seg_path, enforce_file_format=True)
    return source, pydicom.dcmread(seg_path), seg_path


FEATURE_VALUES = {spec.name: float(i) + 0.25 for i, spec in enumerate(FEATURES)}


def test_report_is_valid_and_reads_back(
    objects: tuple[pydicom.Dataset, pydicom.Dataset, Path], tmp_path: Path
) -> None:
    source, seg, _ = objects
    sr = make_report(
        source, seg, probability=PROBABILITY, features=FEATURE_VALUES, model="sae", scenario="combined"
    )
    path = tmp_path / "sr.dcm"
    sr.save_as(path, enforce_file_format=True)
    assert dciodvfy_errors(path) == []

    report = hd.sr.srread(path)
    assert report.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
    assert report.PatientID == source.PatientID and report.StudyInstanceUID == source.StudyInstanceUID
    groups = report.content.get_planar_roi_measurement_groups()
    assert len(groups) == len(seg.SegmentSequence) == 2
    per_frame = seg.PerFrameFunctionalGroupsSequence
    for group, segment in zip(groups, seg.SegmentSequence, strict=True):
        kind = {f.label: k for k, f in FINDINGS.items()}[segment.SegmentLabel]
        assert group.finding_type == FINDINGS[kind].code
        assert group.tracking_uid == segment.TrackingUID
        assert group.tracking_identifier == segment.TrackingID
        # The reference: the SEG frame that holds this segment, and the source image.
        ref = group.referenced_segmentation_frame
        assert ref.referenced_sop_instance_uid == seg.SOPInstanceUID
        assert ref.referenced_segment_numbers is None  # not next to a frame number (Table 10-3)
        frames = ref.referenced_frame_numbers
        assert [
            per_frame[f - 1].SegmentIdentificationSequence[0].ReferencedSegmentNumber for f in frames
        ] == [segment.SegmentNumber]
        assert ref.source_image_for_segmentation.referenced_sop_instance_uid == source.SOPInstanceUID
        measurements = group.get_measurements()
        probability = group.get_measurements(name=PROBABILITY_CONCEPT)
        assert len(probability) == 1
        assert probability[0].value == PROBABILITY  # exactly: the FD value, not the DS
        assert probability[0].unit.value == "1"
        features = {m.name.meaning: m for m in measurements if m.name.scheme_designator == "99MAMMOCAD"}
        expected = {name for name in FEATURE_VALUES if feature_spec(name).group == kind}
        assert set(features) == expected
        for name, item in features.items():
            assert item.value == FEATURE_VALUES[name]
            assert item.unit == feature_unit(feature_spec(name).unit)
        for item in measurements:
            texts = [
                (t.ConceptNameCodeSequence[0].CodeValue, t.TextValue)
                for t in _walk(item[0])
                if t.ValueType == "TEXT"
            ]
            # Algorithm Name, Version, Parameters
            assert texts == [
                ("111001", "mammocad"),
                ("111003", __version__),
                ("111002", "model=sae"),
                ("111002", "scenario=combined"),
            ]
    assert feature_unit("mm²").value == "mm2" and feature_unit("1/cm²").value == "/cm2"


def test_reference_form_is_the_conformant_one(
    objects: tuple[pydicom.Dataset, pydicom.Dataset, Path], tmp_path: Path
) -> None:
    """Frame number and segment number together: dciodvfy's error. The report uses the frame alone."""
    source, seg, _ = objects
    sr = make_report(source, seg, probability=0.5)
    images = [
        i for i in _walk(sr) if i.ValueType == "IMAGE" and i.ConceptNameCodeSequence[0].CodeValue == "121214"
    ]
    assert len(images) == 2  # "Referenced Segmentation Frame", one per group
    for image in images:
        ref = image.ReferencedSOPSequence[0]
        assert "ReferencedFrameNumber" in ref and "ReferencedSegmentNumber" not in ref
    # The other form, for the record: both numbers, which dciodvfy reports as an error.
    ref = images[0].ReferencedSOPSequence[0]
    ref.ReferencedSegmentNumber = 1
    bad = tmp_path / "both.dcm"
    sr.save_as(bad, enforce_file_format=True)
    assert any("ReferencedSegmentNumber" in line for line in dciodvfy_errors(bad))


def _walk(ds: pydicom.Dataset) -> list[pydicom.Dataset]:
    items = []
    for item in ds.get("ContentSequence", []):
        items.append(item)
        items.extend(_walk(item))
    return items


def test_bad_values_are_refused(
    objects: tuple[pydicom.Dataset, pydicom.Dataset, Path], tmp_path: Path
) -> None:
    source, seg, _ = objects
    for bad in (-0.1, 1.5, math.nan):
        with pytest.raises(ExportError, match="probability"):
            make_report(source, seg, probability=bad)
    with pytest.raises(ExportError, match="unknown feature 'calc_colour'"):
        make_report(source, seg, probability=0.5, features={"calc_colour": 1.0})
    with pytest.raises(ExportError, match="not finite"):
        make_report(source, seg, probability=0.5, features={"mass_area_mm2": math.inf})
    other = read_dicom_header(mammogram_file(tmp_path / "other.dcm", (80, 80), orientation=["A", "FR"]))
    with pytest.raises(ExportError, match="does not reference the source image"):
        make_report(other, seg, probability=0.5)
    with pytest.raises(ExportError, match="not a DICOM Segmentation"):
        make_report(source, source, probability=0.5)
