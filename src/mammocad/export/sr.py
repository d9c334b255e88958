"""DICOM Comprehensive SR: a TID 1500 measurement report of a mammogram's findings.

:func:`make_report` writes one measurement group (TID 1410, planar ROI) per
segment of a mammocad SEG: the segment's tracking identifier and UID, the
finding type (the segment's property type), the malignancy probability
(``(111047, DCM, "Probability of cancer")``, unit ``1``), the features of that
finding with the units of the feature registry, the algorithm (mammocad, its
version, the model), and references to the SEG frame that holds the segment and
to the source image.

The segment is referenced the way the Image SOP Instance Reference Macro allows
for a "Referenced Segmentation Frame": by Referenced Frame Number alone. The
macro forbids Referenced Segment Number next to Referenced Frame Number (dciodvfy
reports it as an error); the frame names its segment in the SEG's Segment
Identification Sequence, and the group's tracking UID is the segment's.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping

from pydicom import Dataset
from pydicom.sr.coding import Code

from mammocad.errors import ExportError, FeatureError
from mammocad.export._context import BREAST, FINDINGS, context_header, patient_orientation, quiet_copying

__all__ = [
    "make_report",
    "PROBABILITY_CONCEPT",
    "FEATURE_SCHEME",
    "feature_concept",
    "feature_unit",
    "SR_SERIES_NUMBER",
]

#: Series Number of the SR when none is given.
SR_SERIES_NUMBER = 9002
#: Concept name of the malignancy probability (a value in 0..1, unit "1").
PROBABILITY_CONCEPT = Code("111047", "DCM", "Probability of cancer")
#: Private coding scheme of the feature concept names (code meaning = feature name).
FEATURE_SCHEME = "99MAMMOCAD"

_UCUM = {
    "unitless": Code("1", "UCUM", "no units"),
    "count": Code("{#}", "UCUM", "count"),
    "mm": Code("mm", "UCUM", "millimeter"),
    "mm²": Code("mm2", "UCUM", "square millimeter"),
    "1/cm²": Code("/cm2", "UCUM", "per square centimeter"),
    "grey": Code("{GreyLevel}", "UCUM", "grey level of the 8-bit normalised image"),
    "°": Code("deg", "UCUM", "degree"),
    "deg": Code("deg", "UCUM", "degree"),
    "rad": Code("rad", "UCUM", "radian"),
}
_SEG_CLASSES = ("1.2.840.10008.5.1.4.1.1.66.4", "1.2.840.10008.5.1.4.1.1.66.7")
_PROJECTION = ("CR", "DX", "IO", "MG", "PX", "RF", "RG", "XA")


def feature_unit(unit: str) -> Code:
    """UCUM code of a feature-registry unit (``"mm²"`` → ``mm2``).

    A unit the table does not know becomes a UCUM annotation (``{...}``), which
    UCUM reads as a dimensionless unit carrying that name.
    """
    code = _UCUM.get(unit)
    if code is not None:
        return code
    annotation = re.sub(r"[^!-z|~]", "", unit)
    return Code(f"{{{annotation}}}", "UCUM", unit) if annotation else _UCUM["unitless"]


def feature_concept(name: str) -> Code:
    """Concept name of a registered feature, in the private scheme :data:`FEATURE_SCHEME`.

    The code meaning is the feature's name; the code value is ``F`` and the first
    12 hexadecimal digits of the name's SHA-1: stable, and short enough for Code
    Value (16 characters), which readers handle better than Long Code Value
    (highdicom 0.28 cannot parse a measurement group holding one).
    """
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:12]
    return Code(f"F{digest}", FEATURE_SCHEME, name)


def _segment_frames(segmentation: Dataset) -> dict[int, list[int]]:
    frames: dict[int, list[int]] = {}
    for index, group in enumerate(segmentation.get("PerFrameFunctionalGroupsSequence", []), start=1):
        ident = group.get("SegmentIdentificationSequence")
        if ident:
            frames.setdefault(int(ident[0].ReferencedSegmentNumber), []).append(index)
    shared = segmentation.get("SharedFunctionalGroupsSequence")
    if not frames and shared and shared[0].get("SegmentIdentificationSequence"):
        number = int(shared[0].SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        frames[number] = list(range(1, int(segmentation.get("NumberOfFrames", 1)) + 1))
    return frames


def _finding_kind(segment: Dataset) -> str:
    item = segment.SegmentedPropertyTypeCodeSequence[0]
    for kind, finding in FINDINGS.items():
        if (
            item.CodeValue == finding.code.value
            and item.CodingSchemeDesignator == finding.code.scheme_designator
        ):
            return kind
    raise ExportError(
        f"segment {segment.SegmentNumber} ({segment.get('SegmentLabel', '?')}) is a "
        f"{item.CodeMeaning!r}: not a finding mammocad reports on"
    )


def _references(segmentation: Dataset, source: Dataset) -> bool:
    for series in segmentation.get("ReferencedSeriesSequence", []):
        for instance in series.get("ReferencedInstanceSequence", []):
            if instance.ReferencedSOPInstanceUID == source.SOPInstanceUID:
                return True
    return False


def make_report(
    source: Dataset,
    segmentation: Dataset,
    *,
    probability: float,
    features: Mapping[str, float] | None = None,
    model: str | None = None,
    scenario: str | None = None,
    series_number: int = SR_SERIES_NUMBER,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> Dataset:
    """Build a Comprehensive SR (TID 1500) of a lesion's findings and its malignancy probability.

    Parameters
    ----------
    source : pydicom.Dataset
        The source image's header (:func:`mammocad.io.read_dicom_header`).
    segmentation : pydicom.Dataset
        Its SEG, from :func:`make_segmentation` (or read back): one measurement
        group per segment.
    probability : float
        Malignancy probability of the lesion, in 0..1 (the model's output); every
        group carries it.
    features : mapping, optional
        Registered feature name → value; each group gets the features of its
        finding type (``calc_*`` for microcalcifications, ``mass_*`` for the
        mass) with the registry's unit.
    model, scenario : str, optional
        The model's name and scenario, recorded as algorithm parameters.
    series_number : int
    series_instance_uid, sop_instance_uid : str, optional
        New UIDs are made where not given.

    Returns
    -------
    highdicom.sr.ComprehensiveSR
        A pydicom Dataset; ``save_as`` writes it.

    Raises
    ------
    ExportError
        If the probability is not in 0..1, a feature is unknown or not finite,
        the SEG does not reference ``source`` or holds a segment of a kind
        mammocad does not report on.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes
    from pydicom.uid import generate_uid

    from mammocad import __version__
    from mammocad.features.registry import feature_spec

    p = float(probability)
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise ExportError(f"probability must lie in 0..1, got {probability!r}")
    by_kind: dict[str, list[tuple[str, float, str]]] = {kind: [] for kind in FINDINGS}
    for name, value in (features or {}).items():
        try:
            spec = feature_spec(name)
        except FeatureError:
            raise ExportError(f"unknown feature {name!r}: not in the feature registry") from None
        number = float(value)
        if not math.isfinite(number):
            raise ExportError(f"feature {name} is not finite ({value!r})")
        by_kind[spec.group].append((name, number, spec.unit))
    if str(segmentation.get("SOPClassUID", "")) not in _SEG_CLASSES:
        raise ExportError("segmentation is not a DICOM Segmentation")
    if not _references(segmentation, source):
        raise ExportError("the SEG does not reference the source image (its SOP Instance UID)")
    orientation = segmentation.get("PatientOrientation") or patient_orientation(source)
    header = context_header(source, orientation)

    parameters = [f"{key}={value}" for key, value in (("model", model), ("scenario", scenario)) if value]
    algorithm = hd.sr.AlgorithmIdentification(
        name="mammocad", version=__version__, parameters=parameters or None
    )
    frames = _segment_frames(segmentation)
    laterality = str(header.get("ImageLaterality") or header.get("Laterality") or "").upper()
    side = {"L": codes.SCT.Left, "R": codes.SCT.Right}.get(laterality)
    groups = []
    for segment in segmentation.SegmentSequence:
        kind = _finding_kind(segment)
        number = int(segment.SegmentNumber)
        if number not in frames:
            raise ExportError(f"the SEG has no frame for segment {number}")
        frame_item = hd.sr.ImageContentItem(
            name=codes.DCM.ReferencedSegmentationFrame,
            referenced_sop_class_uid=segmentation.SOPClassUID,
            referenced_sop_instance_uid=segmentation.SOPInstanceUID,
            referenced_frame_numbers=frames[number],
            relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
        )
        reference = hd.sr.ReferencedSegmentationFrame.from_sequence(
            [frame_item, hd.sr.SourceImageForSegmentation.from_source_image(header)]
        )
        measurements = [
            hd.sr.Measurement(
                name=PROBABILITY_CONCEPT, value=p, unit=_UCUM["unitless"], algorithm_id=algorithm
            )
        ]
        measurements += [
            hd.sr.Measurement(
                name=feature_concept(name), value=value, unit=feature_unit(unit), algorithm_id=algorithm
            )
            for name, value, unit in by_kind[kind]
        ]
        groups.append(
            hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(
                    uid=segment.get("TrackingUID") or generate_uid(),
                    identifier=segment.get("TrackingID") or f"{FINDINGS[kind].label} {number}",
                ),
                referenced_segment=reference,
                finding_type=FINDINGS[kind].code,
                finding_sites=[hd.sr.FindingSite(anatomic_location=BREAST, laterality=side)],
                algorithm_id=algorithm,
                measurements=measurements,
            )
        )
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=["mammocad", __version__]),
            name="mammocad",
            manufacturer_name="mammocad",
            model_name=model or "mammocad",
        ),
    )
    # The image library entry of a projection image needs its pixel spacing and orientation.
    library = (
        [header] if header.get("Modality") not in _PROJECTION or "ImagerPixelSpacing" in header else None
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.SCT.Mammography,
        imaging_measurements=groups,
        referenced_images=library,
    )
    with quiet_copying():
        sr = hd.sr.ComprehensiveSR(
            evidence=[header, segmentation],
            content=report,
            series_instance_uid=series_instance_uid or generate_uid(),
            series_number=series_number,
            sop_instance_uid=sop_instance_uid or generate_uid(),
            instance_number=1,
            manufacturer="mammocad",
            series_description="mammocad measurement report",
        )
    scheme = Dataset()
    scheme.CodingSchemeDesignator = FEATURE_SCHEME
    scheme.CodingSchemeName = "mammocad feature registry"
    scheme.CodingSchemeResponsibleOrganization = "mammocad"
    sr.CodingSchemeIdentificationSequence = [scheme]
    return sr
