"""Model directories: exact round trips, and refusal of anything tampered or foreign."""

from __future__ import annotations

import json
import pickle
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.tree import DecisionTreeClassifier

from mammocad.errors import ModelError
from mammocad.models import MODEL_NAMES, load_model, make_model, save_model, training_data_hash
from mammocad.models.persistence import CONFIG_FILE, FORMAT_VERSION, WEIGHTS_FILE

NAMES = [f"f{i}" for i in range(6)]


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 6))
    y = (X[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted() -> dict[str, object]:
    X, y = _data()
    fast = dict(hidden_layer_sizes=(8, 4), pretrain_epochs=2, finetune_epochs=10)
    return {name: make_model(name, **(fast if name == "sae" else {})).fit(X, y) for name in MODEL_NAMES}


@pytest.fixture()
def saved(tmp_path: Path, fitted) -> Path:
    X, y = _data()
    return save_model(tmp_path / "m", fitted["svm"], feature_names=NAMES, training_data=(X, y))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_predicts_identically(tmp_path: Path, fitted, name: str, monkeypatch) -> None:
    X, y = _data()
    model = fitted[name]
    save_model(tmp_path / name, model, feature_names=NAMES, metadata={"metrics": {"cv_accuracy_mean": 0.8}})

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle used on the load path")

    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(torch, "load", no_pickle)
    loaded = load_model(tmp_path / name)
    X_new = np.random.default_rng(9).normal(0, 2, size=(50, 6))
    assert loaded.estimator.predict_proba(X_new).tobytes() == model.predict_proba(X_new).tobytes()
    np.testing.assert_array_equal(loaded.estimator.predict(X_new), model.predict(X_new))
    if hasattr(model, "decision_function"):
        assert loaded.estimator.decision_function(X_new).tobytes() == model.decision_function(X_new).tobytes()
    assert loaded.feature_names == tuple(NAMES) and loaded.name == name
    assert loaded.metadata["metadata"]["metrics"]["cv_accuracy_mean"] == 0.8


def test_config_records_what_the_issue_asks(saved: Path) -> None:
    config = json.loads((saved / CONFIG_FILE).read_text())
    X, y = _data()
    assert config["format_version"] == FORMAT_VERSION and config["model"] == "svm"
    assert config["feature_names"] == NAMES and config["classes"] == [0, 1]
    np.testing.assert_allclose(config["scaler"]["mean"], X.mean(axis=0))
    assert set(config["versions"]) >= {"mammocad", "sklearn", "torch"}
    assert config["training_data_sha256"] == training_data_hash(X, y) != training_data_hash(X, 1 - y)
    assert config["hyper_parameters"]["kernel"] == "rbf"
    assert config["estimator_class"] == "MonotonePlattSVC"
    assert config["weights"]["file"] == WEIGHTS_FILE and len(config["weights"]["sha256"]) == 64


def test_tampered_weights_are_refused(saved: Path) -> None:
    weights = saved / WEIGHTS_FILE
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"weights\.safetensors.*modified"):
        load_model(saved)


def test_truncated_weights_are_refused(saved: Path) -> None:
    weights = saved / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(ModelError, match="refusing"):
        load_model(saved)


def test_foreign_weights_with_a_matching_hash_are_refused(saved: Path) -> None:
    # Someone rewrites both files: the weights are not safetensors at all.
    import hashlib

    payload = pickle.dumps({"x": 1})
    (saved / WEIGHTS_FILE).write_bytes(payload)
    config = json.loads((saved / CONFIG_FILE).read_text())
    config["weights"]["sha256"] = hashlib.sha256(payload).hexdigest()
    (saved / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelError, match="not a readable safetensors file"):
        load_model(saved)


def test_class_outside_the_allow_list_is_refused(saved: Path) -> None:
    config = json.loads((saved / CONFIG_FILE).read_text())
    config["estimator"]["$object"] = "Popen"
    (saved / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelError, match="'Popen' is not one mammocad loads"):
        load_model(saved)


def test_malformed_object_description_is_refused(saved: Path) -> None:
    config = json.loads((saved / CONFIG_FILE).read_text())
    config["estimator"]["$object"] = ["Pipeline"]
    (saved / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelError, match="is not one mammocad loads"):
        load_model(saved)


def test_out_of_range_integer_is_refused(saved: Path) -> None:
    config = json.loads((saved / CONFIG_FILE).read_text())
    config["estimator"]["attrs"]["n_features_in_"] = {"$int": 10**30}
    (saved / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelError, match="malformed description"):
        load_model(saved)


def test_deeply_nested_config_is_refused(saved: Path) -> None:
    (saved / CONFIG_FILE).write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)
    with pytest.raises(ModelError, match="invalid JSON"):
        load_model(saved)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json {", "invalid JSON"),
        ('{"hello": 1}', "format is not"),
        ("[1, 2]", "format is not"),
    ],
)
def test_foreign_config_is_refused(saved: Path, content: str, message: str) -> None:
    (saved / CONFIG_FILE).write_text(content)
    with pytest.raises(ModelError, match=message):
        load_model(saved)


