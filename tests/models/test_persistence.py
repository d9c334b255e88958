"""Model directories: exact round trips, the files written, versions, and saving."""

from __future__ import annotations

import json
import pickle
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mammocad.errors import ModelError
from mammocad.models import (
    MODEL_NAMES,
    ModelVersionWarning,
    StackedDenoisingAutoencoderClassifier,
    load_model,
    make_model,
    save_model,
    training_data_hash,
)
from mammocad.models.persistence import CONFIG_FILE, FORMAT_VERSION, MANIFEST_FILE

NAMES = [f"f{i}" for i in range(6)]
FAST_SAE = dict(hidden_layer_sizes=(8, 4), pretrain_epochs=2, finetune_epochs=10)


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 6))
    y = (X[:, 0] + 0.5 * rng.normal(size=80) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def fitted() -> dict[str, object]:
    X, y = _data()
    return {name: make_model(name, **(FAST_SAE if name == "sae" else {})).fit(X, y) for name in MODEL_NAMES}


@pytest.fixture()
def saved(tmp_path: Path, fitted) -> Path:
    X, y = _data()
    return save_model(tmp_path / "m", fitted["svm"], feature_names=NAMES, training_data=(X, y))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_predicts_identically(tmp_path: Path, fitted, name: str, monkeypatch) -> None:
    model = fitted[name]
    save_model(tmp_path / name, model, feature_names=NAMES, metadata={"metrics": {"cv_accuracy_mean": 0.8}})

    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle used on the load path")

    monkeypatch.setattr(pickle, "load", no_pickle)
    monkeypatch.setattr(pickle, "loads", no_pickle)
    monkeypatch.setattr(torch, "load", no_pickle)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same versions: no warning at all
        loaded = load_model(tmp_path / name)
    X_new = np.random.default_rng(9).normal(0, 2, size=(50, 6))
    assert loaded.estimator.predict_proba(X_new).tobytes() == model.predict_proba(X_new).tobytes()
    np.testing.assert_array_equal(loaded.estimator.predict(X_new), model.predict(X_new))
    if hasattr(model, "decision_function"):
        assert loaded.estimator.decision_function(X_new).tobytes() == model.decision_function(X_new).tobytes()
    assert loaded.feature_names == tuple(NAMES) and loaded.name == name
    assert loaded.metadata["metadata"]["metrics"]["cv_accuracy_mean"] == 0.8
    assert [s for s, _ in loaded.estimator.steps] == ["scale", "clf"]


def test_sae_round_trip_keeps_its_learned_state(tmp_path: Path, fitted) -> None:
    sae = fitted["sae"].named_steps["clf"]
    loaded = load_model(save_model(tmp_path / "m", fitted["sae"], feature_names=NAMES)).estimator
    clf = loaded.named_steps["clf"]
    for attr in ("coefs_", "intercepts_", "decoder_coefs_", "decoder_intercepts_"):
        for a, b in zip(getattr(sae, attr), getattr(clf, attr), strict=True):
            assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
    for attr in ("n_iter_", "best_epoch_", "loss_curve_", "pretrain_loss_curves_", "device_"):
        assert getattr(clf, attr) == getattr(sae, attr)
    assert clf.get_params() == sae.get_params()


def test_text_labels_and_a_bare_classifier_round_trip(tmp_path: Path) -> None:
    X, y = _data()
    labels = np.where(y == 1, "malignant", "benign")
    for name, model in (
        ("logreg", make_model("logreg").fit(X, labels)),
        ("sae", StackedDenoisingAutoencoderClassifier(**FAST_SAE, random_state=0).fit(X, labels)),
    ):
        loaded = load_model(save_model(tmp_path / name, model, feature_names=NAMES))
        assert list(loaded.estimator.classes_) == ["benign", "malignant"]
        assert loaded.estimator.predict_proba(X).tobytes() == model.predict_proba(X).tobytes()
        p = loaded.predict_proba_malignant(X)  # "malignant" is the last class
        np.testing.assert_array_equal(p, model.predict_proba(X)[:, 1])
    assert not isinstance(load_model(tmp_path / "sae").estimator, Pipeline)


def test_files_and_manifest(saved: Path) -> None:
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    assert sorted(p.name for p in saved.iterdir()) == sorted([MANIFEST_FILE, *manifest["files"]])
    assert set(manifest["files"]) == {CONFIG_FILE, "scale.skops", "clf.skops"}
    assert all(len(digest) == 64 for digest in manifest["files"].values())


def test_config_records_what_the_issue_asks(saved: Path) -> None:
    config = json.loads((saved / CONFIG_FILE).read_text())
    X, y = _data()
    assert config["format_version"] == FORMAT_VERSION == 2 and config["model"] == "svm"
    assert config["feature_names"] == NAMES and config["n_features_in"] == 6 and config["classes"] == [0, 1]
    np.testing.assert_allclose(config["scaler"]["mean"], X.mean(axis=0))
    assert set(config["versions"]) == {"mammocad", "scikit-learn", "torch", "skops", "numpy"}
    assert config["training_data_sha256"] == training_data_hash(X, y) != training_data_hash(X, 1 - y)
    assert config["hyper_parameters"]["kernel"] == "rbf"
    assert config["estimator_class"] == "MonotonePlattSVC"
    assert [(s["name"], s["class"], s["file"]) for s in config["steps"]] == [
        ("scale", "StandardScaler", "scale.skops"),
        ("clf", "MonotonePlattSVC", "clf.skops"),
    ]


def test_sae_weights_are_safetensors_and_its_state_json(tmp_path: Path, fitted) -> None:
    from safetensors.numpy import load_file

    out = save_model(tmp_path / "m", fitted["sae"], feature_names=NAMES)
    arrays = load_file(out / "clf.safetensors")
    assert sorted(arrays) == sorted(
        [f"{p}.{k}" for p in ("coef", "intercept") for k in range(3)]
        + [f"{p}.{k}" for p in ("decoder_coef", "decoder_intercept") for k in range(2)]
    )
    step = json.loads((out / CONFIG_FILE).read_text())["steps"][1]
    assert step["params"]["hidden_layer_sizes"] == [8, 4] and step["state"]["n_features_in"] == 6


def _edit_config(model_dir: Path, edit) -> None:
    """Change model.json and record its new hash (a deliberate edit, not corruption)."""
    import hashlib

    config = json.loads((model_dir / CONFIG_FILE).read_text())
    edit(config)
    data = json.dumps(config).encode()
    (model_dir / CONFIG_FILE).write_bytes(data)
    manifest = json.loads((model_dir / MANIFEST_FILE).read_text())
    manifest["files"][CONFIG_FILE] = hashlib.sha256(data).hexdigest()
    (model_dir / MANIFEST_FILE).write_text(json.dumps(manifest))


def test_other_versions_warn_but_load(saved: Path) -> None:
    def older(config):
        config["versions"]["mammocad"] = "0.0.9"
        config["versions"]["scikit-learn"] = "1.0.0"

    _edit_config(saved, older)
    with pytest.warns(ModelVersionWarning, match=r"mammocad 0\.0\.9 \(now .*scikit-learn 1\.0\.0") as record:
        model = load_model(saved)
    assert issubclass(ModelVersionWarning, UserWarning) and "\n" not in str(record[0].message)
    assert model.predict_proba_malignant(np.zeros((1, 6))).shape == (1,)


def test_save_refuses_unsupported_unfitted_or_mismatched(tmp_path: Path, fitted) -> None:
    X, y = _data()
    with pytest.raises(ModelError, match="DecisionTreeClassifier"):
        save_model(tmp_path / "a", DecisionTreeClassifier().fit(X, y), feature_names=NAMES)
    with pytest.raises(ModelError, match="not fitted"):
        save_model(tmp_path / "b", make_model("lda"), feature_names=NAMES)
    with pytest.raises(ModelError, match="2 feature names for a model taking 6"):
        save_model(tmp_path / "c", fitted["lda"], feature_names=["a", "b"])
    with pytest.raises(ModelError, match="distinct"):
        save_model(tmp_path / "d", fitted["lda"], feature_names=["a"] * 6)
    passthrough = Pipeline([("scale", "passthrough"), ("clf", fitted["lda"].named_steps["clf"])])
    with pytest.raises(ModelError, match="'passthrough'"):
        save_model(tmp_path / "e", passthrough, feature_names=NAMES)
    two_scalers = Pipeline(
        [("a", StandardScaler()), ("b", StandardScaler()), ("clf", DecisionTreeClassifier())]
    )
    with pytest.raises(ModelError, match="3 steps"):
        save_model(tmp_path / "f", two_scalers.fit(X, y), feature_names=NAMES)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelError, match="not a directory"):
        save_model(tmp_path / "file", fitted["lda"], feature_names=NAMES)


