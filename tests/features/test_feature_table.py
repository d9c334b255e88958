"""The one feature table: schema, readers that agree, one validator, to_xy_groups, provenance, lock."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mammocad.errors import DatasetError, FeatureError, FeatureTableError
from mammocad.features import FEATURE_NAMES, scenario_columns
from mammocad.features.table import (
    CSV_PROVENANCE_COLUMNS,
    ID_COLUMNS,
    Provenance,
    RowProvenance,
    feature_table_lock,
    read_feature_table,
    read_provenance,
    table_columns,
    to_xy_groups,
    validate_feature_table,
    write_feature_table,
)


def _table(n: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = pd.DataFrame(
        {
            "lesion_id": [f"L{i}" for i in range(n)],
            "patient_id": [f"P{i // 2}" for i in range(n)],
            "abnormality": ["calcification", "mass"] * (n // 2),
            "pathology": ["benign", "malignant"] * (n // 2),
            "label": [0, 1] * (n // 2),
            "split": ["train"] * (n - 2) + ["test"] * 2,
        }
    )
    values = pd.DataFrame(rng.normal(size=(n, len(FEATURE_NAMES))) * 1e3, columns=list(FEATURE_NAMES))
    return pd.concat([ids, values], axis=1)


def test_schema_is_id_columns_then_the_registry():
    assert table_columns() == ID_COLUMNS + FEATURE_NAMES
    assert table_columns("mass") == ID_COLUMNS + tuple(scenario_columns("mass"))
    assert list(validate_feature_table(_table()).columns) == list(table_columns())


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_round_trip_is_exact(tmp_path, suffix):
    table = validate_feature_table(_table())
    path = tmp_path / f"f{suffix}"
    write_feature_table(table, path)
    pd.testing.assert_frame_equal(read_feature_table(path), table)


def test_parquet_and_csv_readers_agree_on_missing_values(tmp_path):
    table = _table()
    table.loc[1, ["patient_id", "split"]] = [None, np.nan]
    table.loc[2, "abnormality"] = ""
    table.loc[3, FEATURE_NAMES[5]] = np.nan
    # written by hand (not by write_feature_table), as a user's table would be
    table.to_parquet(tmp_path / "f.parquet", index=False)
    table.to_csv(tmp_path / "f.csv", index=False)
    parquet, csv = read_feature_table(tmp_path / "f.parquet"), read_feature_table(tmp_path / "f.csv")
    pd.testing.assert_frame_equal(parquet, csv)
    assert parquet.loc[1, "split"] == "" and parquet.loc[2, "abnormality"] == ""
    assert parquet.loc[1, "patient_id"] == "L1"  # a lesion of unknown patient is its own patient
    assert np.isnan(parquet.loc[3, FEATURE_NAMES[5]])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns="label"), "missing column(s) label"),
        (lambda t: t.drop(columns=list(FEATURE_NAMES)), "no feature column"),
        (lambda t: t.assign(lesion_id=["L0"] * len(t)), "'L0' appears more than once"),
        (lambda t: t.assign(lesion_id=[""] + list(t["lesion_id"][1:])), "row 0: lesion_id is empty"),
        (lambda t: t.assign(label=[0, 2, 0, 1, 0, 1]), "row 1 (lesion 'L1'): label 2 is not 0 or 1"),
        (lambda t: t.assign(label=["0", "abc", 0, 1, 0, 1]), "label 'abc' is not a number"),
        (
            lambda t: t.assign(**{FEATURE_NAMES[0]: ["x", 1, 2, 3, 4, 5]}),
            f"row 0 (lesion 'L0'): feature {FEATURE_NAMES[0]} 'x' is not a number",
        ),
    ],
)
def test_one_validator_one_exception(change, message):
    with pytest.raises(FeatureTableError, match=re.escape(message)) as err:
        validate_feature_table(change(_table()), where="t.csv")
    assert str(err.value).startswith("t.csv: ")
    # one type, caught as either family member
    assert isinstance(err.value, FeatureError) and isinstance(err.value, DatasetError)


def test_files_that_are_not_feature_tables(tmp_path):
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    with pytest.raises(FeatureTableError, match="not a mammocad feature table"):
        read_feature_table(tmp_path / "other.csv")
    with pytest.raises(FeatureTableError, match="no such feature table"):
        read_feature_table(tmp_path / "none.parquet")
    with pytest.raises(FeatureTableError, match=r"\.parquet or \.csv"):
        read_feature_table(tmp_path / "f.xlsx")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(FeatureTableError, match="cannot read"):
        read_feature_table(tmp_path / "bad.parquet")


def test_to_xy_groups():
    table = _table()
    X, y, groups = to_xy_groups(table, "calcification")
    assert X.shape == (6, 15) and X.dtype == np.float64
    np.testing.assert_array_equal(X, table[scenario_columns("calcification")].to_numpy())
    assert y.tolist() == [0, 1, 0, 1, 0, 1] and groups.tolist() == ["P0", "P0", "P1", "P1", "P2", "P2"]
    X2, _, _ = to_xy_groups(table, ["mass_area_mm2", "calc_count"])
    assert X2.shape == (6, 2) and X2[0, 1] == table.loc[0, "calc_count"]
    table.loc[4, "calc_count"] = np.inf
    with pytest.raises(
        FeatureTableError,
        match=r"NaN or infinite feature values in column\(s\) calc_count for lesion\(s\) L4",
    ):
        to_xy_groups(table, "calcification")
    X3, _, _ = to_xy_groups(table, "mass")  # other columns do not matter
    assert np.isfinite(X3).all()
    with pytest.raises(FeatureError, match="lungs"):
        to_xy_groups(table, "lungs")


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_provenance_round_trip(tmp_path, suffix):
    table = _table(4)
    rows = {f"L{i}": RowProvenance(f"in{i}", "set", "0.1.0") for i in range(3)}  # L3 has none
    provenance = Provenance(rows=rows, settings={"grid_size": 1024})
    path = tmp_path / f"f{suffix}"
    write_feature_table(table, path, provenance=provenance)
    back = read_provenance(path)
    assert dict(back.rows) == rows
    assert back.settings == ({"grid_size": 1024} if suffix == ".parquet" else {})
    assert not any(c in read_feature_table(path).columns for c in CSV_PROVENANCE_COLUMNS)
    write_feature_table(table, tmp_path / f"plain{suffix}")
    assert read_provenance(tmp_path / f"plain{suffix}") is None


def test_the_lock_refuses_a_second_writer(tmp_path):
    out = tmp_path / "features.parquet"
    with feature_table_lock(out):
        with pytest.raises(FeatureTableError, match="another run is writing this feature table"):
            with feature_table_lock(out):
                pass  # pragma: no cover
    with feature_table_lock(out):  # released: the next run may write
        pass


def test_csv_text_cells_are_written_inert_and_read_back_as_they_were(tmp_path):
    """Identifiers a spreadsheet would run (=, +, -, @) are guarded in the CSV only (issue 16)."""
    table = _table(4)
    table["lesion_id"] = ['=HYPERLINK("http://x")', "+L1", "@L2", "-3"]
    table["patient_id"] = ["=cmd|' /C calc'!A0", "=cmd|' /C calc'!A0", "P1", "P1"]
    table = validate_feature_table(table)
    rows = {lid: RowProvenance(f"in{i}", "set", "0.1.0") for i, lid in enumerate(table["lesion_id"])}
    path = tmp_path / "f.csv"
    write_feature_table(table, path, provenance=Provenance(rows=rows))
    text = path.read_text(encoding="utf-8")
    first_cells = [line.split(",")[0].strip('"') for line in text.splitlines()[1:]]
    assert first_cells == ['\'=HYPERLINK(""http://x"")', "'+L1", "'@L2", "-3"]  # "-3" is a number
    pd.testing.assert_frame_equal(read_feature_table(path), table)
    assert dict(read_provenance(path).rows) == rows  # resume still finds every row
