"""The paper's deep learning model: a stacked denoising autoencoder classifier.

Wang et al. (2016) feed the 15 calcification and/or 26 mass features of a lesion
into a stacked autoencoder (their Eq. 1-7): each layer is an autoencoder with a
sigmoid encoder ``y = f(W1 x + b1)`` and a sigmoid decoder ``z = g(W2 y + b2)``
(untied weights) trained to minimise the squared reconstruction error
``1/2 sum_i ||x_i - z(x_i)||^2``; the codes of layer *k* are the training set of
layer *k + 1* (greedy layer-wise pre-training). A softmax layer on top turns the
last code into class probabilities and the whole stack is then fine-tuned with
the cross-entropy loss.

:class:`StackedDenoisingAutoencoderClassifier` does exactly that with PyTorch
inside and the scikit-learn estimator contract outside, so it drops into
``Pipeline``, ``GridSearchCV`` and ``cross_validate``. Following Vincent et al.
(2010), each autoencoder sees a corrupted copy of its input (masking noise: a
random fraction of the inputs set to zero; or additive Gaussian noise) and
learns to reconstruct the clean input. Both stages use the Adam optimiser.

Speed: the forward and backward passes of the sigmoid layers are written out
(:func:`_autoencoder_gradients`, :func:`_stack_gradients`: no autograd graph per
step), Adam runs as one fused kernel per step, and each epoch gathers its rows in
one shuffled copy (with the whole epoch's corruption drawn in one call) that
mini-batches slice. The written-out gradients are checked against central finite
differences in float64, as scikit-learn checks its ``MLPClassifier``
(``tests/models/test_sae.py::test_gradients_match_finite_differences``).

Reproducibility: every random choice (weight initialisation, corruption,
mini-batch order, the validation split) draws from a :class:`torch.Generator` or
a NumPy ``RandomState`` seeded from ``random_state``; the global torch and NumPy
generators are never touched, and prediction runs in NumPy (float64) on the
learned float32 weights. On the CPU, two fits with the same ``random_state``,
data and thread count give bit-identical weights and probabilities.
"""

from __future__ import annotations

import numbers
import time
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from mammocad.errors import ModelError

__all__ = ["StackedDenoisingAutoencoderClassifier"]

_NOISES = ("masking", "gaussian")
_DEVICES = ("cpu", "cuda", "auto")


