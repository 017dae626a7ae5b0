"""The exact architectures of the paper's checkpoints, built offline.

Size and inference time do not depend on the weights (PAPER.md, C3/C4), so the book measures them on
randomly initialised models of the *real* configurations. No machine this project is tested on can
reach the Hugging Face Hub, so the configurations are written out here from the published values.

Sources (the values below agree with both):
- the ``config.json`` of each hub repository (``facebook/wav2vec2-base``, ``facebook/wav2vec2-large``,
  ``facebook/hubert-base-ls960``, ``facebook/hubert-large-ll60k``, ``microsoft/wavlm-base``,
  ``microsoft/wavlm-large``);
- torchaudio's factory functions of the same models (``torchaudio/models/wav2vec2/model.py``:
  ``wav2vec2_base``, ``wav2vec2_large``, ``hubert_base``, ``hubert_large``, ``wavlm_base``,
  ``wavlm_large``: ``extractor_mode``, ``extractor_conv_bias``, ``encoder_layer_norm_first``,
  ``encoder_pos_conv_kernel=128``, ``encoder_pos_conv_groups=16``), and the WavLM reference
  configuration (``num_buckets=320``, ``max_distance=800``, ``gru_rel_pos=True``).

Notable differences between them: ``wav2vec2-large`` (LibriSpeech 960 h) keeps the base recipe
(group-norm CNN, post-LN blocks, no conv bias); the LibriLight-trained large models (HuBERT large
ll60k, WavLM large) use a layer-norm CNN and pre-LN ("stable layer norm") blocks, without conv bias.
"""

from __future__ import annotations

from typing import Any

from .config import CONV_KERNEL, CONV_STRIDE

_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)
_LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
_POST_LN = dict(feat_extract_norm="group", do_stable_layer_norm=False)
_PRE_LN = dict(feat_extract_norm="layer", do_stable_layer_norm=True)

#: name -> (family, architecture values of its config.json).
REAL_ARCHITECTURES: dict[str, tuple[str, dict[str, Any]]] = {
    "facebook/wav2vec2-base": ("wav2vec2", {**_BASE, **_POST_LN, "conv_bias": False}),
    "facebook/wav2vec2-large": ("wav2vec2", {**_LARGE, **_POST_LN, "conv_bias": False}),
    "facebook/hubert-base-ls960": ("hubert", {**_BASE, **_POST_LN, "conv_bias": False}),
    "facebook/hubert-large-ll60k": ("hubert", {**_LARGE, **_PRE_LN, "conv_bias": False}),
    "microsoft/wavlm-base": ("wavlm", {**_BASE, **_POST_LN, "conv_bias": False}),
    "microsoft/wavlm-large": ("wavlm", {**_LARGE, **_PRE_LN, "conv_bias": False}),
}

#: Shared by all six: the 7-layer CNN (512 channels, 20 ms frames) and the positional convolution.
_COMMON: dict[str, Any] = dict(
    conv_dim=(512,) * 7,
    conv_kernel=CONV_KERNEL,
    conv_stride=CONV_STRIDE,
    feat_extract_activation="gelu",
    hidden_act="gelu",
    layer_norm_eps=1e-5,
    num_conv_pos_embeddings=128,
    num_conv_pos_embedding_groups=16,
    # the hub configs train with time masking (mask_time_prob=0.05), which gives the backbone its
    # learned mask vector (``masked_spec_embed``, D parameters): kept so parameter counts match.
    mask_time_prob=0.05,
    layerdrop=0.0,  # never drop blocks (transformers defaults to 0.1)
    classifier_proj_size=256,
)


def known_architectures() -> tuple[str, ...]:
    """The hub names :func:`real_config` can build."""
    return tuple(REAL_ARCHITECTURES)


def real_config(name: str, **overrides: Any) -> Any:
    """The transformers config of a real checkpoint, built without hub access.

    ``overrides`` are passed on (for example ``num_labels=35``). ``layerdrop`` is 0 unless
    overridden. An unknown name fails with the list of known names.
    """
    from transformers import HubertConfig, Wav2Vec2Config, WavLMConfig

    if name not in REAL_ARCHITECTURES:
        known = ", ".join(REAL_ARCHITECTURES)
        raise ValueError(f"unknown architecture {name!r}: known architectures are {known}")
    family, values = REAL_ARCHITECTURES[name]
    kwargs: dict[str, Any] = {**_COMMON, **values}
    if family == "wavlm":
        kwargs.update(num_buckets=320, max_bucket_distance=800)
    if family == "hubert":
        kwargs.update(feat_proj_layer_norm=True)
    kwargs.update(overrides)
    classes = {"wav2vec2": Wav2Vec2Config, "hubert": HubertConfig, "wavlm": WavLMConfig}
    config = classes[family](**kwargs)
    config.name_or_path = name
    return config


def family_of_architecture(name: str) -> str:
    """``wav2vec2``, ``hubert`` or ``wavlm`` for a known hub name."""
    if name not in REAL_ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}: known architectures are {', '.join(REAL_ARCHITECTURES)}")
    return REAL_ARCHITECTURES[name][0]


def build_random(config: Any, num_labels: int | None = None, device: str | None = None) -> Any:
    """A randomly initialised backbone (``num_labels=None``) or classification model of ``config``.

    Attention is eager (WavLM supports nothing else; the others use it too, so that timings compare
    like with like). ``device='meta'`` builds a weightless model for counting parameters fast.
    """
    import copy

    import torch
    from transformers import AutoModel, AutoModelForAudioClassification

    config = copy.deepcopy(config)
    config._attn_implementation = "eager"
    if num_labels is not None:
        config.num_labels = num_labels
    ctx = torch.device(device) if device is not None else torch.device("cpu")
    with ctx:
        if num_labels is None:
            model = AutoModel.from_config(config, attn_implementation="eager")
        else:
            model = AutoModelForAudioClassification.from_config(config, attn_implementation="eager")
    return model.eval()