def test_names_the_model_was_fitted_on_must_match(tmp_path: Path) -> None:
    X, y = _data()
    frame = pd.DataFrame(X, columns=NAMES)
    model = make_model("logreg").fit(frame, y)
    with pytest.raises(ModelError, match="differ from the"):
        save_model(tmp_path / "m", model, feature_names=NAMES[::-1])
    loaded = load_model(save_model(tmp_path / "m", model, feature_names=NAMES))
    assert loaded.predict_proba_malignant(frame).tobytes() == model.predict_proba(frame)[:, 1].tobytes()


def test_saving_again_replaces_the_previous_model(tmp_path: Path, fitted) -> None:
    out = tmp_path / "m"
    save_model(out, fitted["sae"], feature_names=NAMES)
    (out / "weights.safetensors").write_bytes(b"left by mammocad 0.1")
    save_model(out, fitted["lda"], feature_names=NAMES)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [CONFIG_FILE, MANIFEST_FILE, "scale.skops", "clf.skops"]
    )
    assert load_model(out).name == "lda"


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


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_huge_finite_values_give_a_probability_or_a_clean_error(tmp_path: Path, fitted, name: str) -> None:
    model = load_model(save_model(tmp_path / name, fitted[name], feature_names=NAMES))
    row = np.full((1, 6), 1e308)
    try:
        p = model.predict_proba_malignant(row)
    except ModelError as exc:
        assert "feature values" in str(exc)
    else:
        assert np.isfinite(p).all() and 0 <= p[0] <= 1


def test_a_failed_write_names_the_file(tmp_path: Path, fitted, monkeypatch) -> None:
    import errno

    from mammocad.models import persistence

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(persistence, "atomic_write_bytes", full_disk)
    with pytest.raises(ModelError, match=r"scale\.skops: cannot write the model \(No space left on device\)"):
        save_model(tmp_path / "m", fitted["lda"], feature_names=NAMES)
