"""Hostile model directories (issue 16, model integrity): each refused with a clean ModelError.

Every directory is built here: a genuine model is saved, then one file is changed as a
careless user or an attacker would. Where the change is meant to get past the hash, the
manifest is rewritten too, so the test shows what the allow-list itself refuses.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from mammocad.errors import ModelError
from mammocad.models import load_model, make_model, save_model
from mammocad.models.persistence import CONFIG_FILE, MANIFEST_FILE

NAMES = [f"f{i}" for i in range(6)]


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    y = (X[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def models() -> dict[str, object]:
    X, y = _data()
    fast = dict(hidden_layer_sizes=(8, 4), pretrain_epochs=2, finetune_epochs=10)
    return {
        name: make_model(name, **(fast if name == "sae" else {})).fit(X, y)
        for name in ("sae", "svm", "knn", "logreg", "hgb")
    }


def _save(tmp_path: Path, model, names=NAMES) -> Path:
    return save_model(tmp_path / "model", model, feature_names=names)


def _write(model_dir: Path, name: str, data: bytes, *, rehash: bool = True) -> None:
    """Replace one file; with ``rehash`` also record its new SHA-256 in the manifest."""
    (model_dir / name).write_bytes(data)
    if rehash:
        manifest = json.loads((model_dir / MANIFEST_FILE).read_text())
        manifest["files"][name] = hashlib.sha256(data).hexdigest()
        (model_dir / MANIFEST_FILE).write_text(json.dumps(manifest))


def _edit_config(model_dir: Path, edit, *, rehash: bool = True) -> None:
    config = json.loads((model_dir / CONFIG_FILE).read_text())
    edit(config)
    _write(model_dir, CONFIG_FILE, json.dumps(config, indent=2).encode(), rehash=rehash)


def _write_step(model_dir: Path, name: str, estimator) -> None:
    estimator.__dict__.pop("_tree", None)  # as mammocad writes a KNN, so that the check shown is the next one
    _write(model_dir, name, sio.dumps(estimator))


def _refused(model_dir: Path, pattern: str) -> str:
    with pytest.raises(ModelError, match=pattern) as info:
        load_model(model_dir)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# ----------------------------------------------------------- the manifest


def test_reversed_feature_names_fail_loudly(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["svm"])
    lesion = {name: 0.3 * i for i, name in enumerate(NAMES)}
    before = load_model(out).predict_proba_malignant(lesion)
    _edit_config(out, lambda c: c.update(feature_names=c["feature_names"][::-1]), rehash=False)
    message = _refused(out, r"model\.json: SHA-256 .* recorded in manifest\.json")
    assert str(out / CONFIG_FILE) in message
    assert 0 <= before[0] <= 1


@pytest.mark.parametrize("name", ["scale.skops", "clf.skops", MANIFEST_FILE])
def test_any_changed_byte_is_refused_naming_the_file(tmp_path: Path, models, name: str) -> None:
    out = _save(tmp_path, models["logreg"])
    data = bytearray((out / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (out / name).write_bytes(bytes(data))
    with pytest.raises(ModelError) as info:
        load_model(out)
    assert name in str(info.value)


def test_truncated_sae_weights_are_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["sae"])
    weights = out / "clf.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    _refused(out, r"clf\.safetensors: SHA-256 .*modified, truncated or replaced")


def test_missing_listed_file_and_missing_manifest(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["logreg"])
    (out / "scale.skops").unlink()
    _refused(out, r"scale\.skops: missing")
    (out / MANIFEST_FILE).unlink()
    _refused(out, "manifest.json is missing")
    with pytest.raises(ModelError, match="no such model directory"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="not a mammocad model directory"):
        load_model(tmp_path / "empty")


@pytest.mark.parametrize(
    ("manifest", "pattern"),
    [
        ("not json {", "invalid JSON"),
        ('{"a": ' * 100_000 + "1" + "}" * 100_000, "invalid JSON"),
        ("[1, 2]", "format is not 'mammocad-model-manifest'"),
        ({"format_version": 99}, "version 99 is not supported"),
        ({"files": {"../outside.json": "0" * 64}}, "malformed entry '../outside.json'"),
        ({"files": {"model.json": "xyz"}}, "malformed entry 'model.json'"),
        ({"files": {}}, "must list model.json"),
    ],
)
def test_malformed_manifest(tmp_path: Path, models, manifest, pattern: str) -> None:
    out = _save(tmp_path, models["logreg"])
    if isinstance(manifest, dict):
        genuine = json.loads((out / MANIFEST_FILE).read_text())
        if "files" in manifest:  # add the entry, or empty the list
            genuine["files"] = {**genuine["files"], **manifest["files"]} if manifest["files"] else {}
        genuine.update({k: v for k, v in manifest.items() if k != "files"})
        manifest = json.dumps(genuine)
    (out / MANIFEST_FILE).write_text(manifest)
    _refused(out, pattern)


def test_symbolic_links_are_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["logreg"])
    target = tmp_path / "elsewhere.skops"
    target.write_bytes((out / "clf.skops").read_bytes())
    (out / "clf.skops").unlink()
    os.symlink(target, out / "clf.skops")
    _refused(out, "symbolic link")


def test_model_of_mammocad_0_1_asks_to_retrain(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / CONFIG_FILE).write_text(
        json.dumps({"format": "mammocad-model", "format_version": 1, "estimator": {}})
    )
    (old / "weights.safetensors").write_bytes(st_save({"x": np.zeros(2)}))
    _refused(old, r"mammocad 0\.1 \(model format 1\).*retrain it with `mammocad train`")


# ------------------------------------------------------- model.json itself


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda c: c.update(format="other"), "format is not"),
        (lambda c: c.update(format_version=3), "version 3 is not supported"),
        (lambda c: c.update(metadata=["x"]), "'metadata' must be an object"),
        (
            lambda c: c.update(feature_names=[*c["feature_names"], "extra"]),
            "7 feature names for a model taking 6",
        ),
        (lambda c: c.update(feature_names=c["feature_names"][:5]), "5 feature names for a model taking 6"),
        (lambda c: c.update(feature_names="f0"), "'feature_names' must list text"),
        (lambda c: c.update(versions=["1.0"]), "'versions' must map"),
        (lambda c: c["steps"][0].update({"class": "passthrough"}), "'passthrough' is not one mammocad loads"),
        (lambda c: c["steps"][0].update({"class": None}), "None is not one mammocad loads"),
        (lambda c: c["steps"][0].update({"class": "Popen"}), "'Popen' is not one mammocad loads"),
        (lambda c: c["steps"][0].update(file="../../etc/passwd"), "not listed in manifest.json"),
        (lambda c: c["steps"][0].update(file="model.json"), "not listed in manifest.json"),
        (lambda c: c["steps"].reverse(), "must be one of StandardScaler, MinMaxScaler"),
        (lambda c: c["steps"][0].update(name="bad name"), "not a plain identifier"),
        (lambda c: c.update(steps=[]), "'steps' must list"),
        (lambda c: c.update(pipeline=False), "'pipeline' is not true"),
    ],
)
def test_edited_description_is_refused(tmp_path: Path, models, edit, pattern: str) -> None:
    out = _save(tmp_path, models["logreg"])
    _edit_config(out, edit)
    _refused(out, pattern)


def test_reversed_names_of_a_model_fitted_on_a_table_are_refused_even_rehashed(tmp_path: Path) -> None:
    X, y = _data()
    model = make_model("logreg").fit(pd.DataFrame(X, columns=NAMES), y)
    out = _save(tmp_path, model)
    _edit_config(out, lambda c: c.update(feature_names=c["feature_names"][::-1]))
    _refused(out, "differ from the .* the model was fitted on")


# ------------------------------------------------------ the steps' contents


def test_foreign_class_in_a_step_file_is_refused(tmp_path: Path, models) -> None:
    X, y = _data()
    out = _save(tmp_path, models["logreg"])
    _write_step(out, "clf.skops", SVC().fit(X, y))
    _refused(out, r"clf\.skops: holds sklearn\.svm\._classes\.SVC, which a LogisticRegression step may not")
    _write_step(out, "clf.skops", DecisionTreeClassifier().fit(X, y))
    _refused(out, r"clf\.skops: holds a 'TreeNode' entry, which mammocad does not load")
    knn = copy.deepcopy(models["knn"].named_steps["clf"])
    _write(out, "clf.skops", sio.dumps(knn))  # with its compiled search tree
    _refused(out, "KDTree")


def test_passthrough_pipeline_inside_a_step_file_is_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["logreg"])
    _write_step(out, "scale.skops", Pipeline([("x", "passthrough")]))
    _refused(out, r"scale\.skops: holds sklearn\.pipeline\.Pipeline")


@pytest.mark.parametrize("payload", [{"f": os.system}, {"f": eval}, {"f": np.sqrt}])
def test_functions_in_a_step_file_are_refused(tmp_path: Path, models, payload) -> None:
    out = _save(tmp_path, models["logreg"])
    _write(out, "clf.skops", sio.dumps(payload))
    _refused(out, r"clf\.skops: holds")


def test_compressed_skops_file_is_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["logreg"])
    _write(out, "clf.skops", sio.dumps(models["logreg"].named_steps["clf"], compression=zipfile.ZIP_DEFLATED))
    _refused(out, "compressed or oversized entries")


def test_not_a_skops_file_is_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["logreg"])
    _write(out, "clf.skops", b"PK\x03\x04 not really a zip")
    _refused(out, r"clf\.skops: not a readable skops file")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", '{"__class__": "x", "__module__": "os", "__loader__": "ReduceNode"}')
    _write(out, "clf.skops", buffer.getvalue())
    _refused(out, "'ReduceNode' entry")


def test_shadowed_predict_proba_is_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["logreg"])
    clf = copy.deepcopy(models["logreg"].named_steps["clf"])
    clf.predict_proba = "not a method"
    _write_step(out, "clf.skops", clf)
    _refused(out, "instance attribute 'predict_proba' that shadows its method")


def test_shadowed_method_of_a_nested_estimator_is_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["svm"])
    clf = copy.deepcopy(models["svm"].named_steps["clf"])
    clf.svc_.decision_function = np.zeros(3)
    _write_step(out, "clf.skops", clf)
    _refused(out, "SVC carries an instance attribute 'decision_function'")


def test_knn_with_more_neighbours_than_rows_is_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["knn"])
    knn = copy.deepcopy(models["knn"].named_steps["clf"])
    knn.n_neighbors = 10**9
    _write_step(out, "clf.skops", knn)
    _refused(out, "n_neighbors=1000000000 exceeds its 80 training rows")


@pytest.mark.parametrize(
    ("name", "attr", "value", "pattern"),
    [
        ("logreg", "C", float("inf"), "C=inf is not finite"),
        ("logreg", "C", -1.0, "'C' parameter of LogisticRegression must be"),
        ("logreg", "tol", float("nan"), "tol=nan is not finite"),
        ("knn", "weights", "bogus", "'weights' parameter"),
        ("knn", "n_neighbors", 0, "'n_neighbors' parameter"),
        ("hgb", "learning_rate", float("inf"), "learning_rate=inf is not finite"),
        ("svm", "kernel", "precomputed", "precomputed"),
        ("svm", "cv", 1, "cv must be an integer >= 2"),
    ],
)
def test_out_of_range_hyper_parameters_are_refused(
    tmp_path: Path, models, name, attr, value, pattern
) -> None:
    out = _save(tmp_path, models[name])
    clf = copy.deepcopy(models[name].named_steps["clf"])
    setattr(clf, attr, value)
    _write_step(out, "clf.skops", clf)
    _refused(out, pattern)


def test_inconsistent_learned_arrays_are_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["svm"])
    svm = copy.deepcopy(models["svm"].named_steps["clf"])
    svm.svc_.support_vectors_ = svm.svc_.support_vectors_[:3]
    _write_step(out, "clf.skops", svm)
    _refused(out, "support_vectors_ has shape|support-vector counts")
    svm = copy.deepcopy(models["svm"].named_steps["clf"])
    svm.slope_ = float("nan")
    _write_step(out, "clf.skops", svm)
    _refused(out, "probability slope nan")
    scaler = copy.deepcopy(models["svm"].named_steps["scale"])
    scaler.mean_ = np.zeros(4)
    _write_step(out, "scale.skops", scaler)
    _refused(out, r"StandardScaler\.mean_ has shape \(4,\)")


def test_gradient_boosted_tree_with_a_loop_is_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["hgb"])
    hgb = copy.deepcopy(models["hgb"].named_steps["clf"])
    nodes = hgb._predictors[0][0].nodes
    split = int(np.flatnonzero(nodes["is_leaf"] == 0)[0])
    nodes["left"][split] = split  # a node that is its own child: an endless walk
    _write_step(out, "clf.skops", hgb)
    _refused(out, "points to a left child outside its tree")
    hgb = copy.deepcopy(models["hgb"].named_steps["clf"])
    hgb._predictors[0][0].nodes["feature_idx"][split] = 99
    _write_step(out, "clf.skops", hgb)
    _refused(out, "splits on a feature outside the model's 6")


def test_step_of_the_wrong_class_is_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["logreg"])
    _write_step(out, "scale.skops", models["logreg"].named_steps["clf"])
    _refused(out, r"scale\.skops: holds .*LogisticRegression, which a StandardScaler step")
    _write_step(out, "scale.skops", StandardScaler().fit(np.zeros((3, 4))))
    _refused(out, "6 feature names for a model taking 4 features")


# --------------------------------------------------------------- the SAE


def test_sae_weights_of_the_wrong_shape_are_refused(tmp_path: Path, models) -> None:
    out = _save(tmp_path, models["sae"])
    arrays = st_load((out / "clf.safetensors").read_bytes())
    arrays["coef.0"] = np.zeros((6, 3), dtype=np.float32)
    _write(out, "clf.safetensors", st_save(arrays))
    _refused(out, "layer 1 weights are not finite arrays of shape")
    arrays["coef.0"] = np.full((6, 8), np.nan, dtype=np.float32)
    _write(out, "clf.safetensors", st_save(arrays))
    _refused(out, "layer 1 weights are not finite")
    arrays["extra"] = np.zeros(1)
    _write(out, "clf.safetensors", st_save(arrays))
    _refused(out, "holds arrays")
    _write(out, "clf.safetensors", b"\x00" * 64)
    _refused(out, "not a readable safetensors file")


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda s: s["params"].update(hidden_layer_sizes=[8, -4]), "hidden_layer_sizes"),
        (lambda s: s["params"].update(noise="salt"), "noise must be one of"),
        (lambda s: s["params"].update(evil=1), "parameters must be exactly"),
        (lambda s: s["state"].update(n_iter_="ten"), "malformed SAE state"),
        (lambda s: s["state"].update(classes={"values": [0, 1], "dtype": "V8"}), "malformed class labels"),
        (
            lambda s: s["state"].update(classes={"values": [0, 0], "dtype": "<i8"}),
            "at least 2 distinct labels",
        ),
    ],
)
def test_sae_description_edits_are_refused(tmp_path: Path, models, edit, pattern: str) -> None:
    out = _save(tmp_path, models["sae"])
    _edit_config(out, lambda c: edit(c["steps"][1]))
    _refused(out, pattern)
