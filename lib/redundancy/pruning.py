"""Pruning transformer blocks without post-training (PAPER.md, "Pruning").

The paper deletes whole blocks from ``model.<base>.encoder.layers`` and evaluates the model as it is.
:func:`remove_layers` does exactly that on a copy, so one loaded model can be pruned many ways.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch

from .models import base_model, encoder_layers


def _check_indices(layers: Iterable[int], n_layers: int) -> list[int]:
    """Sorted unique indices, or a clear error naming the problem."""
    indices = list(layers)
    for index in indices:
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"layers: indices must be ints, got {index!r} ({type(index).__name__})")
        if not 0 <= index < n_layers:
            raise IndexError(f"layers: index {index} is out of range for a model with {n_layers} blocks "
                             f"(valid: 0..{n_layers - 1})")
    duplicates = sorted({i for i in indices if indices.count(i) > 1})
    if duplicates:
        raise ValueError(f"layers: duplicate indices {duplicates}")
    if len(indices) >= n_layers:
        raise ValueError(f"layers: removing all {n_layers} blocks leaves no transformer; keep at least one")
    return sorted(indices)


def _move_relative_position_bias(blocks: torch.nn.ModuleList, removed: list[int]) -> None:
    """WavLM: block 0 alone owns the relative position embedding; later blocks reuse its bias.

    When block 0 goes, its embedding moves to the new first block so the remaining blocks see the
    very same position bias as in the unpruned model (and the pruned model has the layout of a
    freshly built one, so it saves and loads like any checkpoint).
    """
    if 0 not in removed:
        return
    owner = getattr(blocks[0], "attention", None)
    embed = getattr(owner, "rel_attn_embed", None)
    if embed is None:
        return
    new_first = blocks[next(i for i in range(len(blocks)) if i not in removed)]
    new_first.attention.rel_attn_embed = embed


def remove_layers(model: torch.nn.Module, layers: Iterable[int]) -> torch.nn.Module:
    """A new model without the transformer blocks ``layers`` (indices into ``encoder.layers``).

    Works on backbones and on ``...ForSequenceClassification`` models; the input model is left
    untouched; ``config.num_hidden_layers`` of the copy is updated. Out-of-range or duplicate
    indices, and removing every block, are refused.
    """
    n_layers = len(encoder_layers(model))
    removed = _check_indices(layers, n_layers)
    pruned = copy.deepcopy(model)
    blocks = encoder_layers(pruned)
    _move_relative_position_bias(blocks, removed)
    kept = [block for i, block in enumerate(blocks) if i not in removed]
    base_model(pruned).encoder.layers = torch.nn.ModuleList(kept)
    new_count = len(kept)
    for config in {id(c): c for c in (getattr(pruned, "config", None), getattr(base_model(pruned), "config", None))
                   if c is not None}.values():
        config.num_hidden_layers = new_count
    encoder_config = getattr(base_model(pruned).encoder, "config", None)
    if encoder_config is not None:
        encoder_config.num_hidden_layers = new_count
    return pruned


def backward_order(n_layers: int) -> list[int]:
    """The paper's ``backward`` order: last block first."""
    return list(range(n_layers - 1, -1, -1))


