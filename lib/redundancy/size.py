"""Model size: parameters and multiply-accumulates (MACs) per component, computed from the model.

Components follow the paper's accounting of the remaining network (PAPER.md, "Size"): the CNN
feature encoder, the feature projection, the positional convolution, the transformer blocks (with
the encoder's LayerNorm), the classification head (projector + classifier), the mimicker, and
``other`` for anything else (e.g. the learned mask vector) so that components always add up to the
total.

MACs are counted with forward hooks on one pass over ``seconds`` of audio (batch 1): every
``nn.Conv1d`` (output elements x input channels per group x kernel) and ``nn.Linear`` (output
elements x input features) that runs, plus the two attention matrix products (scores and weighted
sum, 2 x T^2 x D per block). Projections that an attention module computes through a functional call
(WavLM uses ``F.multi_head_attention_forward`` with its ``q/k/v/out_proj`` weights, so their hooks
never fire) are added from their weight shapes. Norms, activations and softmax are not counted.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
from torch import nn

from .audio import SAMPLE_RATE
from .models import base_model

COMPONENTS: tuple[str, ...] = (
    "cnn_encoder", "feature_projection", "positional_conv", "transformer", "head", "mimicker", "other",
)
_ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")


def _base_prefix(model: nn.Module) -> str:
    base = base_model(model)
    if base is model:
        return ""
    for name, module in model.named_children():
        if module is base:
            return name + "."
    raise ValueError(f"{type(model).__name__}: cannot locate its backbone among its children")


def component_of(name: str, prefix: str = "") -> str:
    """The component a parameter or module called ``name`` belongs to (``prefix``: the backbone's)."""
    rules = (
        (prefix + "feature_extractor", "cnn_encoder"),
        (prefix + "feature_projection", "feature_projection"),
        (prefix + "encoder.pos_conv_embed", "positional_conv"),
        (prefix + "encoder", "transformer"),
        ("projector", "head"),
        ("classifier", "head"),
        ("mimicker", "mimicker"),
    )
    for start, component in rules:
        if name == start or name.startswith(start + "."):
            return component
    return "other"


def count_parameters(model: nn.Module) -> int:
    """All parameters (shared ones once); works on weightless ``meta`` models too."""
    return sum(p.numel() for p in model.parameters())


def parameters_by_component(model: nn.Module) -> dict[str, int]:
    """Parameters per component plus ``total``; the components sum to the total."""
    prefix = _base_prefix(model)
    counts = dict.fromkeys(COMPONENTS, 0)
    for name, param in model.named_parameters():
        counts[component_of(name, prefix)] += param.numel()
    counts["total"] = sum(counts[c] for c in COMPONENTS)
    return counts


def _linear_macs(module: nn.Linear, output: torch.Tensor) -> int:
    return output.numel() * module.in_features


def _conv_macs(module: nn.Conv1d, output: torch.Tensor) -> int:
    return output.numel() * (module.in_channels // module.groups) * module.kernel_size[0]


def _first_tensor(args: tuple, kwargs: dict) -> torch.Tensor | None:
    if args and torch.is_tensor(args[0]):
        return args[0]
    value = kwargs.get("hidden_states")
    return value if torch.is_tensor(value) else None


def _is_attention(module: nn.Module) -> bool:
    return type(module).__name__.endswith("Attention") and all(
        isinstance(getattr(module, p, None), nn.Linear) for p in _ATTENTION_PROJECTIONS
    )


@torch.inference_mode()
def macs_by_component(model: nn.Module, seconds: float = 1.0, sample_rate: int = SAMPLE_RATE) -> dict[str, int]:
    """MACs of one forward pass on ``seconds`` of audio (batch 1), per component, plus ``total``."""
    if seconds <= 0:
        raise ValueError(f"seconds: expected a positive duration, got {seconds}")
    prefix = _base_prefix(model)
    param = next(model.parameters())
    counts: dict[str, int] = defaultdict(int)
    calls: dict[int, int] = defaultdict(int)  # linear module id -> times its hook fired
    pending: dict[int, tuple[tuple[int, ...], dict[str, int]]] = {}
    handles = []

    def leaf_hook(name: str):
        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            out = output[0] if isinstance(output, tuple) else output
            if isinstance(module, nn.Linear):
                calls[id(module)] += 1
                counts[component_of(name, prefix)] += _linear_macs(module, out)
            else:
                counts[component_of(name, prefix)] += _conv_macs(module, out)
        return hook

    def attention_pre(module: nn.Module, args: tuple, kwargs: dict) -> None:
        x = _first_tensor(args, kwargs)
        before = {p: calls[id(getattr(module, p))] for p in _ATTENTION_PROJECTIONS}
        pending[id(module)] = (tuple(x.shape) if x is not None else (), before)

    def attention_post(name: str):
        def hook(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            shape, before = pending.pop(id(module))
            if len(shape) != 3:
                raise RuntimeError(f"{name}: cannot read the (batch, frames, D) input of an attention module")
            batch, frames, dim = shape
            macs = 2 * batch * frames * frames * dim
            for p in _ATTENTION_PROJECTIONS:  # projections computed functionally: count from weights
                if calls[id(getattr(module, p))] == before[p]:
                    proj = getattr(module, p)
                    macs += batch * frames * proj.in_features * proj.out_features
            counts[component_of(name, prefix)] += macs
        return hook

    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv1d)):
            handles.append(module.register_forward_hook(leaf_hook(name)))
        if _is_attention(module):
            handles.append(module.register_forward_pre_hook(attention_pre, with_kwargs=True))
            handles.append(module.register_forward_hook(attention_post(name), with_kwargs=True))
    try:
        was_training = model.training
        model.eval()
        audio = torch.randn(1, int(round(seconds * sample_rate)), device=param.device, dtype=param.dtype)
        model(audio)
        model.train(was_training)
    finally:
        for handle in handles:
            handle.remove()
    result = {c: int(counts.get(c, 0)) for c in COMPONENTS}
    result["total"] = sum(result[c] for c in COMPONENTS)
    return result


def size_report(model: nn.Module, seconds: float = 1.0) -> dict[str, dict[str, int]]:
    """``{"params": per component, "macs": per component}`` for one model."""
    return {"params": parameters_by_component(model), "macs": macs_by_component(model, seconds)}
