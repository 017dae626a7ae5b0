"""Blocks of similar layers: contiguous groups read off a layer-similarity matrix.

Claim C1 of the paper is that the similarity maps show blocks. This module turns "looks like a
block" into a rule that the pruning chapter can reuse.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _check_matrix(similarity: Any) -> np.ndarray:
    S = np.asarray(similarity, dtype=np.float64)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] == 0:
        raise ValueError(f"similarity must be a non-empty square (L, L) matrix, got shape {S.shape}")
    if not np.all(np.isfinite(S)):
        raise ValueError("similarity contains NaN or infinite values")
    return (S + S.T) / 2


def default_threshold(similarity: Any) -> float:
    """Mean of the off-diagonal similarities: a pair belongs together if above an average pair."""
    S = _check_matrix(similarity)
    L = S.shape[0]
    if L == 1:
        return float(S[0, 0])
    return float(S[~np.eye(L, dtype=bool)].mean())


def detect_blocks(similarity: Any, threshold: float | None = None) -> list[tuple[int, int]]:
    """Contiguous blocks of layers as ``[(start, stop), ...]`` (stop exclusive) covering 0..L-1.

    Criterion: the *fewest* contiguous blocks such that every pair of layers inside a block has
    similarity >= ``threshold``. If several segmentations use that number of blocks, the one with
    the largest summed within-block similarity wins. The exact solution comes from dynamic
    programming over block ends (O(L^3)). ``threshold=None`` uses :func:`default_threshold` (the
    mean off-diagonal similarity), which adapts to the metric's scale. The matrix is symmetrised
    first. A layer that is close to no neighbour forms a block of its own.
    """
    S = _check_matrix(similarity)
    L = S.shape[0]
    tau = default_threshold(S) if threshold is None else float(threshold)
    # valid[a, b]: layers a..b-1 form a block; score[a, b]: their summed pairwise similarity
    valid = np.zeros((L + 1, L + 1), dtype=bool)
    score = np.zeros((L + 1, L + 1))
    for a in range(L):
        worst, total = np.inf, 0.0
        for b in range(a + 1, L + 1):
            new = S[b - 1, a:b - 1]
            worst = min(worst, new.min()) if new.size else worst
            total += new.sum()
            if worst < tau:
                break
            valid[a, b], score[a, b] = True, total
    best: list[tuple[int, float, int]] = [(0, 0.0, -1)] + [(L + 1, 0.0, -1)] * L  # (blocks, -score, prev)
    for b in range(1, L + 1):
        for a in range(b):
            if valid[a, b] and best[a][0] <= L:
                cand = (best[a][0] + 1, best[a][1] - score[a, b], a)
                if cand[:2] < best[b][:2]:
                    best[b] = cand
    blocks, end = [], L
    while end > 0:
        start = best[end][2]
        blocks.append((start, end))
        end = start
    return blocks[::-1]


def block_boundaries(blocks: list[tuple[int, int]]) -> list[int]:
    """The layers where a new block starts (the first block's start, 0, left out)."""
    return [start for start, _ in blocks[1:]]


def block_labels(blocks: list[tuple[int, int]]) -> np.ndarray:
    """Block index of every layer, e.g. [0, 0, 1, 1, 1] for blocks [(0, 2), (2, 5)]."""
    return np.concatenate([np.full(stop - start, i) for i, (start, stop) in enumerate(blocks)])


# --------------------------------------------------------------------------------------------
# a block rule with a null: can say "no block structure"
@dataclass
class BlockTest:
    """The outcome of :func:`block_structure` on one map.

    ``blocks``: the chosen contiguous blocks (``[(0, L)]`` when there is no block structure);
    ``significant``: whether any segmentation beats the null; ``contrast``: the distance-matched
    within-minus-between similarity of the chosen segmentation; ``p_value``: its permutation p-value
    (Bonferroni-corrected over the numbers of blocks tried); ``per_k``: the best segmentation, its
    contrast, its null mean and its corrected p-value for every number of blocks tried.
    """

    blocks: list[tuple[int, int]]
    significant: bool
    contrast: float
    p_value: float
    per_k: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def n_blocks(self) -> int:
        return len(self.blocks) if self.significant else 1

    def to_json(self) -> dict[str, Any]:
        return {"blocks": [list(b) for b in self.blocks], "significant": self.significant,
                "contrast": self.contrast, "p_value": self.p_value,
                "per_k": {str(k): {**v, "blocks": [list(b) for b in v["blocks"]]} for k, v in self.per_k.items()}}


def _segmentations(L: int, n_blocks: int, min_size: int) -> list[tuple[int, ...]]:
    """All ways to cut 0..L-1 into ``n_blocks`` contiguous blocks of at least ``min_size`` layers."""
    cuts = itertools.combinations(range(min_size, L - min_size + 1), n_blocks - 1)
    out = []
    for c in cuts:
        edges = (0, *c, L)
        if all(b - a >= min_size for a, b in zip(edges, edges[1:])):
            out.append(edges)
    return out


def _contrast_weights(L: int, segmentations: list[tuple[int, ...]]) -> np.ndarray:
    """(n_seg, pairs) weights w so that ``w @ s`` is each segmentation's distance-matched contrast.

    For every distance d = j - i that has pairs both inside one block and across blocks, the
    contrast takes (mean within) - (mean between) at that distance, and averages these differences
    with weights n_w n_b / (n_w + n_b). A map whose values depend on distance only (a smooth band)
    therefore has contrast exactly 0 for every segmentation.
    """
    i, j = np.triu_indices(L, 1)
    dist = j - i
    W = np.zeros((len(segmentations), i.size))
    for s, edges in enumerate(segmentations):
        labels = np.searchsorted(np.asarray(edges[1:-1]), np.arange(L), side="right")
        within = labels[i] == labels[j]
        weights, rows = [], []
        for d in range(1, L):
            at = dist == d
            n_w, n_b = int((at & within).sum()), int((at & ~within).sum())
            if n_w and n_b:
                row = np.where(within, 1.0 / n_w, -1.0 / n_b) * at
                weights.append(n_w * n_b / (n_w + n_b))
                rows.append(row)
        if rows:
            omega = np.asarray(weights) / np.sum(weights)
            W[s] = omega @ np.asarray(rows)
    return W


def _diagonal_permutations(S: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """(pairs, n_perm) upper-triangle values, shuffled within each diagonal (distance kept)."""
    L = S.shape[0]
    i, j = np.triu_indices(L, 1)
    values = S[i, j]
    out = np.empty((values.size, n_perm))
    for d in range(1, L):
        at = np.flatnonzero(j - i == d)
        out[at] = values[at][rng.permuted(np.tile(np.arange(at.size), (n_perm, 1)), axis=1).T]
    return out


#: Smallest distance-matched contrast called a block: the permutation test alone finds "blocks" of
#: 0.004 in pre-trained maps whose values all lie in 0.94-1.0, significant but invisible.
MIN_CONTRAST = 0.05


def block_structure(similarity: Any, *, max_blocks: int = 4, min_size: int = 2, n_perm: int = 999,
                    alpha: float = 0.05, min_contrast: float = MIN_CONTRAST, seed: int = 0) -> BlockTest:
    """Contiguous blocks of layers, or "no block structure", with a permutation null.

    For each number of blocks k = 2..``max_blocks`` (blocks of at least ``min_size`` layers), the
    segmentation with the largest distance-matched contrast (see :func:`_contrast_weights`) is the
    candidate. The null shuffles the map's values *within each diagonal*: the similarity-versus-
    distance profile (a smooth band, as a steady drift through the layers gives) is kept, and only
    the alignment of high and low values into squares is destroyed. The p-value of k compares the
    best contrast against the best contrasts over all segmentations of the shuffled maps (so the
    search over cut points is accounted for) and is multiplied by the number of k tried
    (Bonferroni). A k qualifies when its p-value is below ``alpha`` *and* its contrast reaches
    ``min_contrast`` (an effect size on the metric's 0-1 scale). No k qualifies: one block,
    ``significant=False``. Otherwise the qualifying k with the largest standardised contrast
    (contrast minus null mean, over null spread) wins.
    """
    S = _check_matrix(similarity)
    L = S.shape[0]
    ks = [k for k in range(2, max_blocks + 1) if k * min_size <= L]
    if not ks:
        raise ValueError(f"a {L}x{L} map cannot hold 2 blocks of at least min_size={min_size} layers")
    i, j = np.triu_indices(L, 1)
    observed = S[i, j]
    null = _diagonal_permutations(S, n_perm, np.random.default_rng(seed))
    per_k: dict[int, dict[str, Any]] = {}
    best_k, best_z = None, -np.inf
    for k in ks:
        segs = _segmentations(L, k, min_size)
        W = _contrast_weights(L, segs)
        scores = W @ observed
        top = int(np.argmax(scores))
        null_max = (W @ null).max(axis=0)
        p = min(1.0, len(ks) * (1 + int((null_max >= scores[top] - 1e-12).sum())) / (n_perm + 1))
        spread = float(null_max.std()) or 1e-12
        z = (float(scores[top]) - float(null_max.mean())) / spread
        edges = segs[top]
        per_k[k] = {"blocks": list(zip(edges[:-1], edges[1:])), "contrast": float(scores[top]),
                    "null_mean": float(null_max.mean()), "p_value": p, "z": z}
        if p < alpha and scores[top] >= min_contrast and z > best_z:
            best_k, best_z = k, z
    if best_k is None:
        p_min = min(v["p_value"] for v in per_k.values())
        return BlockTest([(0, L)], False, 0.0, p_min, per_k)
    chosen = per_k[best_k]
    return BlockTest(list(chosen["blocks"]), True, chosen["contrast"], chosen["p_value"], per_k)


def c1_summary(test: BlockTest) -> dict[str, Any]:
    """Claim C1 on one map: block structure or not, and the paper's "two main blocks" shape.

    The paper (section 3.1): the first block holds about 2/3 to 3/4 of the layers, the second the
    last 4-5. For 12 blocks those two statements give a first block of 7 to 9 layers; ``paper_like``
    asks for exactly two blocks with the first in ``[min(2L/3, L - 5), 3L/4]`` layers.
    """
    L = test.blocks[-1][1]
    sizes = [b - a for a, b in test.blocks] if test.significant else []
    low, high = min(2 * L / 3, L - 5), 3 * L / 4
    return {
        "block_structure": test.significant,
        "n_blocks": len(sizes),
        "sizes": sizes,
        "first_fraction": sizes[0] / L if sizes else None,
        "last_size": sizes[-1] if sizes else None,
        "two_blocks": len(sizes) == 2,
        "paper_like": len(sizes) == 2 and low <= sizes[0] <= high,
    }
