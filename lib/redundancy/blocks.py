"""Blocks of similar layers: contiguous groups read off a layer-similarity matrix.

Claim C1 of the paper is that the similarity maps show blocks. This module turns "looks like a
block" into a rule that the pruning chapter can reuse.
"""

from __future__ import annotations

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
