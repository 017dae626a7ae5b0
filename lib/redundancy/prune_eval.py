"""Scoring pruned models without building them: run any subset of blocks from cached block inputs.

A model without the blocks ``R`` is, on one batch of clips, the full model up to the first removed
block ``r = min(R)`` (whose input is the full model's block-``r`` input, already computed), then the
kept blocks after ``r`` in order, then the head. So:

- the full model runs once per batch of clips (:meth:`BlockRunner.block_inputs`), and every pruned
  model starts from the state before its first removed block;
- pruned models that share the removed blocks before some kept block ``j`` share the input of ``j``:
  :class:`PrunedScorer` memoises those states, so an order's sweep (nested removal sets) and the
  greedy search (one more block per candidate) reuse each other's work;
- the backward sweep needs no extra block at all: without the last ``m`` blocks the model is the head
  on the full model's block ``L - m`` output (with the final LayerNorm for stable-layer-norm models).

The head is the standard audio-classification head (``projector``, mean over frames, ``classifier``).
The tests check every path against :func:`redundancy.pruning.remove_layers` and a real forward pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from .heads import pool_frames, pooling_of
from .models import base_model, encoder_layers


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory in the heap instead of returning it to the system.

    Scoring pruned models allocates and frees the same tens of megabytes per block; by default each
    large allocation is a fresh ``mmap`` whose pages fault in again, which took about half of the
    wall time on our 2-core machine (0.25 s -> 0.13 s per block on 512 clips). Process-wide; a no-op
    (False) where glibc is absent.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 1 << 30)) and bool(mallopt(m_trim_threshold, 1 << 30))


class _Stop(Exception):
    """Raised by a hook to end a forward pass once the wanted tensor is captured."""


class BlockRunner:
    """One fine-tuned classifier, cut into: encoder input, single blocks, head."""

    def __init__(self, model: torch.nn.Module, device: str = "cpu"):
        for part in ("projector", "classifier"):
            if not isinstance(getattr(model, part, None), torch.nn.Module):
                raise TypeError(f"{type(model).__name__} has no {part}: pass an audio-classification model "
                                "(AutoModelForAudioClassification)")
        if getattr(model.config, "use_weighted_layer_sum", False):
            raise ValueError("use_weighted_layer_sum=True mixes every block into the head: pruning by "
                             "removing blocks is not defined for it")
        self.model = model.eval().to(device)
        self.device = device
        self.base = base_model(model)
        self.blocks = encoder_layers(model)
        self.n_blocks = len(self.blocks)
        self.stable = bool(getattr(self.base.config, "do_stable_layer_norm", False))
        attention = getattr(self.blocks[0], "attention", None)
        self._bias_source = attention if getattr(attention, "rel_attn_embed", None) is not None else None
        self._bias: dict[tuple[int, int], torch.Tensor] = {}

    # --- pieces ---------------------------------------------------------------------------
    @torch.inference_mode()
    def encoder_input(self, input_values: torch.Tensor) -> torch.Tensor:
        """The input of block 1 (CNN, feature projection, positional convolution, and the encoder's
        LayerNorm for post-LN models), captured from the model's own forward pass."""
        captured: list[torch.Tensor] = []

        def hook(_module, args, kwargs):
            captured.append(args[0] if args else kwargs["hidden_states"])
            raise _Stop

        handle = self.blocks[0].register_forward_pre_hook(hook, with_kwargs=True)
        try:
            self.base(input_values.to(self.device))
        except _Stop:
            pass
        finally:
            handle.remove()
        return captured[0]

    def _position_bias(self, hidden: torch.Tensor) -> torch.Tensor | None:
        """WavLM: the relative position bias block 1 computes and every later block reuses."""
        if self._bias_source is None:
            return None
        batch, frames = hidden.shape[:2]
        key = (batch, frames)
        if key not in self._bias:
            heads = self._bias_source.num_heads
            bias = self._bias_source.compute_bias(frames, frames)
            self._bias[key] = bias.unsqueeze(0).repeat(batch, 1, 1, 1).view(batch * heads, frames, frames)
        return self._bias[key]

    @torch.inference_mode()
    def run_block(self, index: int, hidden: torch.Tensor) -> torch.Tensor:
        """The output of block ``index`` (0-based) on ``hidden``."""
        block = self.blocks[index]
        bias = self._position_bias(hidden)
        out = block(hidden, position_bias=bias, index=index) if bias is not None else block(hidden)
        return out[0] if isinstance(out, tuple) else out

    @torch.inference_mode()
    def head(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits from the last kept block's output (final LayerNorm first for stable-layer-norm)."""
        if self.stable:
            hidden = self.base.encoder.layer_norm(hidden)
        return self.model.classifier(pool_frames(self.model.projector(hidden), pooling_of(self.model)))

    @torch.inference_mode()
    def block_inputs(self, input_values: torch.Tensor) -> list[torch.Tensor]:
        """``[input of block 1, output of block 1, ..., output of block L]`` (raw block outputs)."""
        states = [self.encoder_input(input_values)]
        for index in range(self.n_blocks):
            states.append(self.run_block(index, states[-1]))
        return states


def check_removed(removed: Iterable[int], n_blocks: int) -> tuple[int, ...]:
    """Sorted 0-based block indices, refusing out-of-range, duplicate or all-blocks sets."""
    from .pruning import _check_indices

    return tuple(_check_indices(list(removed), n_blocks))


class PrunedScorer:
    """Logits of pruned models on one batch of clips, sharing every state it can.

    ``states`` come from :meth:`BlockRunner.block_inputs`. The memo maps (removed blocks before
    ``j``, ``j``) to the output of kept block ``j`` in every pruned model with those removed blocks.
    """

    def __init__(self, runner: BlockRunner, states: Sequence[torch.Tensor]):
        if len(states) != runner.n_blocks + 1:
            raise ValueError(f"expected {runner.n_blocks + 1} states (block inputs), got {len(states)}")
        self.runner = runner
        self.states = list(states)
        self._memo: dict[tuple[tuple[int, ...], int], torch.Tensor] = {}
        self.blocks_run = 0

    def head_input(self, removed: Iterable[int]) -> torch.Tensor:
        """The last kept block's output of the model without ``removed`` (0-based indices)."""
        L = self.runner.n_blocks
        R = check_removed(removed, L)
        if not R:
            return self.states[L]
        gone = set(R)
        seq = [j for j in range(R[0] + 1, L) if j not in gone]  # kept blocks after the first cut

        def key(j: int) -> tuple[tuple[int, ...], int]:  # the output of kept block j depends on R below j
            return tuple(r for r in R if r < j), j

        start, hidden = 0, self.states[R[0]]  # the input of block R[0] feeds seq[0]
        for i in range(len(seq) - 1, -1, -1):
            found = self._memo.get(key(seq[i]))
            if found is not None:
                start, hidden = i + 1, found
                break
        for j in seq[start:]:
            hidden = self.runner.run_block(j, hidden)
            self.blocks_run += 1
            self._memo[key(j)] = hidden
        return hidden

    def retain_for(self, removed: Iterable[int]) -> None:
        """Forget every memoised state that no model removing a superset of ``removed`` can reuse
        (bounds memory to about L states while an order's sweep or the greedy search goes on)."""
        R = set(removed)
        self._memo = {key: v for key, v in self._memo.items()
                      if set(key[0]) == {r for r in R if r < key[1]}}

    def logits(self, removed: Iterable[int]) -> torch.Tensor:
        """Logits of the model without ``removed`` on this batch."""
        return self.runner.head(self.head_input(removed))

    def backward_logits(self, n_removed: int) -> torch.Tensor:
        """The model without its last ``n_removed`` blocks: the head on block ``L - n_removed``'s
        output, no block run (one forward pass serves the whole backward sweep)."""
        L = self.runner.n_blocks
        if not 0 <= n_removed < L:
            raise ValueError(f"n_removed must be in 0..{L - 1}, got {n_removed}")
        return self.runner.head(self.states[L - n_removed])
