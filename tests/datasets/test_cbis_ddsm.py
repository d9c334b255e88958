"""The CBIS-DDSM adapter: the four real tables, and a small replica of TCIA's folder layout."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from skimage.measure import regionprops

from mammocad.datasets import LESION_COLUMNS, load_cbis_ddsm, roi_from_mask
from mammocad.errors import DatasetError

TABLES = {
    "calc_case_description_train_set.csv": (
        1546,
        602,
        {"MALIGNANT": 544, "BENIGN": 528, "BENIGN_WITHOUT_CALLBACK": 474},
    ),
    "calc_case_description_test_set.csv": (
        326,
        151,
        {"MALIGNANT": 129, "BENIGN": 130, "BENIGN_WITHOUT_CALLBACK": 67},
    ),
    "mass_case_description_train_set.csv": (
        1318,
        691,
        {"MALIGNANT": 637, "BENIGN": 577, "BENIGN_WITHOUT_CALLBACK": 104},
    ),
    "mass_case_description_test_set.csv": (
        378,
        201,
        {"MALIGNANT": 147, "BENIGN": 194, "BENIGN_WITHOUT_CALLBACK": 37},
    ),
}


@pytest.fixture(scope="module")
def cbis_dir(data_root: Path) -> Path:
    folder = data_root / "cbis-ddsm-tables"
    if not all((folder / name).is_file() for name in TABLES):
        pytest.skip(f"CBIS-DDSM tables not found under {folder}")
    return folder


@pytest.fixture(scope="module")
def real_tables(cbis_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("no-images")
    return {name: load_cbis_ddsm(cbis_dir / name, root) for name in TABLES}


@pytest.mark.realdata
@pytest.mark.parametrize("name", list(TABLES))
def test_real_tables_counts(real_tables: dict, name: str) -> None:
    rows, patients, pathology = TABLES[name]
    table = real_tables[name]
    assert list(table.columns[: len(LESION_COLUMNS)]) == list(LESION_COLUMNS)
    assert len(table) == rows
    assert table["patient_id"].nunique() == patients
    assert table["cbis_pathology"].value_counts().to_dict() == pathology
    assert (table["pathology"] == "malignant").sum() == pathology["MALIGNANT"]
    assert (table["pathology"] == "benign").sum() == pathology["BENIGN"] + pathology[
        "BENIGN_WITHOUT_CALLBACK"
    ]
    assert set(table["split"]) == {"train" if "train" in name else "test"}
    assert set(table["abnormality"]) == {"calcification" if name.startswith("calc") else "mass"}
    assert set(table["laterality"]) == {"L", "R"} and set(table["view"]) == {"CC", "MLO"}
    # No images here: nominal TCIA paths kept, ROI unknown.
    assert not table["image_found"].any() and table[["x", "y", "radius"]].isna().all().all()
    for column in ("image_path", "mask_path", "cropped_path"):
        assert not table[column].str.contains("\n").any()  # embedded newlines stripped
        assert table[column].str.endswith(".dcm").all()
    # Both spellings of the density column land in one metadata column.
    assert table["breast_density"].between(0, 4).all()


@pytest.mark.realdata
def test_real_tables_together(cbis_dir: Path, real_tables: dict, tmp_path: Path) -> None:
    ids = pd.concat([t["lesion_id"] for t in real_tables.values()])
    assert len(ids) == 3568 and ids.is_unique  # unique across the four tables
    test_sets = [
        cbis_dir / "calc_case_description_test_set.csv",
        cbis_dir / "mass_case_description_test_set.csv",
    ]
    table = load_cbis_ddsm(test_sets, tmp_path)
    assert len(table) == 326 + 378
    assert table["abnormality"].value_counts().to_dict() == {"mass": 378, "calcification": 326}
    first = table.set_index("lesion_id").loc["Calc-Test_P_00038_LEFT_CC_1"]
    assert (first["patient_id"], first["laterality"], first["view"]) == ("P_00038", "L", "CC")
    assert first["image_path"].startswith(str(tmp_path.resolve() / "Calc-Test_P_00038_LEFT_CC"))


# --- a replica of the TCIA layout written here ----------------------------------------

HEADER = [
    "patient_id",
    "breast density",
    "left or right breast",
    "image view",
    "abnormality id",
    "abnormality type",
    "calc type",
    "calc distribution",
    "assessment",
    "pathology",
    "subtlety",
    "image file path",
    "cropped image file path",
    "ROI mask file path",
]
SHAPE = (60, 40)


def write_dicom(path: Path, pixels: np.ndarray) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture, as TCIA's
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelData = pixels.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def disc(shape: tuple[int, int], x: float, y: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (xx - x) ** 2 + (yy - y) ** 2 <= r**2


def grey(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(100, 4000, size=shape, dtype=np.uint16)


@pytest.fixture
def replica(tmp_path: Path) -> tuple[Path, Path]:
    """Three lesions in TCIA's layout and one whose files are absent."""
    root = tmp_path / "CBIS-DDSM"
    uid = "1.3.6.1.4.1.9590.100.1.2"
    rows = []

    # 1: published layout, mask at 000000.dcm as the table says; embedded newline in the crop path.
    full = f"Calc-Training_P_00005_RIGHT_CC/{uid}.1/{uid}.2/000000.dcm"
    roi = f"Calc-Training_P_00005_RIGHT_CC_1/{uid}.3/{uid}.4"
    write_dicom(root / full, grey(SHAPE, 1))
    write_dicom(root / roi / "000000.dcm", np.where(disc(SHAPE, 20, 30, 6), 255, 0).astype(np.uint8))
    write_dicom(root / roi / "000001.dcm", grey((13, 13), 2))
    rows.append(
        [
            "P_00005",
            "3",
            "RIGHT",
            "CC",
            "1",
            "calcification",
            "AMORPHOUS",
            "CLUSTERED",
            "3",
            "MALIGNANT",
            "3",
            full,
            f"{roi}/000001.dcm\n",
            f"{roi}/000000.dcm",
        ]
    )

    # 2: the table's "mask" is really the crop (swapped, as in many real rows); mask elsewhere in
    # the series: chosen by content. The crop here is grey, the mask binary.
    full = f"Calc-Training_P_00005_RIGHT_MLO/{uid}.5/{uid}.6/000000.dcm"
    roi = f"Calc-Training_P_00005_RIGHT_MLO_1/{uid}.7/{uid}.8"
    write_dicom(root / full, grey(SHAPE, 3))
    mask2 = np.zeros(SHAPE, dtype=np.uint8)
    mask2[10:16, 5:25] = 255  # a 6 x 20 rectangle
    write_dicom(root / roi / "000001.dcm", mask2)
    write_dicom(root / roi / "000000.dcm", grey((6, 20), 4))
    rows.append(
        [
            "P_00005",
            "3",
            "RIGHT",
            "MLO",
            "1",
            "calcification",
            "AMORPHOUS",
            "CLUSTERED",
            "3",
            "BENIGN_WITHOUT_CALLBACK",
            "2",
            full,
            f"{roi}/000001.dcm",
            f"{roi}/000000.dcm\n",
        ]
    )

    # 3: downloaded with the NBIA Data Retriever: another tree under the same series folder.
    full = f"Calc-Training_P_00007_LEFT_CC/{uid}.9/{uid}.10/000000.dcm"
    roi = f"Calc-Training_P_00007_LEFT_CC_1/{uid}.11/{uid}.12"
    nbia_full = root / "Calc-Training_P_00007_LEFT_CC" / "08-07-2016-DDSM-99" / "1.000000-full mammogram-1"
    write_dicom(nbia_full / "1-1.dcm", grey(SHAPE, 5))
    nbia_roi = root / "Calc-Training_P_00007_LEFT_CC_1" / "09-06-2017-DDSM-98"
    write_dicom(
        nbia_roi / "1.000000-ROI mask images-2" / "1-1.dcm",
        np.where(disc(SHAPE, 30, 45, 3), 1, 0).astype(np.uint8),
    )
    write_dicom(nbia_roi / "1.000001-cropped images-3" / "1-1.dcm", grey((7, 7), 6))
    rows.append(
        [
            "P_00007",
            "4",
            "LEFT",
            "CC",
            "1",
            "calcification",
            "PLEOMORPHIC",
            "LINEAR",
            "4",
            "BENIGN",
            "4",
            full,
            f"{roi}/000001.dcm",
            f"{roi}/000000.dcm",
        ]
    )

    # 4: a mirror with the published paths, image as .png, mask as (lossy) .jpg.
    full = f"Calc-Training_P_00008_LEFT_MLO/{uid}.13/{uid}.14/000000.dcm"
    roi = f"Calc-Training_P_00008_LEFT_MLO_1/{uid}.15/{uid}.16"
    (root / full).parent.mkdir(parents=True)
    Image.fromarray((grey(SHAPE, 7) // 16).astype(np.uint8)).save((root / full).with_suffix(".png"))
    (root / roi).mkdir(parents=True)
    Image.fromarray(np.where(disc(SHAPE, 10, 10, 4), 255, 0).astype(np.uint8)).save(
        root / roi / "000000.jpg", quality=90
    )
    rows.append(
        [
            "P_00008",
            "2",
            "LEFT",
            "MLO",
            "1",
            "calcification",
            "PUNCTATE",
            "CLUSTERED",
            "2",
            "BENIGN",
            "5",
            full,
            f"{roi}/000001.dcm",
            f"{roi}/000000.dcm",
        ]
    )

    # 5: images not downloaded.
    rows.append(
        [
            "P_00009",
            "1",
            "LEFT",
            "CC",
            "2",
            "calcification",
            "",
            "",
            "2",
            "BENIGN",
            "5",
            f"Calc-Training_P_00009_LEFT_CC/{uid}/{uid}/000000.dcm",
            f"Calc-Training_P_00009_LEFT_CC_2/{uid}/{uid}/000001.dcm",
            f"Calc-Training_P_00009_LEFT_CC_2/{uid}/{uid}/000000.dcm",
        ]
    )

    table = tmp_path / "calc_case_description_train_set.csv"
    with table.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return table, root


def test_replica_rois_from_masks(replica: tuple[Path, Path]) -> None:
    table_path, root = replica
    table = load_cbis_ddsm([table_path], root).set_index("lesion_id")
    assert list(table.index) == [
        "Calc-Training_P_00005_RIGHT_CC_1",
        "Calc-Training_P_00005_RIGHT_MLO_1",
        "Calc-Training_P_00007_LEFT_CC_1",
        "Calc-Training_P_00008_LEFT_MLO_1",
        "Calc-Training_P_00009_LEFT_CC_2",
    ]
    assert table["image_found"].tolist() == [True, True, True, True, False]
    assert table["mask_found"].tolist() == [True, True, True, True, False]

    one = table.iloc[0]
    assert (one["x"], one["y"]) == pytest.approx((20.0, 30.0))
    assert one["radius"] == pytest.approx(6.5)
    assert one["mask_path"].endswith("000000.dcm") and one["image_path"].endswith("000000.dcm")
    assert (one["pathology"], one["cbis_pathology"], one["split"]) == ("malignant", "MALIGNANT", "train")

    two = table.iloc[1]
    assert two["mask_path"].endswith("000001.dcm")  # the swapped row: the binary file was chosen
    props = regionprops(np.pad(np.ones((6, 20), np.uint8), ((10, 44), (5, 15))))[0]
    assert (two["y"], two["x"]) == pytest.approx(props.centroid)
    assert two["radius"] == pytest.approx(math.hypot(2.5, 9.5) + 0.5)  # farthest pixel centre
    assert (two["pathology"], two["cbis_pathology"]) == ("benign", "BENIGN_WITHOUT_CALLBACK")

    three = table.iloc[2]
    assert "ROI mask images" in three["mask_path"] and "full mammogram" in three["image_path"]
    assert (three["x"], three["y"], three["radius"]) == pytest.approx((30.0, 45.0, 3.5))

    four = table.iloc[3]
    assert four["image_path"].endswith(".png") and four["mask_path"].endswith("000000.jpg")
    assert (four["x"], four["y"]) == pytest.approx((10.0, 10.0))

    five = table.iloc[4]
    assert math.isnan(five["x"]) and five["mask_path"].endswith(
        "Calc-Training_P_00009_LEFT_CC_2/1.3.6.1.4.1.9590.100.1.2/1.3.6.1.4.1.9590.100.1.2/000000.dcm"
    )
    # Every ROI encloses its mask.
    for _, row in table.iloc[:4].iterrows():
        from mammocad.io import ROI, read_mammogram

        pixels = read_mammogram(row["mask_path"]).pixels
        mask = pixels > pixels.max() / 2  # the JPEG mask has faint noise around the disc
        inside = ROI(row["x"], row["y"], row["radius"]).mask(mask.shape)
        assert mask.sum() > 0 and not (mask & ~inside).any()


def test_roi_from_mask() -> None:
    assert all(math.isnan(v) for v in roi_from_mask(np.zeros((4, 4), bool)))
    x, y, r = roi_from_mask(disc((50, 50), 20, 25, 10))
    assert (x, y) == pytest.approx((20, 25)) and r == pytest.approx(10.5)


def _table_with(tmp_path: Path, header: list[str], row: list[str]) -> Path:
    path = tmp_path / "mass_case_description_test_set.csv"
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows([header, row])
    return path


GOOD_ROW = [
    "P_1",
    "2",
    "LEFT",
    "CC",
    "1",
    "calcification",
    "",
    "",
    "3",
    "BENIGN",
    "3",
    "Calc-Test_P_1_LEFT_CC/a/b/000000.dcm",
    "Calc-Test_P_1_LEFT_CC_1/a/b/000001.dcm",
    "Calc-Test_P_1_LEFT_CC_1/a/b/000000.dcm",
]


@pytest.mark.parametrize(
    ("index", "value", "message"),
    [
        (9, "MAYBE", "unknown pathology 'MAYBE'"),
        (5, "tumour", "unknown abnormality type 'tumour'"),
        (2, "BOTH", "LEFT or RIGHT"),
        (13, "", "'ROI mask file path' is empty"),
    ],
)
def test_malformed_row_names_file_and_line(tmp_path: Path, index: int, value: str, message: str) -> None:
    row = list(GOOD_ROW)
    row[index] = value
    path = _table_with(tmp_path, HEADER, row)
    with pytest.raises(DatasetError, match=message) as info:
        load_cbis_ddsm(path, tmp_path)
    assert f"{path}: line 2" in str(info.value)


def test_missing_column_and_duplicates(tmp_path: Path) -> None:
    path = _table_with(tmp_path, HEADER[:-1], GOOD_ROW[:-1])
    with pytest.raises(DatasetError, match="missing column.*ROI mask file path"):
        load_cbis_ddsm(path, tmp_path)
    path = _table_with(tmp_path, HEADER, GOOD_ROW)
    with pytest.raises(DatasetError, match="already listed"):
        load_cbis_ddsm([path, path], tmp_path)
    with pytest.raises(DatasetError, match="no CBIS-DDSM"):
        load_cbis_ddsm([], tmp_path)
    table = load_cbis_ddsm(path, tmp_path)
    assert table.loc[0, "split"] == "test"  # from the file name


def test_paths_that_would_leave_the_image_root_are_never_searched(tmp_path: Path) -> None:
    from mammocad.datasets.cbis_ddsm import _find_image, _series_folder

    outside = tmp_path / "outside"
    (outside / "a").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(outside / "a" / "000000.png")
    root = tmp_path / "root"
    root.mkdir()
    assert (
        _series_folder(root, "Calc-Training_P_1_LEFT_CC/x/y/000000.dcm") == root / "Calc-Training_P_1_LEFT_CC"
    )
    for rel in ("../outside/a/000000.png", str(outside / "a" / "000000.png"), ""):
        assert _series_folder(root, rel) is None
        assert _find_image(root, rel) is None
