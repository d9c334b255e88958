"""Metrics against scikit-learn; DeLong against an O(n^2) Mann-Whitney reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import accuracy_score, recall_score, roc_auc_score

from mammocad.errors import MammocadError
from mammocad.evaluation.metrics import (
    _weighted_auc,
    binary_metrics,
    bootstrap_ci,
    delong_auc_ci,
    delong_auc_variance,
    delong_test,
    evaluate_scores,
    positive_scores,
    roc_auc,
)


def _psi(x: float, y: float) -> float:
    return 1.0 if x > y else (0.5 if x == y else 0.0)


def _slow_delong(y, scores):
    """DeLong et al. (1988) by the definition: O(m n) structural components."""
    y = np.asarray(y)
    k = len(scores)
    pos = [np.asarray(s)[y == 1] for s in scores]
    neg = [np.asarray(s)[y == 0] for s in scores]
    m, n = len(pos[0]), len(neg[0])
    aucs = np.zeros(k)
    v10 = np.zeros((k, m))
    v01 = np.zeros((k, n))
    for r in range(k):
        psi = np.array([[_psi(a, b) for b in neg[r]] for a in pos[r]])
        aucs[r] = psi.mean()
        v10[r] = psi.mean(axis=1)
        v01[r] = psi.mean(axis=0)
    cov = np.zeros((k, k))
    for a in range(k):
        for b in range(k):
            s10 = np.sum((v10[a] - aucs[a]) * (v10[b] - aucs[b])) / (m - 1)
            s01 = np.sum((v01[a] - aucs[a]) * (v01[b] - aucs[b])) / (n - 1)
            cov[a, b] = s10 / m + s01 / n
    return aucs, cov


def _data(seed: int, n: int = 60, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2], y[2:4] = 0, 1
    a = y * 0.8 + rng.normal(size=n)
    b = y * 0.3 + 0.5 * a + rng.normal(size=n)
    if ties:
        a, b = np.round(a, 0), np.round(b, 0)
    return y, a, b


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threshold", [0.0, 0.4])
def test_binary_metrics_match_sklearn(seed, threshold):
    y, a, _ = _data(seed)
    m = binary_metrics(y, a, threshold)
    pred = (a >= threshold).astype(int)
    assert m.accuracy == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    assert m.sensitivity == pytest.approx(recall_score(y, pred, pos_label=1), abs=1e-12)
    assert m.specificity == pytest.approx(recall_score(y, pred, pos_label=0), abs=1e-12)
    assert m.auc == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert m.n == y.size and m.tp + m.fn == y.sum()


def test_threshold_is_inclusive():
    m = binary_metrics([0, 1], [0.5, 0.5], 0.5)
    assert (m.tp, m.fp, m.tn, m.fn) == (1, 1, 0, 0)


@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5)), min_size=4, max_size=40),
)
@settings(max_examples=50, deadline=None)
def test_auc_matches_sklearn_with_ties(rows):
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows], dtype=float)
    if y.min() == y.max():
        assert np.isnan(roc_auc(y, s))
    else:
        assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", [3, 4])
def test_fast_delong_matches_definition(seed, ties):
    y, a, b = _data(seed, n=50, ties=ties)
    aucs, cov = _slow_delong(y, [a, b])
    auc, var = delong_auc_variance(y, a)
    assert auc == pytest.approx(aucs[0], abs=1e-12)
    assert auc == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert var == pytest.approx(cov[0, 0], rel=1e-10)
    r = delong_test(y, a, b)
    assert r.auc_b == pytest.approx(aucs[1], abs=1e-12)
    se = np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert r.se == pytest.approx(se, rel=1e-10)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(abs((aucs[0] - aucs[1]) / se)), rel=1e-9)


def test_delong_test_identical_scores_and_strong_difference():
    y, a, _ = _data(5, n=200)
    assert delong_test(y, a, a).p_value == pytest.approx(1.0)
    noise = np.random.default_rng(9).normal(size=y.size)
    assert delong_test(y, a, noise).p_value < 0.01


def test_delong_ci_covers_truth_most_of_the_time():
    # Binormal model with known AUC = Phi(d / sqrt(2)).
    d = 1.0
    truth = stats.norm.cdf(d / np.sqrt(2))
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(200):
        y = np.r_[np.zeros(40, int), np.ones(40, int)]
        s = rng.normal(size=80) + d * y
        _, ci = delong_auc_ci(y, s)
        hits += ci.contains(truth)
    assert 0.88 <= hits / 200 <= 0.99


def test_weighted_auc_matches_sklearn_sample_weight():
    y, a, _ = _data(6, n=40, ties=True)
    w = np.random.default_rng(1).integers(0, 3, size=(5, y.size)).astype(float)
    got = _weighted_auc(y.astype(np.int8), a, w)
    for row, value in zip(w, got, strict=True):
        assert value == pytest.approx(roc_auc_score(y, a, sample_weight=row), abs=1e-12)


def test_bootstrap_resamples_patients_and_is_seeded():
    y, a, _ = _data(7, n=80)
    groups = np.repeat(np.arange(20), 4)
    ci1, n1 = bootstrap_ci(y, a, groups, threshold=0.0, n_bootstrap=300, random_state=1)
    ci2, _ = bootstrap_ci(y, a, groups, threshold=0.0, n_bootstrap=300, random_state=1)
    ci3, _ = bootstrap_ci(y, a, groups, threshold=0.0, n_bootstrap=300, random_state=2)
    assert ci1 == ci2 and ci1 != ci3
    point = binary_metrics(y, a, 0.0)
    for name in ("accuracy", "sensitivity", "specificity", "auc"):
        assert ci1[name].contains(getattr(point, name))
        assert n1[name] == 300


def test_cluster_bootstrap_is_wider_for_clustered_data():
    # Every patient has 10 identical lesions: the information is 10 lesions, not 100.
    rng = np.random.default_rng(0)
    y_p = rng.integers(0, 2, 10)
    y_p[:2] = [0, 1]
    s_p = y_p + rng.normal(size=10)
    y, s, g = np.repeat(y_p, 10), np.repeat(s_p, 10), np.repeat(np.arange(10), 10)
    by_patient, _ = bootstrap_ci(y, s, g, threshold=0.5, n_bootstrap=500)
    by_lesion, _ = bootstrap_ci(y, s, None, threshold=0.5, n_bootstrap=500)
    width = lambda iv: iv.high - iv.low  # noqa: E731
    assert width(by_patient["accuracy"]) > 1.5 * width(by_lesion["accuracy"])


def test_evaluate_scores_collects_everything():
    y, a, _ = _data(8, n=60)
    r = evaluate_scores(y, a, np.arange(60), threshold=0.0, n_bootstrap=200)
    assert set(r.intervals) == {"accuracy", "sensitivity", "specificity", "auc", "auc_bootstrap"}
    assert r.intervals["auc"].method == "delong"
    assert r.intervals["auc"].contains(r.point.auc)
    d = r.to_dict()
    assert d["ci"]["accuracy"]["method"] == "patient-bootstrap"


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([0, 2], [0.1, 0.2], "0/1 labels"),
        ([0, 1], [0.1], "shape"),
        ([0, 1], [0.1, np.nan], "non-finite"),
        ([], [], "empty"),
        (["a", "b"], [0.1, 0.2], "0/1 labels"),
    ],
)
def test_bad_input_raises(y, s, match):
    with pytest.raises(MammocadError, match=match):
        binary_metrics(y, s)


def test_delong_needs_both_classes():
    with pytest.raises(MammocadError, match="at least 2 malignant"):
        delong_auc_variance([0, 0, 0, 1], [0.1, 0.2, 0.3, 0.4])


def test_positive_scores_uses_probability_or_decision():
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    from mammocad.models import make_model

    y, a, b = _data(9, n=60)
    X = np.c_[a, b]
    lr = LogisticRegression().fit(X, y)
    s, t = positive_scores(lr, X)
    assert t == 0.5 and np.allclose(s, lr.predict_proba(X)[:, 1])
    svc = SVC().fit(X, y)
    s, t = positive_scores(svc, X)
    assert t == 0.0 and np.array_equal((s >= 0).astype(int), svc.predict(X))
    # An SVM with probabilities is still scored by its decision function.
    svm = make_model("svm").fit(X, y)
    s, t = positive_scores(svm, X)
    assert t == 0.0 and np.array_equal(s, svm.decision_function(X))
    assert np.array_equal((s >= 0).astype(int), svm.predict(X))


@given(st.integers(0, 10_000))
@settings(max_examples=15, deadline=None)
def test_bootstrap_does_not_depend_on_lesion_order(perm_seed):
    y, a, _ = _data(11, n=40)
    groups = np.repeat(np.arange(10), 4).astype(str)
    perm = np.random.default_rng(perm_seed).permutation(40)
    ci, _ = bootstrap_ci(y, a, groups, threshold=0.0, n_bootstrap=100, random_state=3)
    ci_perm, _ = bootstrap_ci(y[perm], a[perm], groups[perm], threshold=0.0, n_bootstrap=100, random_state=3)
    for name in ci:
        assert ci[name].low == pytest.approx(ci_perm[name].low, abs=1e-12)
        assert ci[name].high == pytest.approx(ci_perm[name].high, abs=1e-12)
