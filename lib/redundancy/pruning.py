"""Pruning transformer blocks without post-training (PAPER.md, "Pruning").

The paper deletes whole blocks from ``model.<base>.encoder.layers`` and evaluates the model as it is.
:func:`remove_layers` does exactly that on a copy, so one loaded model can be pruned many ways.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

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
