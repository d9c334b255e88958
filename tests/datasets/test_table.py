"""The lesion table: validation of every row, path resolution, atomic round trip."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mammocad.datasets import (
    ABNORMALITIES,
    LESION_COLUMNS,
    PATHOLOGIES,
    lesion_frame,
    read_lesion_table,
    summarise,
    write_lesion_table,
)
from mammocad.errors import DatasetError

HEADER = ",".join(LESION_COLUMNS) + ",tissue,birads"
GOOD = [
    "a1,p1,img/a.png,L,CC,calcification,10,20,5,,benign,0.1,train,F,3",
    "a2,p1,img/a.png,R,MLO,mass,,,,masks/a2.png,MALIGNANT,,test,G,4",
    "a3,p2,/abs/b.png,,,other,0,0,1.5,,benign,,,D,",
]


def write_csv(folder: Path, rows: list[str], header: str = HEADER, name: str = "lesions.csv") -> Path:
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_columns_are_the_contract() -> None:
    assert LESION_COLUMNS == (
        "lesion_id",
        "patient_id",
        "image_path",
        "laterality",
        "view",
        "abnormality",
        "x",
        "y",
        "radius",
        "mask_path",
        "pathology",
        "pixel_spacing_mm",
        "split",
    )


def test_read_normalises_and_resolves(tmp_path: Path) -> None:
    table = read_lesion_table(write_csv(tmp_path, GOOD))
    assert list(table.columns) == [*LESION_COLUMNS, "tissue", "birads"]
    assert table["lesion_id"].tolist() == ["a1", "a2", "a3"]
    assert table.loc[0, "image_path"] == str(tmp_path.resolve() / "img" / "a.png")
    assert table.loc[1, "mask_path"] == str(tmp_path.resolve() / "masks" / "a2.png")
    assert table.loc[2, "image_path"] == "/abs/b.png"
    assert table.loc[1, "pathology"] == "malignant"  # case normalised
    assert table["x"].dtype == np.float64 and math.isnan(table.loc[1, "x"])
    assert (table.loc[2, "x"], table.loc[2, "y"], table.loc[2, "radius"]) == (0.0, 0.0, 1.5)
    assert table["laterality"].tolist() == ["L", "R", ""]
    assert table["split"].tolist() == ["train", "test", ""]
    assert table["tissue"].tolist() == ["F", "G", "D"]
    assert table["birads"].iloc[:2].tolist() == [3.0, 4.0] and math.isnan(table["birads"].iloc[2])


def test_round_trip_is_atomic_and_relative(tmp_path: Path) -> None:
    table = read_lesion_table(write_csv(tmp_path, GOOD))
    out = tmp_path / "out" / "copy.csv"
    write_lesion_table(table, out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["copy.csv"]  # no temp file left
    text = out.read_text()
    assert "/abs/b.png" in text and str(tmp_path) in text  # outside its folder: absolute
    again = read_lesion_table(out)
    pd.testing.assert_frame_equal(again, table)

    inside = tmp_path / "lesions2.csv"
    write_lesion_table(table, inside)
    assert ",img/a.png," in inside.read_text()  # under the table's folder: relative


def test_write_refuses_invalid_table(tmp_path: Path) -> None:
    table = read_lesion_table(write_csv(tmp_path, GOOD))
    with pytest.raises(DatasetError, match="lacks column"):
        write_lesion_table(table.drop(columns=["pathology"]), tmp_path / "x.csv")
    bad = table.copy()
    bad.loc[1, "abnormality"] = "tumour"
    with pytest.raises(DatasetError, match="row 2: unknown abnormality"):
        write_lesion_table(bad, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("b1,p1,a.png,L,CC,tumour,1,2,3,,benign,,", "unknown abnormality 'tumour'"),
        ("b1,p1,a.png,L,CC,mass,1,2,3,,unsure,,", "unknown pathology 'unsure'"),
        ("b1,p1,a.png,L,CC,mass,one,2,3,,benign,,", "x must be a number"),
        ("b1,p1,a.png,L,CC,mass,-1,2,3,,benign,,", "must not be negative"),
        ("b1,p1,a.png,L,CC,mass,1,-2,3,,benign,,", "must not be negative"),
        ("b1,p1,a.png,L,CC,mass,1,2,0,,benign,,", "radius must be > 0"),
        ("b1,p1,a.png,L,CC,mass,1,2,-4,,benign,,", "radius must be > 0"),
        ("b1,p1,a.png,L,CC,mass,1,2,inf,,benign,,", "finite"),
        ("b1,p1,a.png,L,CC,mass,1,,3,,benign,,", "given together"),
        ("b1,p1,a.png,X,CC,mass,1,2,3,,benign,,", "laterality"),
        ("b1,p1,a.png,L,AP,mass,1,2,3,,benign,,", "unknown view"),
        ("b1,p1,a.png,L,CC,mass,1,2,3,,benign,-0.1,", "pixel_spacing_mm must be > 0"),
        ("b1,p1,a.png,L,CC,mass,1,2,3,,benign,,val", "split must be"),
        ("b1,,a.png,L,CC,mass,1,2,3,,benign,,", "patient_id is empty"),
        ("b1,p1,,L,CC,mass,1,2,3,,benign,,", "image_path is empty"),
        ("a1,p1,a.png,L,CC,mass,1,2,3,,benign,,", "duplicate lesion_id 'a1' \\(first on line 2\\)"),
        ("b1,p1,a.png,L,CC,mass,1,2,3,,benign", "11 fields, expected 13"),
    ],
)
def test_bad_row_names_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    header = ",".join(LESION_COLUMNS)
    first = "a1,p1,a.png,L,CC,mass,1,2,3,,benign,,"
    path = write_csv(tmp_path, [first, "", row], header=header)  # blank line 3 is skipped
    with pytest.raises(DatasetError, match=message) as info:
        read_lesion_table(path)
    assert f"{path}: line 4" in str(info.value)


def test_line_numbers_count_embedded_newlines(tmp_path: Path) -> None:
    header = ",".join(LESION_COLUMNS) + ",note"
    rows = ['a1,p1,a.png,L,CC,mass,1,2,3,,benign,,,"two\nlines"', "a2,p1,a.png,L,CC,mass,1,2,3,,bad,,,x"]
    path = write_csv(tmp_path, rows, header=header)
    with pytest.raises(DatasetError, match=r"line 4: unknown pathology"):
        read_lesion_table(path)


def test_missing_columns_named(tmp_path: Path) -> None:
    header = ",".join(c for c in LESION_COLUMNS if c not in ("radius", "pathology", "split"))
    path = write_csv(tmp_path, ["a1,p1,a.png,L,CC,mass,1,2,,"], header=header)
    with pytest.raises(DatasetError, match="missing column\\(s\\) radius, pathology in the header") as info:
        read_lesion_table(path)
    assert str(path) in str(info.value)
    assert "split" not in str(info.value).split(";")[0]  # optional: not demanded


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), (b"", "file is empty"), (b"\xff\xfe\x00bad", "not a UTF-8")],
)
def test_unreadable_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "t.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        read_lesion_table(path)


def test_check_files(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"x")
    path = write_csv(tmp_path, GOOD[:1])
    assert len(read_lesion_table(path, check_files=True)) == 1
    path = write_csv(tmp_path, GOOD[:2])
    with pytest.raises(DatasetError, match=r"line 3: mask_path .*a2.png does not exist"):
        read_lesion_table(path, check_files=True)


def test_lesion_frame_and_summary() -> None:
    rows = [
        {
            "lesion_id": "x",
            "patient_id": "p",
            "image_path": "i.png",
            "abnormality": "Mass",
            "pathology": "benign",
            "extra": 1,
        },
        {
            "lesion_id": "y",
            "patient_id": "q",
            "image_path": "i.png",
            "abnormality": "calcification",
            "pathology": "malignant",
            "x": 3,
            "y": 4,
            "radius": 2,
            "extra": 2,
        },
    ]
    table = lesion_frame(rows)
    assert list(table.columns) == [*LESION_COLUMNS, "extra"]
    assert table["extra"].dtype == np.int64
    assert table.loc[0, "mask_path"] == "" and math.isnan(table.loc[0, "radius"])
    assert (
        summarise(table) == "2 lesions, 2 patients; calcification 1, mass 1, other 0; benign 1, malignant 1"
    )
    with pytest.raises(DatasetError, match="my source: row 2: duplicate lesion_id 'x'"):
        lesion_frame([rows[0], rows[0]], source="my source")
    empty = lesion_frame([])
    assert list(empty.columns) == list(LESION_COLUMNS) and len(empty) == 0


_names = st.text(alphabet='abcXYZ019_-. ,"', min_size=1, max_size=8).filter(lambda s: s.strip() == s)
_coord = st.one_of(st.none(), st.tuples(st.floats(0, 5000), st.floats(0, 5000), st.floats(0.01, 900)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            _names,
            _names,
            _coord,
            st.sampled_from(ABNORMALITIES),
            st.sampled_from(PATHOLOGIES),
            st.sampled_from(["", "L", "R"]),
            st.sampled_from(["", "train", "test"]),
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda r: r[0],
    )
)
def test_write_read_round_trip_property(tmp_path: Path, rows: list) -> None:
    records = []
    for lesion_id, patient, roi, abnormality, pathology, side, split in rows:
        x, y, r = roi if roi is not None else (math.nan, math.nan, math.nan)
        records.append(
            {
                "lesion_id": lesion_id,
                "patient_id": patient,
                "image_path": f"/data/{patient}.png",
                "laterality": side,
                "abnormality": abnormality,
                "x": x,
                "y": y,
                "radius": r,
                "pathology": pathology,
                "split": split,
                "note": f"n{lesion_id}",
            }
        )
    table = lesion_frame(records)
    path = tmp_path / "rt.csv"
    write_lesion_table(table, path)
    again = read_lesion_table(path)
    pd.testing.assert_frame_equal(again, table, check_exact=False, rtol=1e-9)


def test_metadata_types(tmp_path: Path) -> None:
    header = ",".join(LESION_COLUMNS) + ",case,score,flag,mixed"
    rows = ["a1,p1,a.png,,,mass,,,,,benign,,,007,1,True,x", "a2,p1,a.png,,,mass,,,,,benign,,,012,2.5,False,3"]
    table = read_lesion_table(write_csv(tmp_path, rows, header=header))
    assert table["case"].tolist() == ["007", "012"]  # identifiers keep their zeros
    assert table["score"].tolist() == [1.0, 2.5] and table["score"].dtype == np.float64
    assert table["flag"].tolist() == [True, False] and table["flag"].dtype == bool
    assert table["mixed"].tolist() == ["x", "3"]
