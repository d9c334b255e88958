"""The stacked denoising autoencoder: estimator contract, reproducibility, pre-training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mammocad.errors import ModelError
from mammocad.models import StackedDenoisingAutoencoderClassifier as SAE
from mammocad.models.sae import _autoencoder_gradients, _stack_gradients

# Small and quick, but able to learn the checks' toy problems.
TINY = dict(
    hidden_layer_sizes=(16,), pretrain_epochs=2, finetune_epochs=40, learning_rate=0.02, random_state=0
)


@parametrize_with_checks([SAE(**TINY)])
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def _numeric_gradients(loss, params: list[torch.Tensor], eps: float = 1e-6) -> list[np.ndarray]:
    """Central finite differences of ``loss()`` with respect to every entry of ``params``."""
    out = []
    for p in params:
        grad = np.empty(p.shape)
        flat = p.view(-1)
        for i in range(flat.numel()):
            orig = float(flat[i])
            flat[i] = orig + eps
            up = loss()
            flat[i] = orig - eps
            down = loss()
            flat[i] = orig
            grad.flat[i] = (up - down) / (2 * eps)
        out.append(grad)
    return out


def test_gradients_match_finite_differences() -> None:
    # The written-out backward passes, checked as scikit-learn checks its MLP
    # (sklearn/neural_network/tests/test_mlp.py::test_gradient): float64, central differences.
    g = torch.Generator().manual_seed(0)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    m, d, h = 7, 5, 4
    noisy, clean = (
        torch.rand(m, d, generator=g, dtype=torch.float64),
        torch.rand(m, d, generator=g, dtype=torch.float64),
    )
    ae = [randn(h, d), randn(h), randn(d, h), randn(d)]
    for p in ae:
        p.grad = torch.zeros_like(p)
    loss_sum = _autoencoder_gradients(noisy, clean, *ae)
    analytic = [p.grad.numpy().copy() for p in ae]
    numeric = _numeric_gradients(lambda: float(_autoencoder_gradients(noisy, clean, *ae)) / m, ae)
    for a, n in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-9)
    code = torch.sigmoid(noisy @ ae[0].T + ae[1])
    recon = torch.sigmoid(code @ ae[2].T + ae[3])
    assert float(loss_sum) == pytest.approx(0.5 * float(((recon - clean) ** 2).sum()), rel=1e-12)

    # Two sigmoid layers and a 3-class softmax.
    x = torch.rand(6, d, generator=g, dtype=torch.float64)
    target = torch.tensor([0, 2, 1, 1, 0, 2])
    weights, biases = [randn(4, d), randn(3, 4), randn(3, 3)], [randn(4), randn(3), randn(3)]
    for p in (*weights, *biases):
        p.grad = torch.zeros_like(p)
    _stack_gradients(x, target, weights, biases)
    analytic = [p.grad.numpy().copy() for p in (*weights, *biases)]
    numeric = _numeric_gradients(
        lambda: float(_stack_gradients(x, target, weights, biases)) / 6, [*weights, *biases]
    )
    for a, n in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-9)


def _data(n: int = 160, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = (X[:, 0] + X[:, 1] + 0.2 * rng.standard_normal(n) > 1.0).astype(int)
    return X, y


def test_same_seed_gives_identical_probabilities() -> None:
    X, y = _data()
    params = dict(hidden_layer_sizes=(32, 16), pretrain_epochs=5, finetune_epochs=20)
    a = SAE(random_state=7, **params).fit(X, y).predict_proba(X)
    b = SAE(random_state=7, **params).fit(X, y).predict_proba(X)
    c = SAE(random_state=8, **params).fit(X, y).predict_proba(X)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)


def test_fit_leaves_global_generators_alone() -> None:
    X, y = _data()
    torch_state = torch.random.get_rng_state().clone()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - the legacy global state is what must not move
    SAE(hidden_layer_sizes=(8,), pretrain_epochs=2, finetune_epochs=3, random_state=0).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002


def test_fit_keeps_torch_thread_count() -> None:
    before = torch.get_num_threads()
    X, y = _data()
    SAE(hidden_layer_sizes=(8,), pretrain_epochs=1, finetune_epochs=1, random_state=0).fit(X, y)
    assert torch.get_num_threads() == before


def test_pretraining_reduces_reconstruction_error_per_layer() -> None:
    # Correlated inputs: a low-dimensional code can reconstruct them.
    rng = np.random.default_rng(1)
    z = rng.random((300, 3))
    X = np.clip(z @ rng.random((3, 12)) / 3 + 0.02 * rng.standard_normal((300, 12)), 0, 1)
    y = (z[:, 0] > 0.5).astype(int)
    clf = SAE(hidden_layer_sizes=(20, 10), pretrain_epochs=30, finetune_epochs=5, random_state=0).fit(X, y)
    assert len(clf.pretrain_loss_curves_) == 2
    for curve in clf.pretrain_loss_curves_:
        assert len(curve) == 30
        assert curve[-1] < 0.6 * curve[0]
    # Untied weights: each decoder has its own matrix, shaped as the transposed encoder.
    assert clf.decoder_coefs_[0].shape == (20, 12) and clf.coefs_[0].shape == (12, 20)
    assert not np.allclose(clf.decoder_coefs_[0], clf.coefs_[0].T)


def test_without_pretraining_same_seed_differs() -> None:
    X, y = _data()
    params = dict(hidden_layer_sizes=(16,), pretrain_epochs=5, finetune_epochs=5, random_state=3)
    with_pt = SAE(**params).fit(X, y)
    without = SAE(pretrain=False, **params).fit(X, y)
    assert without.pretrain_loss_curves_ == [] and without.decoder_coefs_ == []
    assert not np.array_equal(with_pt.coefs_[0], without.coefs_[0])


def test_learns_a_separable_problem_and_scores_proba_consistently() -> None:
    X, y = _data(n=300)
    clf = SAE(hidden_layer_sizes=(32, 32), batch_size=64, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.85
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # decision_function is the log-odds of classes_[1].
    np.testing.assert_allclose(
        clf.decision_function(X), np.log(proba[:, 1] / proba[:, 0]), rtol=1e-6, atol=1e-9
    )
    assert 1 <= clf.best_epoch_ <= clf.n_iter_ == len(clf.loss_curve_) == len(clf.validation_loss_curve_)


def test_multiclass_and_string_labels() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((240, 5))
    y = np.array(["a", "b", "c"])[np.digitize(X[:, 0], [1 / 3, 2 / 3])]
    clf = SAE(hidden_layer_sizes=(32,), learning_rate=0.01, batch_size=64, random_state=0).fit(X, y)
    assert list(clf.classes_) == ["a", "b", "c"]
    assert clf.predict_proba(X).shape == (240, 3) and clf.decision_function(X).shape == (240, 3)
    assert clf.score(X, y) > 0.7


def test_gaussian_noise_option_runs_and_is_seeded() -> None:
    X, y = _data()
    params = dict(
        hidden_layer_sizes=(8,), noise="gaussian", corruption=0.1, pretrain_epochs=3, finetune_epochs=3
    )
    a = SAE(random_state=1, **params).fit(X, y).predict_proba(X)
    b = SAE(random_state=1, **params).fit(X, y).predict_proba(X)
    assert a.tobytes() == b.tobytes()


def test_grid_search_and_cross_validate_on_a_pipeline() -> None:
    X, y = _data(n=120)
    pipe = make_pipeline(MinMaxScaler(), SAE(pretrain_epochs=2, finetune_epochs=10, random_state=0))
    grid = {
        "stackeddenoisingautoencoderclassifier__hidden_layer_sizes": [(8,), (8, 8)],
        "stackeddenoisingautoencoderclassifier__corruption": [0.0, 0.3],
    }
    search = GridSearchCV(pipe, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0)).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.predict(X).shape == (120,)
    res = cross_validate(pipe, X, y, cv=3, scoring=("accuracy", "roc_auc"))
    assert res["test_accuracy"].shape == (3,) and np.all(res["test_roc_auc"] > 0.5)


def test_nan_or_inf_features_name_rows_and_columns() -> None:
    X, y = _data()
    X[4, 2] = np.nan
    with pytest.raises(ModelError, match=r"NaN.*rows \[4\].*columns \[2\]"):
        SAE(random_state=0).fit(X, y)
    X[4, 2] = 0.5
    clf = SAE(hidden_layer_sizes=(4,), pretrain_epochs=1, finetune_epochs=1, random_state=0).fit(X, y)
    X[0, 1] = np.inf
    with pytest.raises(ModelError, match="inf"):
        clf.predict(X)


def test_single_class_is_refused() -> None:
    X, _ = _data()
    with pytest.raises(ModelError, match="only one class"):
        SAE(random_state=0).fit(X, np.ones(len(X), dtype=int))


def test_feature_count_mismatch_at_predict() -> None:
    X, y = _data()
    clf = SAE(hidden_layer_sizes=(4,), pretrain_epochs=1, finetune_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="8 features"):
        clf.predict_proba(X[:, :5])


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("hidden_layer_sizes", ()),
        ("hidden_layer_sizes", (10, -1)),
        ("noise", "salt"),
        ("corruption", 1.0),
        ("corruption", "high"),
        ("validation_fraction", None),
        ("batch_size", 0),
        ("learning_rate", 0.0),
        ("validation_fraction", 1.0),
        ("device", "tpu"),
    ],
)
def test_bad_hyper_parameters_are_refused(param: str, value: object) -> None:
    X, y = _data()
    with pytest.raises(ModelError, match=param):
        SAE(**{param: value}).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error_and_auto_falls_back() -> None:
    X, y = _data()
    with pytest.raises(ModelError, match="CUDA"):
        SAE(device="cuda").fit(X, y)
    clf = SAE(hidden_layer_sizes=(4,), pretrain_epochs=1, finetune_epochs=1, device="auto", random_state=0)
    assert clf.fit(X, y).device_ == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_same_code_runs_on_gpu() -> None:
    X, y = _data(n=300)
    clf = SAE(hidden_layer_sizes=(32, 32), device="auto", random_state=0).fit(X, y)
    assert clf.device_ == "cuda" and clf.score(X, y) > 0.85