def test_unknown_format_version_is_refused(saved: Path) -> None:
    config = json.loads((saved / CONFIG_FILE).read_text())
    config["format_version"] = 99
    (saved / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelError, match="version 99 is not supported"):
        load_model(saved)


def test_non_object_metadata_is_refused(saved: Path) -> None:
    config = json.loads((saved / CONFIG_FILE).read_text())
    config["metadata"] = ["not", "an", "object"]
    (saved / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ModelError, match="'metadata' must be an object"):
        load_model(saved)


def test_missing_directory_or_files(tmp_path: Path, saved: Path) -> None:
    with pytest.raises(ModelError, match="no such model directory"):
        load_model(tmp_path / "nowhere")
    (saved / WEIGHTS_FILE).unlink()
    with pytest.raises(ModelError, match="weights file missing"):
        load_model(saved)
    (saved / CONFIG_FILE).unlink()
    with pytest.raises(ModelError, match="model.json: missing"):
        load_model(saved)


def test_save_refuses_unsupported_unfitted_or_mismatched(tmp_path: Path, fitted) -> None:
    X, y = _data()
    with pytest.raises(ModelError, match="DecisionTreeClassifier"):
        save_model(tmp_path / "a", DecisionTreeClassifier().fit(X, y), feature_names=NAMES)
    with pytest.raises(ModelError, match="not fitted"):
        save_model(tmp_path / "b", make_model("lda"), feature_names=NAMES)
    with pytest.raises(ModelError, match="6 features but 2 feature names"):
        save_model(tmp_path / "c", fitted["lda"], feature_names=["a", "b"])


def test_feature_selection_and_count_mismatch(saved: Path) -> None:
    model = load_model(saved)
    values = {name: 0.1 * i for i, name in enumerate(NAMES)}
    p = model.predict_proba_malignant(dict(values, extra=5.0))
    assert p.shape == (1,) and 0 <= p[0] <= 1
    assert model.predict_proba_malignant(np.array([list(values.values())]))[0] == p[0]
    with pytest.raises(ModelError, match="missing: f3"):
        model.predict_proba_malignant({k: v for k, v in values.items() if k != "f3"})
    with pytest.raises(ModelError, match="expects 6 features per row"):
        model.predict_proba_malignant(np.zeros((2, 5)))
    with pytest.raises(ModelError, match="NaN or infinite: f1"):
        model.predict_proba_malignant(dict(values, f1=np.nan))
    proxy = types.MappingProxyType(values)  # any mapping, not only a dict
    assert model.predict_proba_malignant(proxy)[0] == p[0]
    with pytest.raises(ModelError, match="a mapping, a table or a 2-D array"):
        model.predict_proba_malignant("f1")