def _autoencoder_gradients(noisy: Any, clean: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
    """Loss and gradients of one denoising autoencoder on a mini-batch (Eq. 1-3).

    Forward: ``code = sigmoid(noisy @ w1.T + b1)``, ``recon = sigmoid(code @ w2.T + b2)``.
    The minimised loss is the batch mean of ``1/2 ||recon - clean||^2``; its gradients
    with respect to ``w1, b1, w2, b2`` are written into their ``.grad`` tensors.

    Returns
    -------
    torch.Tensor
        The batch *sum* of ``1/2 ||recon - clean||^2`` (0-d), for the loss curve.
    """
    import torch

    m = clean.shape[0]
    code = torch.sigmoid(torch.addmm(b1, noisy, w1.T))
    recon = torch.sigmoid(torch.addmm(b2, code, w2.T))
    diff = recon - clean
    loss_sum = 0.5 * diff.square().sum()
    # d loss / d pre-activations (loss = mean over the batch), then the chain rule down.
    d2 = diff.mul_(recon * (1.0 - recon)).div_(m)
    torch.mm(d2.T, code, out=w2.grad)
    torch.sum(d2, dim=0, out=b2.grad)
    d1 = (d2 @ w2).mul_(code * (1.0 - code))
    torch.mm(d1.T, noisy, out=w1.grad)
    torch.sum(d1, dim=0, out=b1.grad)
    return loss_sum


def _stack_forward(x: Any, weights: list[Any], biases: list[Any]) -> list[Any]:
    """Activations of the sigmoid stack, input first and the softmax layer's logits last."""
    import torch

    acts = [x]
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        acts.append(torch.sigmoid(torch.addmm(b, acts[-1], w.T)))
    acts.append(torch.addmm(biases[-1], acts[-1], weights[-1].T))
    return acts


def _cross_entropy_sum(logits: Any, target: Any) -> tuple[Any, Any]:
    """Summed softmax cross-entropy of integer targets, and the log-probabilities."""
    import torch

    logp = torch.log_softmax(logits, dim=1)
    return -logp.gather(1, target[:, None]).sum(), logp


def _stack_gradients(x: Any, target: Any, weights: list[Any], biases: list[Any]) -> Any:
    """Loss and gradients of the whole stack + softmax on a mini-batch (fine-tuning).

    The minimised loss is the batch mean of the softmax cross-entropy of ``target``
    (class indices); its gradients with respect to every weight and bias are written
    into their ``.grad`` tensors.

    Returns
    -------
    torch.Tensor
        The batch *sum* of the cross-entropy (0-d), for the loss curve.
    """
    import torch

    acts = _stack_forward(x, weights, biases)
    loss_sum, logp = _cross_entropy_sum(acts[-1], target)
    # d mean-CE / d logits = (softmax - onehot) / m
    delta = logp.exp_()
    delta[torch.arange(x.shape[0], device=x.device), target] -= 1.0
    delta.div_(x.shape[0])
    for j in range(len(weights) - 1, -1, -1):
        torch.mm(delta.T, acts[j], out=weights[j].grad)
        torch.sum(delta, dim=0, out=biases[j].grad)
        if j:
            h = acts[j]
            delta = (delta @ weights[j]).mul_(h * (1.0 - h))
    return loss_sum


def _check_finite(X: Any, where: str) -> None:
    """Raise :class:`ModelError` naming the rows and columns holding NaN or inf."""
    arr = np.asarray(X)
    if arr.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        if arr.ndim == 1:
            rows, cols = np.flatnonzero(bad), np.array([], dtype=int)
        else:
            rows, cols = np.flatnonzero(bad.any(axis=1)), np.flatnonzero(bad.any(axis=0))
        kind = "NaN" if np.isnan(arr).any() else "infinity"
        names = getattr(X, "columns", None)
        col_text = ", ".join(str(names[c]) if names is not None else str(c) for c in cols[:10])
        raise ModelError(
            f"{where}: X contains {kind} (NaN or inf are not accepted) in rows "
            f"{rows[:10].tolist()}{' ...' if rows.size > 10 else ''}"
            + (f", columns [{col_text}]{' ...' if cols.size > 10 else ''}" if cols.size else "")
        )


class StackedDenoisingAutoencoderClassifier(ClassifierMixin, BaseEstimator):
    """Stacked denoising autoencoder with a softmax layer (Wang et al. 2016).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(200, 200)
        Units of each autoencoder's code layer, bottom first. The paper uses
        ``(200, 200)`` and ``(400, 400)``.
    corruption : float, default=0.2
        Strength of the input corruption during pre-training: the fraction of
        inputs set to zero (``noise="masking"``) or the standard deviation of the
        added noise (``noise="gaussian"``). 0 gives plain autoencoders.
    noise : {"masking", "gaussian"}, default="masking"
        Kind of corruption.
    pretrain_epochs : int, default=20
        Passes over the training set for each autoencoder.
    finetune_epochs : int, default=200
        Maximum passes over the training set for supervised fine-tuning.
    pretrain_learning_rate : float, default=1e-2
        Adam step size for pre-training.
    learning_rate : float, default=2e-3
        Adam step size for fine-tuning.
    batch_size : int, default=32
        Mini-batch size (clipped to the number of training rows). Small batches
        matter on data sets of the paper's size (a few hundred lesions): with
        128 a 100-row training set gets one step per epoch and early stopping
        can halt on the initial plateau.
    weight_decay : float, default=1e-4
        L2 penalty on the weights (Adam's ``weight_decay``), both stages.
    early_stopping : bool, default=True
        Hold out a stratified ``validation_fraction`` of the training rows, stop
        fine-tuning when the validation cross-entropy has not improved for
        ``n_iter_no_change`` epochs and keep the best weights. The held-out rows
        are not used for pre-training either.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping.
    n_iter_no_change : int, default=20
        Patience of early stopping, in epochs.
    pretrain : bool, default=True
        Pre-train the stack layer by layer before fine-tuning. ``False`` starts
        fine-tuning from the random initialisation (the ablation).
    random_state : int, RandomState instance or None, default=None
        Seeds every random choice of :meth:`fit`.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train. ``"auto"`` takes the GPU when torch sees one. Prediction
        always runs in NumPy on the CPU.
    verbose : int, default=0
        Print one line per epoch when > 0.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` was a DataFrame with string column names.
    coefs_ : list of ndarray
        Weight matrices of the encoders and of the softmax layer,
        ``coefs_[k]`` of shape ``(n_in_k, n_out_k)`` (float32).
    intercepts_ : list of ndarray
        Their biases.
    decoder_coefs_, decoder_intercepts_ : list of ndarray
        Decoder weights and biases of each pre-trained autoencoder (empty when
        ``pretrain=False``); not used for prediction.
    pretrain_loss_curves_ : list of list of float
        Per layer, the mean denoising reconstruction error
        ``1/2 ||x - z(x~)||^2`` of each pre-training epoch.
    loss_curve_ : list of float
        Mean training cross-entropy of each fine-tuning epoch.
    validation_loss_curve_ : list of float
        Validation cross-entropy of each epoch (empty without early stopping).
    n_iter_ : int
        Fine-tuning epochs run.
    best_epoch_ : int
        Epoch (1-based) whose weights were kept.
    device_ : str
        Device the fit ran on.
    fit_time_s_ : float
        Wall time of :meth:`fit` in seconds.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(MinMaxScaler(), StackedDenoisingAutoencoderClassifier(random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (200, 200),
        corruption: float = 0.2,
        noise: str = "masking",
        pretrain_epochs: int = 20,
        finetune_epochs: int = 200,
        pretrain_learning_rate: float = 1e-2,
        learning_rate: float = 2e-3,
        batch_size: int = 32,
        weight_decay: float = 1e-4,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 20,
        pretrain: bool = True,
        random_state: int | np.random.RandomState | None = None,
        device: str = "cpu",
        verbose: int = 0,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.corruption = corruption
        self.noise = noise
        self.pretrain_epochs = pretrain_epochs
        self.finetune_epochs = finetune_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.pretrain = pretrain
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ checks

    def _validate_params(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (int(sizes),)
        try:
            sizes = tuple(int(s) for s in sizes)
        except TypeError:
            raise ModelError(f"hidden_layer_sizes must be a tuple of positive ints, got {sizes!r}") from None
        if not sizes or any(s <= 0 for s in sizes):
            raise ModelError(f"hidden_layer_sizes must be a non-empty tuple of positive ints, got {sizes!r}")
        if self.noise not in _NOISES:
            raise ModelError(f"noise must be one of {_NOISES}, got {self.noise!r}")
        for name in ("corruption", "validation_fraction"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real):
                raise ModelError(f"{name} must be a number, got {value!r}")
        if self.noise == "masking" and not 0.0 <= self.corruption < 1.0:
            raise ModelError(f"corruption must be in [0, 1) for masking noise, got {self.corruption!r}")
        if self.noise == "gaussian" and not self.corruption >= 0.0:
            raise ModelError(f"corruption must be >= 0 for gaussian noise, got {self.corruption!r}")
        for name in ("pretrain_epochs", "finetune_epochs"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or int(value) < 0:
                raise ModelError(f"{name} must be a non-negative int, got {value!r}")
        for name in ("batch_size", "n_iter_no_change"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or int(value) < 1:
                raise ModelError(f"{name} must be a positive int, got {value!r}")
        for name in ("pretrain_learning_rate", "learning_rate"):
            value = getattr(self, name)
            if not (isinstance(value, numbers.Real) and float(value) > 0):
                raise ModelError(f"{name} must be a positive number, got {value!r}")
        if not (isinstance(self.weight_decay, numbers.Real) and float(self.weight_decay) >= 0):
            raise ModelError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if not 0.0 < self.validation_fraction < 1.0:
            raise ModelError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        if self.device not in _DEVICES:
            raise ModelError(f"device must be one of {_DEVICES}, got {self.device!r}")
        return sizes

    def _resolve_device(self) -> str:
        import torch

        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ModelError("device='cuda' was asked for but torch sees no CUDA GPU; use 'cpu' or 'auto'")
        return self.device

    # --------------------------------------------------------------------- fit

    def fit(self, X: Any, y: Any) -> StackedDenoisingAutoencoderClassifier:
        """Pre-train the autoencoders layer by layer, then fine-tune the stack.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features, best scaled to [0, 1] (the decoders are sigmoid
            units, as in the paper; ``make_model("sae")`` puts a ``MinMaxScaler``
            in front).
        y : array-like of shape (n_samples,)
            Class labels; at least two classes.

        Returns
        -------
        self

        Raises
        ------
        ModelError
            On NaN/inf features, fewer than two classes or a bad hyper-parameter.
        """
        import torch

        started = time.perf_counter()
        sizes = self._validate_params()
        _check_finite(X, "fit")
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise ModelError(
                f"fit: the training labels hold only one class ({self.classes_[0]!r}); "
                "a classifier needs at least 2 classes"
            )
        device = self._resolve_device()
        self.device_ = device
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        gen = torch.Generator(device="cpu").manual_seed(seed)

        X_tr, y_tr, X_val, y_val = self._split(X, y_enc, seed)
        n_classes = self.classes_.size

        with torch.random.fork_rng(devices=[]):  # no side effect on the global generator
            encoders, decoders = self._init_layers(X.shape[1], sizes, n_classes, gen)
            xt = torch.as_tensor(X_tr, dtype=torch.float32)
            self.pretrain_loss_curves_: list[list[float]] = []
            if self.pretrain:
                codes = xt
                for k, (enc, dec) in enumerate(zip(encoders[:-1], decoders, strict=True)):
                    curve = self._pretrain_layer(codes, enc, dec, gen, device, k)
                    self.pretrain_loss_curves_.append(curve)
                    with torch.no_grad():
                        codes = torch.sigmoid(codes @ enc[0].T + enc[1])
            self._finetune(encoders, xt, y_tr, X_val, y_val, gen, device)

        self.coefs_ = [w.detach().cpu().numpy().T.copy() for w, _ in encoders]
        self.intercepts_ = [b.detach().cpu().numpy().copy() for _, b in encoders]
        if self.pretrain:
            self.decoder_coefs_ = [w.detach().cpu().numpy().T.copy() for w, _ in decoders]
            self.decoder_intercepts_ = [b.detach().cpu().numpy().copy() for _, b in decoders]
        else:
            self.decoder_coefs_, self.decoder_intercepts_ = [], []
        self.fit_time_s_ = time.perf_counter() - started
        return self

    def _split(
        self, X: np.ndarray, y: np.ndarray, seed: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        if not self.early_stopping:
            return X, y, None, None
        n_val = int(np.ceil(self.validation_fraction * X.shape[0]))
        counts = np.bincount(y)
        if n_val < 1 or X.shape[0] - n_val < 2:
            return X, y, None, None
        stratify = y if (counts.min() >= 2 and n_val >= counts.size) else None
        X_tr, X_val, y_tr, y_val = train_test_split(
            X, y, test_size=n_val, random_state=seed, stratify=stratify
        )
        return X_tr, y_tr, X_val, y_val

    @staticmethod
    def _init_layers(
        n_in: int, sizes: tuple[int, ...], n_classes: int, gen: Any
    ) -> tuple[list[list[Any]], list[list[Any]]]:
        import torch

        def layer(fan_in: int, fan_out: int, gain: float) -> list[Any]:
            # Glorot & Bengio (2010) uniform initialisation, x4 for sigmoid units.
            bound = gain * np.sqrt(6.0 / (fan_in + fan_out))
            w = torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=gen)
            return [w, torch.zeros(fan_out)]

        dims = (n_in, *sizes)
        encoders = [layer(dims[k], dims[k + 1], 4.0) for k in range(len(sizes))]
        encoders.append(layer(dims[-1], n_classes, 1.0))
        decoders = [layer(dims[k + 1], dims[k], 4.0) for k in range(len(sizes))]
        return encoders, decoders

    def _epoch_order(self, n: int, gen: Any) -> tuple[Any, int]:
        """One random permutation of the rows per epoch, and the mini-batch size."""
        import torch

        return torch.randperm(n, generator=gen), min(int(self.batch_size), n)

    def _adam(self, params: list[Any], lr: float) -> Any:
        """Adam over ``params`` whose ``.grad`` the training loops fill in by hand."""
        import torch

        for p in params:
            p.grad = torch.zeros_like(p)
        # One fused kernel per step instead of ~10 foreach calls (CPU and CUDA).
        return torch.optim.Adam(params, lr=lr, weight_decay=float(self.weight_decay), fused=True)

    def _pretrain_layer(
        self, codes: Any, enc: list[Any], dec: list[Any], gen: Any, device: str, k: int
    ) -> list[float]:
        """Train one denoising autoencoder (Eq. 1-3) by mini-batch Adam.

        Forward and backward passes are written out (:func:`_autoencoder_gradients`):
        no autograd graph is built per step. The rows are gathered once per
        epoch in a random order and the corruption of the whole epoch is drawn in
        one call; mini-batches are then contiguous slices of both.
        """
        import torch

        params = [p.to(device).clone() for p in (*enc, *dec)]
        w1, b1, w2, b2 = params
        opt = self._adam(params, self.pretrain_learning_rate)
        data = codes.to(device)
        n = data.shape[0]
        curve: list[float] = []
        with torch.no_grad():
            for epoch in range(int(self.pretrain_epochs)):
                order, size = self._epoch_order(n, gen)
                clean_all = data[order.to(device)]
                noisy_all = self._corrupt(clean_all, gen)
                total = torch.zeros((), dtype=torch.float64, device=device)
                for start in range(0, n, size):
                    total += _autoencoder_gradients(
                        noisy_all[start : start + size], clean_all[start : start + size], w1, b1, w2, b2
                    )
                    opt.step()
                curve.append(float(total) / n)
                if self.verbose:
                    print(f"pre-train layer {k + 1} epoch {epoch + 1}: reconstruction error {curve[-1]:.5f}")
        for dst, src in zip((*enc, *dec), params, strict=True):
            dst.data = src.detach().cpu()
        return curve

    def _corrupt(self, clean: Any, gen: Any) -> Any:
        import torch

        if self.corruption == 0:
            return clean
        # Draw on the CPU generator so that CPU and GPU runs see the same noise.
        if self.noise == "masking":
            keep = torch.rand(clean.shape, generator=gen) >= self.corruption
            return clean * keep.to(clean.device, clean.dtype)
        return clean + self.corruption * torch.randn(clean.shape, generator=gen).to(clean.device)

    def _finetune(
        self,
        encoders: list[list[Any]],
        xt: Any,
        y_tr: np.ndarray,
        X_val: np.ndarray | None,
        y_val: np.ndarray | None,
        gen: Any,
        device: str,
    ) -> None:
        """Fine-tune the whole stack with the softmax cross-entropy.

        Forward and backward passes of the sigmoid stack are written out
        (:func:`_stack_gradients`: no autograd graph per step); the validation loss
        is computed once per epoch.
        """
        import torch

        params = [p.to(device).clone() for layer in encoders for p in layer]
        weights, biases = params[0::2], params[1::2]
        opt = self._adam(params, self.learning_rate)
        data = xt.to(device)
        n = data.shape[0]
        target = torch.as_tensor(y_tr, dtype=torch.long, device=device)
        if X_val is not None:
            val_x = torch.as_tensor(X_val, dtype=torch.float32, device=device)
            val_y = torch.as_tensor(y_val, dtype=torch.long, device=device)
        self.loss_curve_: list[float] = []
        self.validation_loss_curve_: list[float] = []
        best = [p.clone() for p in params]
        best_loss, best_epoch, stale = np.inf, 0, 0
        epoch = 0
        with torch.no_grad():
            for epoch in range(1, int(self.finetune_epochs) + 1):
                order, size = self._epoch_order(n, gen)
                order = order.to(device)
                x_all, t_all = data[order], target[order]
                total = torch.zeros((), dtype=torch.float64, device=device)
                for start in range(0, n, size):
                    total += _stack_gradients(
                        x_all[start : start + size], t_all[start : start + size], weights, biases
                    )
                    opt.step()
                self.loss_curve_.append(float(total) / n)
                if X_val is not None:
                    val_sum, _ = _cross_entropy_sum(_stack_forward(val_x, weights, biases)[-1], val_y)
                    monitored = float(val_sum) / val_y.shape[0]
                    self.validation_loss_curve_.append(monitored)
                else:
                    monitored = self.loss_curve_[-1]
                if self.verbose:
                    print(
                        f"fine-tune epoch {epoch}: loss {self.loss_curve_[-1]:.5f} monitored {monitored:.5f}"
                    )
                if monitored < best_loss - 1e-6:
                    best_loss, best_epoch, stale = monitored, epoch, 0
                    for dst, src in zip(best, params, strict=True):
                        dst.copy_(src)
                else:
                    stale += 1
                    if self.early_stopping and stale >= self.n_iter_no_change:
                        break
        if best_epoch == 0:  # no epoch run: keep the (pre-trained) initial weights
            best = [p.clone() for p in params]
        self.n_iter_ = epoch
        self.best_epoch_ = best_epoch
        for j, layer in enumerate(encoders):
            layer[0] = best[2 * j].cpu()
            layer[1] = best[2 * j + 1].cpu()

    # ----------------------------------------------------------------- predict

    def _logits(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "coefs_")
        _check_finite(X, "predict")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        h = X
        for w, b in zip(self.coefs_[:-1], self.intercepts_[:-1], strict=True):
            h = expit(h @ w.astype(np.float64) + b.astype(np.float64))
        return h @ self.coefs_[-1].astype(np.float64) + self.intercepts_[-1].astype(np.float64)

    def decision_function(self, X: Any) -> np.ndarray:
        """Confidence scores: the log-odds of ``classes_[1]`` for two classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            For two classes, ``log p(classes_[1]) - log p(classes_[0])``;
            otherwise the softmax layer's inputs (logits).
        """
        z = self._logits(X)
        if z.shape[1] == 2:
            return z[:, 1] - z[:, 0]
        return z

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from the softmax layer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        z = self._logits(X)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        logits = self._logits(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
