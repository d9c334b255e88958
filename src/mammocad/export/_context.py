"""What the SEG and the SR share: the findings and their codes, and the source's context.

Both objects copy the source image's patient and study context (highdicom copies
the Patient and General Study modules) and reference it. Real archives hold values
that are invalid for their value representation (GE writes Patient's Birth Date
``00000000``); copied, they would make the new object invalid, so
:func:`context_header` gives a copy of the header in which such values are empty,
as type-2 attributes allow, and in which Patient Orientation is the one the SEG
declares.
"""

from __future__ import annotations

import contextlib
import copy
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pydicom import Dataset
from pydicom.sr.coding import Code

from mammocad.errors import ExportError
from mammocad.segment.overlay import CALCIFICATION_COLOUR, MASS_COLOUR

__all__ = [
    "FINDING_TYPES",
    "FindingCode",
    "FINDINGS",
    "SEGMENT_CATEGORY",
    "BREAST",
    "context_header",
    "patient_orientation",
    "quiet_copying",
]

#: The kinds of finding mammocad segments and reports, in segment order.
FINDING_TYPES: tuple[str, ...] = ("calcification", "mass")


@dataclass(frozen=True)
class FindingCode:
    """How one kind of finding is named in a SEG segment and an SR measurement group.

    Parameters
    ----------
    label : str
        Segment Label and the prefix of the tracking identifier.
    code : pydicom.sr.coding.Code
        Segmented Property Type (SEG) and Finding (SR): from DICOM CID 6014
        "Mammography Single Image Finding".
    rgb : (int, int, int)
        Recommended display colour of the segment: the colour of
        :func:`mammocad.segment.render_overlay`.
    """

    label: str
    code: Code
    rgb: tuple[int, int, int]


FINDINGS: dict[str, FindingCode] = {
    "calcification": FindingCode(
        "Microcalcifications", Code("129769006", "SCT", "Calcification Cluster"), CALCIFICATION_COLOUR
    ),
    "mass": FindingCode("Mass", Code("4147007", "SCT", "Mass"), MASS_COLOUR),
}

#: Segmented Property Category of every segment (DICOM CID 7150).
SEGMENT_CATEGORY = Code("49755003", "SCT", "Morphologically Abnormal Structure")
#: Anatomic region of every segment.
BREAST = Code("76752008", "SCT", "Breast")

# Patient and study attributes a new object copies that must be present (type 2).
_TYPE2_CONTEXT = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)
_REQUIRED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "Rows", "Columns")
_TEXT_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI"})
_ORIENTATION = re.compile(r"^[LRAPHF]{1,3}$")


def _valid(vr: str, value: object) -> bool:
    from pydicom import config
    from pydicom.valuerep import DA, DT, TM, validate_value

    text = str(value)
    try:
        validate_value(vr, text, config.RAISE)
        if vr in ("DA", "DT", "TM"):
            # The regular expressions accept digits that are no date (00000000).
            {"DA": DA, "DT": DT, "TM": TM}[vr](text)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def context_header(source: Dataset, orientation: Sequence[str] | None = None) -> Dataset:
    """A copy of ``source`` that a new object can copy its context from validly.

    Text values invalid for their value representation are emptied, missing
    type-2 patient/study attributes are added empty, and Patient Sex other than
    ``M``, ``F`` or ``O`` is emptied. ``orientation``, where given, replaces
    Patient Orientation.

    Raises
    ------
    ExportError
        If ``source`` lacks an identifier a reference needs, or one is invalid.
    """
    missing = [k for k in _REQUIRED if not source.get(k)]
    if missing:
        raise ExportError(f"source image lacks {', '.join(missing)}; DICOM output cannot reference it")
    header = copy.deepcopy(source)
    with quiet_copying():  # values pydicom warns about as it decodes them are emptied here
        elements = list(header)
    for elem in elements:
        if elem.tag.is_private or elem.VR not in _TEXT_VRS or elem.value in (None, ""):
            continue
        values = list(elem.value) if elem.VM > 1 else [elem.value]
        if not all(v in (None, "") or _valid(elem.VR, v) for v in values):
            if elem.keyword in _REQUIRED or elem.keyword.endswith("UID"):
                # The value is not quoted: a UID identifies the study or the patient's image.
                raise ExportError(f"source image has an invalid {elem.keyword} (not a valid {elem.VR} value)")
            elem.value = None
    for keyword in _TYPE2_CONTEXT:
        if keyword not in header:
            setattr(header, keyword, None)
    if str(header.get("PatientSex") or "") not in ("", "M", "F", "O"):
        header.PatientSex = None
    if orientation is not None:
        header.PatientOrientation = list(orientation)
    return header


