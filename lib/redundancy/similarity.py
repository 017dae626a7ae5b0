"""Layer similarity: cosine, linear CKA (biased and debiased) and mutual k-NN alignment.

Rows are samples (utterances); a layer's representation is each utterance flattened over time
(T*D), as the authors did, or mean-pooled over time. Every representation is *centred* first (the
mean over the utterances of a batch subtracted from each column), as the paper's section 2.1 says.
CKA centres by construction; for mutual k-NN centring changes which inner products are largest, and
for cosine it changes the question from "does the vector keep its direction?" to "does the
utterance's *deviation from the average utterance* keep its direction?": a large shared offset no
longer makes every pair of layers look alike. ``center=False`` gives the raw variants. Every metric is computed either over all
utterances at once (``batch_size=None``) or, as the authors did, on minibatches (128 utterances)
and averaged over batches. The last ``n % batch_size`` utterances are left out, like a data loader
with ``drop_last``.

All-pairs matrices come from quantities computed once per layer and batch, never per pair:
- CKA and mutual k-NN use only the Gram matrix ``K = X X^T`` of each layer and batch (float64).
  Biased CKA is ``<HKH, HLH>_F / (||HKH||_F ||HLH||_F)`` (Kornblith et al. 2019, eq. 4). Debiased CKA
  swaps in U-centred Gram matrices, whose inner product is ``n(n-3)`` times the unbiased HSIC of
  Song et al. (2012) (Szekely & Rizzo 2014). Mutual k-NN keeps each layer's neighbour sets as 0/1
  matrices, so all overlaps are one matrix product.
- Cosine uses unit-normalised rows: one pass over utterance chunks gives every pair's per-utterance
  cosines.
Then each metric for all pairs is a single (L, m) x (m, L) product. A bootstrap replicate only indexes
into the stored Gram matrices (CKA) or the per-utterance values (cosine, k-NN), so it is cheap.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

METRICS: tuple[str, ...] = ("cosine", "cka", "cka_debiased", "mutual_knn")
_CHUNK_BYTES = 2**26  # working-memory budget of one float64 block (64 MiB)


# --------------------------------------------------------------------------------------------
# inputs
def _as_matrix(x: Any, name: str, device: str | torch.device = "cpu") -> torch.Tensor:
    """A 2-D float64 tensor on ``device``, with an error that names the argument."""
    if isinstance(x, torch.Tensor):
        t = x.detach()
    elif isinstance(x, np.ndarray):
        # torch shares no read-only memory (a memory-mapped cache file): such arrays are copied,
        # into the float64 they become below anyway, instead of a warning in the notebook
        t = torch.from_numpy(np.ascontiguousarray(x) if x.flags.writeable else x.astype(np.float64))
    else:
        raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(x).__name__}")
    if t.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (samples, features), got shape {tuple(t.shape)}; flatten (n, T, D) "
            "hidden states first (LayerStates.flat) or use similarity_matrix(..., pooling=...)"
        )
    if t.shape[0] < 2 or t.shape[1] < 1:
        raise ValueError(f"{name} needs at least 2 samples and 1 feature, got shape {tuple(t.shape)}")
    return t.to(device=device, dtype=torch.float64)


def _pair(X: Any, Y: Any, device: str | torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _as_matrix(X, "X", device), _as_matrix(Y, "Y", device)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"X and Y must have the same number of samples (rows): {x.shape[0]} != {y.shape[0]}")
    return x, y


def _batches(n: int, batch_size: int | None) -> list[slice]:
    """Row slices of the minibatches (drop_last); one slice over everything when ``None``."""
    if batch_size is None:
        return [slice(0, n)]
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 or None, got {batch_size}")
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size} is larger than the number of samples n={n}")
    return [slice(s, s + batch_size) for s in range(0, n - batch_size + 1, batch_size)]


def _check_k(k: int, n: int) -> None:
    if not 1 <= int(k) <= n - 1:
        raise ValueError(f"k must be in 1..{n - 1} (samples per batch minus self), got k={k}")


# --------------------------------------------------------------------------------------------
# Gram-matrix building blocks (all batched over leading dimensions)
def gram(X: Any, device: str | torch.device = "cpu") -> torch.Tensor:
    """Linear kernel ``X X^T`` in float64."""
    x = _as_matrix(X, "X", device)
    return x @ x.T


def center_gram(K: torch.Tensor) -> torch.Tensor:
    """``H K H`` with ``H = I - 11^T/n``: the Gram matrix of column-centred features."""
    return K - K.mean(-1, keepdim=True) - K.mean(-2, keepdim=True) + K.mean((-2, -1), keepdim=True)


def u_center_gram(K: torch.Tensor) -> torch.Tensor:
    """U-centring (Szekely & Rizzo 2014): ``<U(K), U(L)> / (n (n-3))`` is the unbiased HSIC."""
    n = K.shape[-1]
    if n < 4:
        raise ValueError(f"the debiased estimator needs at least 4 samples per batch, got {n}")
    eye = torch.eye(n, dtype=torch.bool, device=K.device)
    K = K.masked_fill(eye, 0.0)
    rows = K.sum(-1, keepdim=True)
    cols = K.sum(-2, keepdim=True)
    total = K.sum((-2, -1), keepdim=True)
    U = K - rows / (n - 2) - cols / (n - 2) + total / ((n - 1) * (n - 2))
    return U.masked_fill(eye, 0.0)


def cka_from_grams(K: torch.Tensor, L: torch.Tensor, debiased: bool = False) -> float:
    """CKA of two (n, n) Gram matrices of the same samples."""
    center = u_center_gram if debiased else center_gram
    Kc, Lc = center(K), center(L)
    return float((Kc * Lc).sum() / torch.sqrt((Kc * Kc).sum() * (Lc * Lc).sum()))


def _neighbour_sets(K: torch.Tensor, k: int, normalize: bool) -> torch.Tensor:
    """0/1 float matrices (..., n, n): row i marks the k largest inner products of i, self excluded."""
    n = K.shape[-1]
    if normalize:
        d = torch.sqrt(torch.diagonal(K, dim1=-2, dim2=-1).clamp_min(1e-300))
        K = K / d[..., :, None] / d[..., None, :]
    eye = torch.eye(n, dtype=torch.bool, device=K.device)
    idx = K.masked_fill(eye, float("-inf")).topk(k, dim=-1).indices
    member = torch.zeros(K.shape, dtype=torch.float32, device=K.device)
    return member.scatter_(-1, idx, 1.0)


# --------------------------------------------------------------------------------------------
# per-pair metrics (direct, used by tests and by the benchmark's reference implementation)
def _centred(x: torch.Tensor, center: bool) -> torch.Tensor:
    """Columns minus their mean over the rows (the utterances of one batch)."""
    return x - x.mean(0, keepdim=True) if center else x


def _cosine_once(x: torch.Tensor, y: torch.Tensor) -> float:
    if x.shape != y.shape:
        raise ValueError(f"cosine needs X and Y of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    num = (x * y).sum(1)
    den = x.norm(dim=1).clamp_min(1e-300) * y.norm(dim=1).clamp_min(1e-300)
    return float((num / den).mean())


def cosine(X: Any, Y: Any, *, batch_size: int | None = None, center: bool = True, device: str = "cpu") -> float:
    """Mean over rows of cos(X[i], Y[i]): how far a layer turns each utterance's vector.

    ``center``: subtract each batch's column means from X and Y first (the paper's setting).
    """
    x, y = _pair(X, Y, device)
    return float(np.mean([_cosine_once(_centred(x[s], center), _centred(y[s], center))
                          for s in _batches(x.shape[0], batch_size)]))


def _cka_once(x: torch.Tensor, y: torch.Tensor, debiased: bool, form: str) -> float:
    if form == "auto":
        form = "gram" if debiased or x.shape[0] <= max(x.shape[1], y.shape[1]) else "features"
    if form == "gram":
        return cka_from_grams(x @ x.T, y @ y.T, debiased)
    if form != "features":
        raise ValueError(f"unknown form {form!r}: use 'auto', 'gram' or 'features'")
    if debiased:
        raise ValueError("the debiased estimator is computed from Gram matrices: use form='gram'")
    xc, yc = x - x.mean(0), y - y.mean(0)
    num = (yc.T @ xc).square().sum()
    return float(num / ((xc.T @ xc).norm() * (yc.T @ yc).norm()))


def linear_cka(X: Any, Y: Any, debiased: bool = False, *, batch_size: int | None = None,
               form: str = "auto", device: str = "cpu") -> float:
    """Linear CKA (Kornblith et al. 2019), biased HSIC or the debiased (unbiased HSIC) estimator.

    Biased: ``||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` with column-centred Xc, Yc, or the
    equivalent Gram form. ``form`` picks the cheaper one by default (Gram when n <= d).
    """
    x, y = _pair(X, Y, device)
    return float(np.mean([_cka_once(x[s], y[s], debiased, form) for s in _batches(x.shape[0], batch_size)]))


def _knn_once(x: torch.Tensor, y: torch.Tensor, k: int, normalize: bool, center: bool) -> float:
    _check_k(k, x.shape[0])
    x, y = _centred(x, center), _centred(y, center)
    a = _neighbour_sets(x @ x.T, k, normalize)
    b = _neighbour_sets(y @ y.T, k, normalize)
    return float((a * b).sum(1).mean() / k)


def mutual_knn(X: Any, Y: Any, k: int, *, batch_size: int | None = None, normalize: bool = False,
               center: bool = True, device: str = "cpu") -> float:
    """Mutual k-NN alignment (Huh et al. 2024): mean over samples of ``|N_X(i) & N_Y(i)| / k``.

    Neighbours by inner product, self excluded; ``normalize=True`` uses cosine neighbours (as the
    platonic-representation code, which L2-normalises features first). ``center``: neighbours of the
    batch-centred rows (the paper's setting).
    """
    x, y = _pair(X, Y, device)
    return float(np.mean([_knn_once(x[s], y[s], int(k), normalize, center)
                          for s in _batches(x.shape[0], batch_size)]))


# --------------------------------------------------------------------------------------------
# per-layer statistics, computed once
@dataclass
class LayerStatistics:
    """What every all-pairs metric needs, computed in one pass per layer.

    grams: (B, L, b, b) float64 raw Gram matrices of each batch and layer (None if not needed);
    cos_rows: (B, b, L, L) float64 per-utterance cosines between layers (None if not needed), of the
    batch-centred rows when ``center``. Mutual k-NN centres the Gram matrices when ``center``
    (``H K H`` is the Gram matrix of the centred rows); CKA centres them anyway.
    """

    grams: torch.Tensor | None
    cos_rows: torch.Tensor | None
    batch_size: int | None
    n_used: int
    n_layers: int
    center: bool = True

    @property
    def per_batch(self) -> int:
        return self.n_used if self.batch_size is None else self.batch_size


def _layer_list(layers: Any) -> list[Any]:
    if hasattr(layers, "n_layers") and hasattr(layers, "__getitem__") and not isinstance(layers, (list, tuple)):
        return [layers[l] for l in range(layers.n_layers)]  # LayerStates: memmaps (n, T, D)
    layers = list(layers)
    if len(layers) < 1:
        raise ValueError("layers is empty: pass one (n, d) or (n, T, D) array per layer")
    return layers


def _rows(layer: Any, rows: slice, pooling: str, index: int) -> np.ndarray | torch.Tensor:
    """Rows of one layer as a 2-D block, flattened over time or mean-pooled for 3-D inputs."""
    if not isinstance(layer, (np.ndarray, torch.Tensor)):
        raise TypeError(f"layers[{index}] must be a numpy array or a torch tensor, got {type(layer).__name__}")
    block = layer[rows]
    if block.ndim == 2:
        return block
    if block.ndim != 3:
        raise ValueError(f"layers[{index}] must be (n, d) or (n, T, D), got {block.ndim} dimensions")
    if pooling == "flatten":
        return block.reshape(block.shape[0], -1)
    if pooling == "mean":
        return block.mean(1) if isinstance(block, torch.Tensor) else block.mean(1, dtype=np.float64)
    raise ValueError(f"unknown pooling {pooling!r}: use 'flatten' (the authors') or 'mean'")


def _as_torch(block: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A tensor view of a block; read-only memmaps are fine, the block is only copied from."""
    if isinstance(block, np.ndarray):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            return torch.from_numpy(np.ascontiguousarray(block))
    return block


def _block_gram(block: np.ndarray | torch.Tensor, buffer: torch.Tensor) -> torch.Tensor:
    """X X^T in float64, converting column chunks into a reused float64 ``buffer`` (rows, cols).

    Reusing one buffer avoids allocating (and page-faulting) a fresh float64 copy per layer.
    """
    rows, d = block.shape
    step = buffer.shape[1]
    K = torch.zeros(rows, rows, dtype=torch.float64, device=buffer.device)
    for c in range(0, d, step):
        width = min(step, d - c)
        x = buffer[:rows, :width]
        x.copy_(_as_torch(block[:, c:c + width]))
        K.addmm_(x, x.T)
    return K


def layer_statistics(
    layers: Any,
    *,
    batch_size: int | None = None,
    pooling: str = "flatten",
    need_gram: bool = True,
    need_cosine: bool = True,
    center: bool = True,
    device: str = "cpu",
    progress: bool = False,
) -> LayerStatistics:
    """Per-layer quantities for all metrics: Gram matrices per batch, per-utterance cosines.

    ``layers``: a ``LayerStates`` or a sequence of per-layer arrays/tensors, (n, d) or (n, T, D)
    (then ``pooling`` decides: ``flatten`` over time, the authors' choice, or ``mean``).
    ``center``: every metric sees batch-centred representations (the paper's setting).
    """
    from tqdm import tqdm

    layers = _layer_list(layers)
    n = int(layers[0].shape[0])
    for i, layer in enumerate(layers):
        if int(layer.shape[0]) != n:
            raise ValueError(f"layers[{i}] has {layer.shape[0]} samples, layers[0] has {n}: all layers need the same")
    slices = _batches(n, batch_size)
    n_used = slices[-1].stop
    L = len(layers)
    grams = None
    if need_gram:
        b = slices[0].stop - slices[0].start
        d = int(_rows(layers[0], slice(0, 1), pooling, 0).shape[1])
        buffer = torch.empty(b, max(1, min(d, _CHUNK_BYTES // (8 * b))), dtype=torch.float64, device=device)
        grams = torch.empty(len(slices), L, b, b, dtype=torch.float64, device=device)
        for l in tqdm(range(L), desc="Gram matrices", disable=not progress, unit="layer"):
            for j, s in enumerate(slices):
                grams[j, l] = _block_gram(_rows(layers[l], s, pooling, l), buffer)
        del buffer
    cos_rows = None
    if need_cosine:
        d = int(_rows(layers[0], slice(0, 1), pooling, 0).shape[1])
        chunk = max(1, min(n_used, _CHUNK_BYTES // (8 * L * d)))
        unit = torch.empty(L, chunk, d, dtype=torch.float64, device=device)
        out = torch.empty(n_used, L, L, dtype=torch.float64, device=device)
        for batch in tqdm(slices, desc="cosines", disable=not progress, unit="batch"):
            means = _column_means(layers, batch, pooling, d, chunk, device) if center else None
            for start in range(batch.start, batch.stop, chunk):
                s = slice(start, min(start + chunk, batch.stop))
                rows = s.stop - s.start
                for l in range(L):
                    block = _rows(layers[l], s, pooling, l)
                    if block.shape[1] != d:
                        raise ValueError(f"cosine needs layers of equal width: layers[{l}] has "
                                         f"{block.shape[1]}, layers[0] has {d}")
                    unit[l, :rows].copy_(_as_torch(block))
                u = unit[:, :rows]
                if means is not None:
                    u.sub_(means[:, None, :])
                u.div_(u.norm(dim=-1, keepdim=True).clamp_min(1e-300))
                out[s] = torch.einsum("aid,bid->iab", u, u)
        del unit
        cos_rows = out.reshape(len(slices), -1, L, L)
    return LayerStatistics(grams, cos_rows, batch_size, n_used, L, center)


def _column_means(layers: list[Any], batch: slice, pooling: str, d: int, chunk: int,
                  device: str | torch.device) -> torch.Tensor:
    """(L, d) float64 column means of every layer over the rows of one batch, read in chunks."""
    means = torch.zeros(len(layers), d, dtype=torch.float64, device=device)
    for start in range(batch.start, batch.stop, chunk):
        s = slice(start, min(start + chunk, batch.stop))
        for l, layer in enumerate(layers):
            means[l] += _as_torch(_rows(layer, s, pooling, l)).to(device, torch.float64).sum(0)
    return means / (batch.stop - batch.start)


# --------------------------------------------------------------------------------------------
# all pairs from the statistics
def _normalised_inner(M: torch.Tensor) -> torch.Tensor:
    """(B, L, m) -> (B, L, L) cosines between the L flattened matrices of each batch."""
    inner = M @ M.transpose(-1, -2)
    diag = torch.sqrt(torch.diagonal(inner, dim1=-2, dim2=-1))
    return inner / diag[..., :, None] / diag[..., None, :]


def _cka_batches(grams: torch.Tensor, debiased: bool) -> torch.Tensor:
    """(B, L, b, b) Gram matrices -> (B, L, L) CKA per batch."""
    centred = u_center_gram(grams) if debiased else center_gram(grams)
    return _normalised_inner(centred.flatten(-2))


def _knn_rows(grams: torch.Tensor, k: int, normalize: bool, center: bool = True) -> torch.Tensor:
    """(B, L, b, b) -> (B, b, L, L): per-utterance neighbour overlap / k for every pair of layers."""
    _check_k(k, grams.shape[-1])
    if center:
        grams = center_gram(grams)
    member = _neighbour_sets(grams, k, normalize)  # (B, L, b, b)
    return torch.einsum("blij,bmij->bilm", member, member).double() / k


def _matrix(values: torch.Tensor) -> np.ndarray:
    """Average the per-batch (and per-row) values to an (L, L) numpy matrix."""
    return values.reshape(-1, *values.shape[-2:]).mean(0).cpu().numpy()


def matrices_from_statistics(stats: LayerStatistics, metrics: Sequence[str] = METRICS, *,
                             ks: Sequence[int] = (10,), normalize: bool = False) -> dict[str, Any]:
    """``{metric: (L, L) matrix}``; ``mutual_knn`` maps to ``{k: (L, L) matrix}``."""
    out: dict[str, Any] = {}
    for metric in metrics:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}: expected one of {METRICS}")
        if metric == "cosine":
            if stats.cos_rows is None:
                raise ValueError("these statistics were computed with need_cosine=False")
            out[metric] = _matrix(stats.cos_rows)
            continue
        if stats.grams is None:
            raise ValueError("these statistics were computed with need_gram=False")
        if metric in ("cka", "cka_debiased"):
            out[metric] = _matrix(_cka_batches(stats.grams, metric == "cka_debiased"))
        else:
            out[metric] = {int(k): _matrix(_knn_rows(stats.grams, int(k), normalize, stats.center)) for k in ks}
    return out


def similarity_matrices(layers: Any, metrics: Sequence[str] = METRICS, *, ks: Sequence[int] = (10,),
                        batch_size: int | None = None, pooling: str = "flatten", normalize: bool = False,
                        center: bool = True, device: str = "cpu", progress: bool = False) -> dict[str, Any]:
    """Several metrics for all pairs of layers from one pass over the data (see module docstring)."""
    stats = layer_statistics(layers, batch_size=batch_size, pooling=pooling, device=device, center=center,
                             need_gram=any(m != "cosine" for m in metrics),
                             need_cosine="cosine" in metrics, progress=progress)
    return matrices_from_statistics(stats, metrics, ks=ks, normalize=normalize)


def similarity_matrix(layers: Any, metric: str, *, k: int = 10, batch_size: int | None = None,
                      pooling: str = "flatten", normalize: bool = False, center: bool = True,
                      device: str = "cpu", progress: bool = False) -> np.ndarray:
    """(L, L) matrix of ``metric`` in ("cosine", "cka", "cka_debiased", "mutual_knn") for all pairs."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: expected one of {METRICS}")
    result = similarity_matrices(layers, (metric,), ks=(k,), batch_size=batch_size, pooling=pooling,
                                 normalize=normalize, center=center, device=device, progress=progress)[metric]
    return result[int(k)] if metric == "mutual_knn" else result


# --------------------------------------------------------------------------------------------
# uncertainty
@dataclass
class BootstrapInterval:
    """Point estimate and percentile interval, each (L, L)."""

    estimate: np.ndarray
    low: np.ndarray
    high: np.ndarray
    confidence: float
    n_boot: int


def bootstrap_similarity(stats: LayerStatistics, metric: str, *, k: int = 10, n_boot: int = 200,
                         confidence: float = 0.95, seed: int = 0, normalize: bool = False,
                         layers: Sequence[int] | None = None, progress: bool = False) -> BootstrapInterval:
    """Intervals over utterances, resampled within each batch (stratified), from stored quantities.

    Cosine and mutual k-NN are means of per-utterance values: percentile bootstrap of those values
    (the k-NN neighbour sets are kept from the full batch: with duplicates a copy would become its
    own neighbour). CKA is not a mean, and resampling with replacement inflates it (duplicated
    utterances align perfectly in every layer), so it uses half-sampling, the delete-d jackknife with
    d = b/2 (Shao & Wu 1989): each replicate takes half of every batch without replacement (a Gram
    sub-matrix, no new features needed), whose spread matches the full estimator's variance; the
    interval is the estimate plus the quantiles of the replicates' deviations from their mean.
    ``layers`` restricts the work to a subset of layers (the matrices are then len(layers) square).
    """
    from tqdm import tqdm

    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}: expected one of {METRICS}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if layers is not None:
        keep = torch.as_tensor(list(layers), dtype=torch.long)
        if keep.numel() == 0 or keep.min() < -stats.n_layers or keep.max() >= stats.n_layers:
            raise ValueError(f"layers must be indices in 0..{stats.n_layers - 1}, got {list(layers)}")
        stats = LayerStatistics(
            None if stats.grams is None else stats.grams[:, keep.to(stats.grams.device)],
            None if stats.cos_rows is None else stats.cos_rows[..., keep[:, None], keep[None, :]],
            stats.batch_size, stats.n_used, keep.numel(), stats.center)
    gen = torch.Generator().manual_seed(seed)
    alpha = (1 - confidence) / 2
    if metric in ("cosine", "mutual_knn"):
        if metric == "cosine":
            if stats.cos_rows is None:
                raise ValueError("these statistics were computed with need_cosine=False")
            rows = stats.cos_rows
        else:
            if stats.grams is None:
                raise ValueError("these statistics were computed with need_gram=False")
            rows = _knn_rows(stats.grams, int(k), normalize, stats.center)
        estimate = _matrix(rows)
        B, b = rows.shape[:2]
        ar_b = torch.arange(B, device=rows.device)[None, :, None]
        reps = []
        # replicates are vectorised in groups: many tiny ops are slow on a busy CPU
        group = max(1, _CHUNK_BYTES // (8 * rows.numel()))
        for start in tqdm(range(0, n_boot, group), desc=f"bootstrap {metric}", disable=not progress):
            r = min(group, n_boot - start)
            idx = torch.randint(0, b, (r, B, b), generator=gen).to(rows.device)
            reps.append(rows[ar_b, idx].mean((1, 2)))
        stacked = torch.cat(reps).cpu().numpy()
        low, high = np.quantile(stacked, [alpha, 1 - alpha], axis=0)
        return BootstrapInterval(estimate, low, high, confidence, n_boot)
    if stats.grams is None:
        raise ValueError("these statistics were computed with need_gram=False")
    grams = stats.grams
    debiased = metric == "cka_debiased"
    estimate = _matrix(_cka_batches(grams, debiased))
    B, L, b = grams.shape[:3]
    h = b // 2
    ar_b = torch.arange(B, device=grams.device)[None, :, None, None, None]
    ar_l = torch.arange(L, device=grams.device)[None, None, :, None, None]
    group = max(1, _CHUNK_BYTES // (8 * B * L * h * h * 3))
    reps = []
    for start in tqdm(range(0, n_boot, group), desc=f"half-samples {metric}", disable=not progress):
        r = min(group, n_boot - start)
        idx = torch.rand(r, B, b, generator=gen).argsort(-1)[..., :h].to(grams.device)
        sub = grams[ar_b, ar_l, idx[:, :, None, :, None], idx[:, :, None, None, :]]  # (r, B, L, h, h)
        reps.append(_cka_batches(sub, debiased).mean(1))
    deviations = torch.cat(reps).cpu().numpy()
    deviations -= deviations.mean(0)
    low, high = estimate + np.quantile(deviations, [alpha, 1 - alpha], axis=0)
    return BootstrapInterval(estimate, low, high, confidence, n_boot)


# --------------------------------------------------------------------------------------------
# one model's results, and the results file
@dataclass
class ModelSimilarity:
    """All metrics of one model (matrices), the k values used, the blocks, and the statistics.

    The matrices are (L+1, L+1): row 0 is the feature projection output, row l the output of
    transformer block l. The paper's maps show the blocks only: :meth:`paper_view` (L, L), on which
    the blocks are found (``block_tests``: metric -> :class:`~redundancy.blocks.BlockTest`, indices
    0-based into the paper view, so block l of the model is index l - 1).
    """

    matrices: dict[str, Any]  # metric -> (L+1, L+1); "mutual_knn" -> {k: (L+1, L+1)}
    ks: list[int]
    knn_k: int
    block_tests: dict[str, Any]  # metric -> BlockTest on the paper view (mutual_knn at knn_k)
    stats: LayerStatistics
    pooling: str

    def matrix(self, metric: str, k: int | None = None) -> np.ndarray:
        """The (L+1, L+1) matrix of a metric (mutual k-NN at ``k``, default ``knn_k``), layer 0 included."""
        value = self.matrices[metric]
        return value[self.knn_k if k is None else int(k)] if metric == "mutual_knn" else value

    def paper_view(self, metric: str, k: int | None = None) -> np.ndarray:
        """The (L, L) map of the transformer blocks 1..L only, as the paper draws it."""
        return self.matrix(metric, k)[1:, 1:]

    @property
    def blocks(self) -> dict[str, list[tuple[int, int]]]:
        """metric -> blocks as ``(first, last)`` transformer-block numbers, 1-based and inclusive."""
        return {m: block_numbers(t.blocks) for m, t in self.block_tests.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "n_utterances": self.stats.n_used,
            "batch_size": self.stats.batch_size,
            "pooling": self.pooling,
            "centred": self.stats.center,
            "k_values": self.ks,
            "knn_k": self.knn_k,
            "metrics": {m: ({str(k): v.tolist() for k, v in self.matrices[m].items()} if m == "mutual_knn"
                            else self.matrices[m].tolist()) for m in self.matrices},
            "blocks": {m: ([[a + 1, b + 1] for a, b in t.blocks] if t.significant else [])
                       for m, t in self.block_tests.items()},
            "block_tests": {m: t.to_json() for m, t in self.block_tests.items()},
        }


def block_numbers(blocks: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """0-based ``(start, stop)`` blocks of the paper view -> ``(first, last)`` block numbers, 1-based."""
    return [(int(a) + 1, int(b)) for a, b in blocks]


def usable_ks(ks: Sequence[int], per_batch: int) -> list[int]:
    """The k values that fit a batch: 1 <= k < samples per batch (self is excluded)."""
    return sorted({int(k) for k in ks if 1 <= int(k) < per_batch})


def model_similarity(layers: Any, *, ks: Sequence[int], knn_k: int, batch_size: int | None,
                     pooling: str = "flatten", center: bool = True, device: str = "cpu",
                     progress: bool = False) -> ModelSimilarity:
    """Every metric for all pairs of one model's layers (layer 0 = the transformer's input, then one
    per block), and the blocks each metric shows among the transformer blocks (the paper view)."""
    from .blocks import block_structure

    stats = layer_statistics(layers, batch_size=batch_size, pooling=pooling, device=device, center=center,
                             progress=progress)
    used = usable_ks(ks, stats.per_batch)
    if not 1 <= knn_k < stats.per_batch:
        raise ValueError(f"knn_k={knn_k} does not fit batches of {stats.per_batch} samples")
    matrices = matrices_from_statistics(stats, METRICS, ks=sorted(set(used) | {int(knn_k)}))
    tests = {m: block_structure((matrices[m][knn_k] if m == "mutual_knn" else matrices[m])[1:, 1:])
             for m in METRICS}
    return ModelSimilarity(matrices, used, int(knn_k), tests, stats, pooling)


def similarity_results(profile_name: str, models: dict[str, dict[str, ModelSimilarity]]) -> dict[str, Any]:
    """The JSON document of ``results/<profile>/similarity.json``: ``models[family][state]``."""
    return {
        "profile": profile_name,
        "metrics": list(METRICS),
        "layers": ("metrics: row/column 0 = feature projection output, l = output of transformer block l "
                   "(the last one after the final LayerNorm of stable-layer-norm models); blocks: [start, stop) "
                   "rows of those matrices (so transformer blocks start..stop-1), empty when the map has no "
                   "block structure; block_tests: the rule behind them, run on the blocks-only (paper) view, "
                   "its blocks 0-based [start, stop) over the transformer blocks"),
        "models": {family: {state: sim.to_json() for state, sim in states.items()}
                   for family, states in models.items()},
    }
