"""Backbones: the registry of the paper's checkpoints, tiny configurations, loading, and access
to the parts of a model every chapter touches (the base model, the transformer blocks).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

#: transformers ``model_type`` -> family name used throughout the book.
MODEL_TYPE_TO_FAMILY: dict[str, str] = {"wav2vec2": "wav2vec2", "hubert": "hubert", "wavlm": "wavlm"}


def family_of(model_or_config: Any) -> str:
    """``wav2vec2``, ``hubert`` or ``wavlm`` for a model or a config; a clear error otherwise."""
    config = getattr(model_or_config, "config", model_or_config)
    model_type = getattr(config, "model_type", None)
    if model_type not in MODEL_TYPE_TO_FAMILY:
        raise ValueError(
            f"unsupported model type {model_type!r}: expected one of {sorted(MODEL_TYPE_TO_FAMILY)}"
        )
    return MODEL_TYPE_TO_FAMILY[model_type]


def base_model(model: torch.nn.Module) -> torch.nn.Module:
    """The backbone inside a task model (``model.wav2vec2`` etc.), or the model itself."""
    for attr in ("wav2vec2", "hubert", "wavlm"):
        inner = getattr(model, attr, None)
        if isinstance(inner, torch.nn.Module):
            return inner
    return model


def encoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    """The transformer blocks of a backbone or task model, in order."""
    layers = getattr(getattr(base_model(model), "encoder", None), "layers", None)
    if not isinstance(layers, torch.nn.ModuleList):
        raise TypeError(f"{type(model).__name__} has no encoder.layers: not a wav2vec2-style model")
    return layers


def tiny_config(family: str, model_cfg: Any) -> Any:
    """A small configuration of a family's real architecture, sized by a profile's ``ModelConfig``.

    It keeps what makes each family itself: the 7-layer CNN feature encoder with the real kernels
    and strides (20 ms frames; a profile may give another stack with the same frames, see
    :func:`redundancy.config.check_front_end`), the positional convolution, post-LN transformer blocks like the base
    models, and for WavLM the gated relative position bias. ``layerdrop`` is 0 so that train mode
    never drops blocks (transformers defaults to 0.1).
    """
    from transformers import HubertConfig, Wav2Vec2Config, WavLMConfig

    classes = {"wav2vec2": Wav2Vec2Config, "hubert": HubertConfig, "wavlm": WavLMConfig}
    if family not in classes:
        raise ValueError(f"unknown family {family!r}: expected one of {sorted(classes)}")
    common = dict(
        hidden_size=model_cfg.hidden_size,
        num_hidden_layers=model_cfg.num_hidden_layers,
        num_attention_heads=model_cfg.num_attention_heads,
        intermediate_size=model_cfg.intermediate_size,
        conv_dim=tuple(model_cfg.conv_dim),
        conv_kernel=tuple(model_cfg.conv_kernel),
        conv_stride=tuple(model_cfg.conv_stride),
        conv_bias=False,
        feat_extract_norm="group",
        do_stable_layer_norm=False,
        num_conv_pos_embeddings=model_cfg.num_conv_pos_embeddings,
        num_conv_pos_embedding_groups=model_cfg.num_conv_pos_embedding_groups,
        layerdrop=0.0,
        hidden_dropout=0.0,
        attention_dropout=0.0,
        activation_dropout=0.0,
        feat_proj_dropout=0.0,
        final_dropout=0.0,
        # SpecAugment as in the base checkpoints' configs; it also makes the model own its learned
        # mask vector (masked_spec_embed), which pre-training needs.
        mask_time_prob=0.05,
        mask_time_length=10,
        classifier_proj_size=256,
    )
    if family == "wav2vec2":
        dim = min(256, model_cfg.hidden_size)
        common.update(
            codevector_dim=dim,
            proj_codevector_dim=dim,
            num_codevector_groups=2,
            num_codevectors_per_group=getattr(model_cfg, "num_codevectors_per_group", 320),
        )
    if family == "wavlm":
        common.update(num_buckets=320, max_bucket_distance=800)
    return classes[family](**common)


# --- the paper's checkpoints and loading -------------------------------------------------------


@dataclass(frozen=True)
class HubCheckpoint:
    """One checkpoint the paper studies: its family and its size class."""

    family: str
    size: str  # "base" (12 blocks, 768 wide) or "large" (24 blocks, 1024 wide)


def _hub_checkpoints() -> dict[str, HubCheckpoint]:
    """The paper's self-supervised checkpoints (arXiv:2409.16302, section 3) by hub name, read from
    the one registry of real architectures (:data:`redundancy.architectures.REAL_ARCHITECTURES`)."""
    from .architectures import REAL_ARCHITECTURES

    return {name: HubCheckpoint(family, "large" if values["num_hidden_layers"] == 24 else "base")
            for name, (family, values) in REAL_ARCHITECTURES.items()}


HUB_CHECKPOINTS: dict[str, HubCheckpoint] = _hub_checkpoints()


def backbone_class(family: str) -> type:
    """The transformers backbone class of a family (Wav2Vec2Model, HubertModel, WavLMModel)."""
    from transformers import HubertModel, Wav2Vec2Model, WavLMModel

    classes = {"wav2vec2": Wav2Vec2Model, "hubert": HubertModel, "wavlm": WavLMModel}
    if family not in classes:
        raise ValueError(f"unknown family {family!r}: expected one of {sorted(classes)}")
    return classes[family]


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """transformers without its per-load progress bar and warnings (errors still show), restored
    afterwards: loading a dozen small checkpoints otherwise fills a notebook with bars and reports."""
    from transformers.utils import logging as hf_logging

    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def load_backbone(name_or_path: str | Path, *, dtype: torch.dtype | None = None) -> torch.nn.Module:
    """The backbone of a checkpoint, by local folder (checked first) or by a registry hub name.

    A local folder is what ``save_pretrained`` writes (our pre-trained tiny models, or a hub
    checkpoint copied by hand), so the same call serves the offline and the online world. A name
    that is neither an existing folder nor in :data:`HUB_CHECKPOINTS` fails before any download is
    attempted. ``layerdrop`` is forced to 0: transformers' default (0.1) would drop whole blocks in
    train mode, which is exactly what this book must control itself.

    A checkpoint's extra weights (a classifier's head, a pre-training quantizer) are left out by
    design, so transformers' load report about them is kept out of the notebooks; a backbone weight
    *missing* from the checkpoint would be left random, and is an error instead.
    """
    from transformers import AutoConfig

    source = str(name_or_path)
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(
                f"{path} is a folder but has no config.json: not a checkpoint saved with save_pretrained"
            )
        source = str(path)
    elif source not in HUB_CHECKPOINTS:
        known = ", ".join(HUB_CHECKPOINTS)
        raise ValueError(
            f"unknown model {source!r}: neither an existing checkpoint folder nor a known hub name "
            f"({known})"
        )
    config = AutoConfig.from_pretrained(source)
    family = family_of(config)
    config.layerdrop = 0.0
    kwargs: dict[str, Any] = {"config": config}
    if dtype is not None:
        kwargs["dtype"] = dtype
    with quiet_loading():
        model, info = backbone_class(family).from_pretrained(source, output_loading_info=True, **kwargs)
    missing = sorted(info.get("missing_keys", ()))
    if missing:
        raise ValueError(f"{source}: {len(missing)} backbone weights are missing from the checkpoint and would "
                         f"be random (first: {', '.join(missing[:3])})")
    return model


def load_classifier(folder: str | Path, *, eager_attention: bool = False) -> torch.nn.Module:
    """A fine-tuned audio classifier (backbone and head, pooling as its config says) from its folder, in float32 (published
    folders store float16), quietly. ``eager_attention`` for code that hooks into the attention
    (timing and mimicking need the same implementation for every model they compare)."""
    from .heads import load_classifier_model

    kwargs: dict[str, Any] = {"dtype": torch.float32}
    if eager_attention:
        kwargs["attn_implementation"] = "eager"
    with quiet_loading():
        return load_classifier_model(folder, **kwargs)


def random_twin(folder: str | Path, seed: int = 0) -> torch.nn.Module:
    """The backbone architecture of ``folder`` with fresh random weights (seeded): the baseline
    that says what pre-training added to a probe."""
    from transformers import AutoConfig, AutoModel

    torch.manual_seed(seed)
    return AutoModel.from_config(AutoConfig.from_pretrained(str(folder)))