def _valid_orientation(value: object) -> list[str] | None:
    if value is None or isinstance(value, str):
        return None
    values = [str(v).strip().upper() for v in value]  # type: ignore[attr-defined]
    if len(values) == 2 and all(_ORIENTATION.match(v) for v in values):
        return values
    return None


def patient_orientation(
    source: Dataset,
    *,
    laterality: str | None = None,
    view: str | None = None,
    chest_wall: str | None = None,
) -> list[str]:
    """Patient Orientation (row direction, column direction) of a mammogram.

    The source's own Patient Orientation where it is valid; else derived from
    laterality, view and the side of the chest wall: along a row the image runs
    towards the nipple (``A``) when the chest wall is at the left edge, else
    towards the chest wall (``P``); down a column a CC view runs from lateral to
    medial (``L`` for a right breast, ``R`` for a left one) and an MLO view also
    towards the feet (``FL``, ``FR``), ML and LM views towards the feet (``F``),
    as in the usual hanging with the lateral side up.

    Parameters
    ----------
    source : pydicom.Dataset
        The image's header.
    laterality : {"L", "R"}, optional
        Overrides Image Laterality / Laterality of ``source``.
    view : str, optional
        ``CC``, ``MLO``, ``ML``, ``LM`` (also ``XCCL``, ``XCCM``, ``LMO``); overrides
        View Position of ``source`` (and a view name written into Patient
        Orientation, as CBIS-DDSM does).
    chest_wall : {"left", "right"}, optional
        Image edge the chest wall is on, as found in the pixels
        (:func:`mammocad.segment.chest_wall_side`); default: the usual display
        convention (right breast, right edge).

    Returns
    -------
    list of str
        Two values, e.g. ``["P", "FL"]``.

    Raises
    ------
    ExportError
        If the source has no valid orientation and the laterality or the view is
        unknown, so that none can be derived.
    """
    own = _valid_orientation(source.get("PatientOrientation"))
    if own is not None:
        return own
    side = (laterality or source.get("ImageLaterality") or source.get("Laterality") or "").strip().upper()
    written = source.get("PatientOrientation")
    written_view = written if isinstance(written, str) else ""
    projection = (view or source.get("ViewPosition") or written_view or "").strip().upper()
    if side not in ("L", "R"):
        raise ExportError(
            "the source image has no valid Patient Orientation and no laterality (L or R) to derive one "
            "from; give the laterality"
        )
    wall = chest_wall or ("right" if side == "R" else "left")
    if wall not in ("left", "right"):
        raise ExportError(f"chest_wall must be 'left' or 'right', got {chest_wall!r}")
    row = "A" if wall == "left" else "P"
    medial = "L" if side == "R" else "R"
    if projection in ("CC", "XCCL", "XCCM"):
        column = medial
    elif projection in ("MLO", "LMO"):
        column = "F" + medial
    elif projection in ("ML", "LM"):
        column = "F"
    else:
        raise ExportError(
            "the source image has no valid Patient Orientation and its view "
            f"({projection or 'unknown'}) does not give one; give the view (CC or MLO)"
        )
    return [row, column]


@contextlib.contextmanager
def quiet_copying() -> Iterator[None]:
    """Silence the warnings about source values that the new object handles itself.

    highdicom warns about a one-component Patient's Name: archives write names
    like ``ANON-1234`` and the new object copies the name as the source has it,
    which is right. pydicom warns, as it decodes the header, about values invalid
    for their value representation (GE's 38-character Short String, a Birth Date
    ``00000000``): :func:`context_header` empties those, and the warnings would
    quote patient data on the terminal. Neither tells the user anything to do.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*unlikely to represent the intended person name")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"pydicom\.valuerep")
        yield
