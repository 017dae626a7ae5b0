"""How a classification head pools a clip's frames: their mean (the standard audio-classification
head of transformers, the paper's) or their mean and standard deviation ("statistics pooling", as
in x-vector speaker embeddings).

Who is speaking shows as much in how the frames vary as in their average, so the speakers task
(our extension) may pool both; the words task keeps the paper's mean. Every part of the library
that runs a fine-tuned head (fine-tuning, loading, pruning evaluation, mimicking) pools through
:func:`pool_frames` with the model's own :func:`pooling_of`, so one setting in the model's config
(``pooling``, saved with it) decides it everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

#: The poolings a head can use; "mean" is transformers' own head.
POOLINGS = ("mean", "mean+std")


def check_pooling(pooling: str) -> str:
    """``pooling`` if it is one of :data:`POOLINGS`, else a clear error."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}: expected one of {POOLINGS}")
    return pooling


def pooling_of(model_or_config: Any) -> str:
    """The pooling of a classifier (or its config); models saved before the setting existed pool by mean."""
    config = getattr(model_or_config, "config", model_or_config)
    return check_pooling(getattr(config, "pooling", "mean") or "mean")


def pooled_size(projected: int, pooling: str) -> int:
    """Width of the pooled vector the classifier reads, for ``projected`` features per frame."""
    return projected * (2 if check_pooling(pooling) == "mean+std" else 1)


def pool_frames(frames: torch.Tensor, pooling: str, frame_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Pool (batch, frames, features) over frames: the mean, or the mean and the standard deviation
    side by side. ``frame_mask`` (batch, frames; True where a frame is real audio) leaves padding out."""
    check_pooling(pooling)
    if frame_mask is None:
        mean = frames.mean(dim=1)
        if pooling == "mean":
            return mean
        return torch.cat([mean, frames.std(dim=1, unbiased=False)], dim=-1)
    weights = frame_mask.to(frames.dtype).unsqueeze(-1)
    counts = weights.sum(dim=1).clamp(min=1.0)
    mean = (frames * weights).sum(dim=1) / counts
    if pooling == "mean":
        return mean
    variance = (((frames - mean.unsqueeze(1)) ** 2) * weights).sum(dim=1) / counts
    return torch.cat([mean, variance.sqrt()], dim=-1)


def _stats_pooling_class(base: type) -> type:
    """``base`` (a transformers ``...ForSequenceClassification``) with mean+std pooling: its
    classifier reads twice the projector's width. Saved and loaded like ``base``; the config's
    ``pooling`` says which class :func:`classifier_class` gives back."""

    class StatsPooling(base):
        def __init__(self, config: Any) -> None:
            super().__init__(config)
            if getattr(config, "use_weighted_layer_sum", False):
                raise ValueError("mean+std pooling reads the last block only (use_weighted_layer_sum=False)")
            self.classifier = nn.Linear(pooled_size(config.classifier_proj_size, "mean+std"), config.num_labels)

        def forward(self, input_values: torch.Tensor | None, attention_mask: torch.Tensor | None = None,
                    labels: torch.Tensor | None = None, **kwargs: Any) -> Any:
            from transformers.modeling_outputs import SequenceClassifierOutput

            outputs = getattr(self, self.base_model_prefix)(input_values, attention_mask=attention_mask, **kwargs)
            frames = self.projector(outputs.last_hidden_state)
            mask = None if attention_mask is None else \
                self._get_feature_vector_attention_mask(frames.shape[1], attention_mask)
            logits = self.classifier(pool_frames(frames, "mean+std", mask))
            loss = None if labels is None else nn.functional.cross_entropy(logits, labels.view(-1))
            return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states,
                                            attentions=outputs.attentions)

    StatsPooling.__name__ = StatsPooling.__qualname__ = base.__name__.replace(
        "ForSequenceClassification", "ForStatsPoolingClassification")
    return StatsPooling


_STATS_CLASSES: dict[type, type] = {}


def classifier_class(config: Any, pooling: str | None = None) -> type:
    """The classifier class for a backbone config: transformers' own for mean pooling, its
    statistics-pooling subclass for mean+std. ``pooling`` None: the config's own."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING

    pooling = pooling_of(config) if pooling is None else check_pooling(pooling)
    try:
        base = MODEL_FOR_AUDIO_CLASSIFICATION_MAPPING[type(config)]
    except KeyError:
        raise ValueError(f"{type(config).__name__} has no audio-classification model in transformers") from None
    if pooling == "mean":
        return base
    if base not in _STATS_CLASSES:
        _STATS_CLASSES[base] = _stats_pooling_class(base)
    return _STATS_CLASSES[base]


def build_classifier_model(source: str | Path, pooling: str, random_init: bool, **config_changes: Any) -> nn.Module:
    """A classifier on the backbone ``source`` (its weights, or its architecture only when
    ``random_init``), pooling its frames as ``pooling`` says; ``config_changes`` go into its config."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(source), **config_changes)
    config.pooling = check_pooling(pooling)
    cls = classifier_class(config)
    if random_init:
        return cls._from_config(config)
    return cls.from_pretrained(str(source), config=config)


def load_classifier_model(folder: str | Path, **kwargs: Any) -> nn.Module:
    """A fine-tuned classifier from its folder, with the head its config's ``pooling`` names."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(folder))
    return classifier_class(config).from_pretrained(str(folder), **kwargs)