def n_to_prune(n_layers: int, fraction: float) -> int:
    """Blocks removed by a pruning fraction (rounded; at least one block always stays)."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction: expected a value in [0, 1), got {fraction}")
    return min(int(round(fraction * n_layers)), n_layers - 1)


def prune_backward(model: torch.nn.Module, fraction: float) -> torch.nn.Module:
    """The model without its last ``round(fraction * L)`` blocks (the paper's 40 %: ``fraction=0.4``)."""
    n_layers = len(encoder_layers(model))
    return remove_layers(model, backward_order(n_layers)[: n_to_prune(n_layers, fraction)])


# --------------------------------------------------------------------------------------------
# pruning orders: 0-based block indices in removal order; block 0 (the paper's block 1) never goes
ORDERS: tuple[str, ...] = ("forward", "backward", "bi", "knn-bi", "random", "block-aware", "greedy")
PAPER_ORDERS: tuple[str, ...] = ("forward", "backward", "bi", "knn-bi")


def _check_n(n_layers: int) -> None:
    if n_layers < 2:
        raise ValueError(f"pruning needs at least 2 blocks (the first is never pruned), got {n_layers}")


def forward_order(n_layers: int) -> list[int]:
    """The paper's ``forward``: block 2 first, then 3, ... (the first block is never pruned)."""
    _check_n(n_layers)
    return list(range(1, n_layers))


def backward_sweep_order(n_layers: int) -> list[int]:
    """The paper's ``backward``: the last block first, down to block 2."""
    _check_n(n_layers)
    return list(range(n_layers - 1, 0, -1))


def block_influence(adjacent_similarity: Sequence[float]) -> np.ndarray:
    """BI of every block (ShortGPT): ``1 - S(input, output)``; ``adjacent_similarity[b]`` is the
    similarity between the input and the output of block ``b`` (0-based)."""
    return 1.0 - np.asarray(adjacent_similarity, dtype=np.float64)


def influence_order(adjacent_similarity: Sequence[float]) -> list[int]:
    """``bi`` / ``knn-bi``: lowest block influence first, the first block never (ties: earlier block)."""
    bi = block_influence(adjacent_similarity)
    _check_n(bi.size)
    return sorted(range(1, bi.size), key=lambda b: (bi[b], b))


def random_order(n_layers: int, seed: int) -> list[int]:
    """A random order of blocks 2..L (a baseline)."""
    _check_n(n_layers)
    return [int(b) + 1 for b in np.random.default_rng(seed).permutation(n_layers - 1)]


def block_aware_order(adjacent_similarity: Sequence[float], blocks: Sequence[tuple[int, int]]) -> list[int]:
    """Prune inside the similarity blocks, keeping part of every block as long as possible.

    ``blocks``: contiguous ``(start, stop)`` 0-based blocks covering all transformer blocks. At each
    step the similarity block with the most layers left (ties: the later one) loses its layer of
    lowest block influence; a block's last layer goes only when every block is down to one layer.
    The first transformer block is never pruned. With one block this is the ``bi`` order of the
    same similarity.
    """
    bi = block_influence(adjacent_similarity)
    L = bi.size
    _check_n(L)
    if not blocks or blocks[0][0] != 0 or blocks[-1][1] != L or any(a[1] != b[0] for a, b in zip(blocks, blocks[1:])):
        raise ValueError(f"blocks must be contiguous (start, stop) pairs covering 0..{L}, got {list(blocks)}")
    left = [[b for b in range(start, stop) if b != 0] for start, stop in blocks]
    order: list[int] = []
    while any(len(members) > 1 for members in left):
        size = max(len(m) for m in left)
        target = max(i for i, m in enumerate(left) if len(m) == size)
        pick = min(left[target], key=lambda b: (bi[b], b))
        left[target].remove(pick)
        order.append(pick)
    rest = [b for members in left for b in members]
    return order + sorted(rest, key=lambda b: (bi[b], b))


def greedy_order(n_layers: int, score: Callable[[tuple[int, ...]], tuple[float, ...]],
                 progress: bool = False) -> tuple[list[int], list[tuple[float, ...]]]:
    """At each step remove the block whose removal keeps ``score(removed)`` highest (an upper bound
    for orders fixed in advance; ``score`` must look at validation data, never at the test clips).

    ``score`` returns a tuple compared lexicographically (e.g. accuracy, then mean log-probability
    of the true class, which breaks ties). Returns the order and the chosen score at every step.
    Cost: about L^2 / 2 calls of ``score``.
    """
    from tqdm import tqdm

    _check_n(n_layers)
    removed: list[int] = []
    scores: list[tuple[float, ...]] = []
    for _ in tqdm(range(n_layers - 1), desc="greedy", disable=not progress, unit="step"):
        candidates = [b for b in range(1, n_layers) if b not in removed]
        results = {b: score(tuple(removed + [b])) for b in candidates}
        best = max(candidates, key=lambda b: (results[b], -b))
        removed.append(best)
        scores.append(results[best])
    return removed, scores


def to_block_numbers(order: Sequence[int]) -> list[int]:
    """0-based indices -> the paper's 1-based block numbers."""
    return [int(b) + 1 for b in order]
