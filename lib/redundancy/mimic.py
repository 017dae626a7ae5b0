"""Mimicking layers: a tiny frame-wise network in place of the whole transformer (PAPER.md).

The mimicker reads the output of ``feature_projection`` (CNN feature encoder -> LayerNorm -> Linear
to D, before the positional convolution and the transformer) and is trained (in the distillation
chapter) to reproduce the teacher's layer outputs. Each stage is, per frame,
Linear(D -> h) -> LayerNorm(h) -> ReLU -> Linear(h -> D); with two stages the first mimics an
intermediate layer and the second, fed by the first, the last layer.

:class:`MimicModel` is the remaining network the paper times and counts: CNN encoder -> feature
projection -> mimicker -> (optional) the standard classification head.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .models import base_model


def _stage(d_model: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_model, hidden), nn.LayerNorm(hidden), nn.ReLU(), nn.Linear(hidden, d_model))


class Mimicker(nn.Module):
    """``stages`` chained frame-wise bottleneck stages of width ``hidden`` on D-dimensional frames.

    ``forward(x)`` maps (batch, frames, D) to the last stage's output (batch, frames, D);
    ``forward(x, all_stages=True)`` returns the list of every stage's output, in order (for
    distillation: stage k is matched to the k-th target layer).
    """

    def __init__(self, d_model: int, hidden: int = 64, stages: int = 1) -> None:
        super().__init__()
        if d_model < 1 or hidden < 1:
            raise ValueError(f"Mimicker: d_model and hidden must be positive, got {d_model} and {hidden}")
        if stages not in (1, 2):
            raise ValueError(f"Mimicker: stages must be 1 or 2 (the paper's variants), got {stages}")
        self.d_model, self.hidden, self.n_stages = d_model, hidden, stages
        self.stages = nn.ModuleList(_stage(d_model, hidden) for _ in range(stages))

    def forward(self, x: torch.Tensor, all_stages: bool = False) -> torch.Tensor | list[torch.Tensor]:
        if x.shape[-1] != self.d_model:
            raise ValueError(f"Mimicker: expected frames of size {self.d_model}, got shape {tuple(x.shape)}")
        outputs = []
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        return outputs if all_stages else outputs[-1]


class MimicModel(nn.Module):
    """CNN feature encoder -> feature projection -> mimicker -> optional classification head.

    The head is the one of ``AutoModelForAudioClassification``: ``projector`` Linear(D -> 256) per
    frame, mean over frames, ``classifier`` Linear(256 -> classes). Without a head, ``forward``
    returns the mimicked last-layer frames (batch, frames, D).
    """

    def __init__(
        self,
        feature_extractor: nn.Module,
        feature_projection: nn.Module,
        mimicker: Mimicker,
        projector: nn.Module | None = None,
        classifier: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if (projector is None) != (classifier is None):
            raise ValueError("MimicModel: give both projector and classifier, or neither")
        self.feature_extractor = feature_extractor
        self.feature_projection = feature_projection
        self.mimicker = mimicker
        self.projector = projector
        self.classifier = classifier

    def project(self, input_values: torch.Tensor) -> torch.Tensor:
        """The feature projection output (batch, frames, D): the mimicker's input."""
        features = self.feature_extractor(input_values).transpose(1, 2)
        out = self.feature_projection(features)
        return out[0] if isinstance(out, tuple) else out  # wav2vec2/WavLM also return the normed input

    def head(self, frames: torch.Tensor) -> torch.Tensor:
        """Logits from (batch, frames, D) through projector, mean over frames, classifier."""
        if self.projector is None:
            raise RuntimeError("MimicModel: this model has no classification head")
        return self.classifier(self.projector(frames).mean(dim=1))

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        frames = self.mimicker(self.project(input_values))
        return frames if self.projector is None else self.head(frames)


def mimic_model(
    model: nn.Module, hidden: int = 64, stages: int = 1, num_labels: int | None = None
) -> MimicModel:
    """A :class:`MimicModel` with copies of ``model``'s CNN encoder and projection (``model`` untouched).

    The head: the model's own ``projector`` and ``classifier`` when it has them (a fine-tuned
    classifier); else a new randomly initialised head when ``num_labels`` is given; else none.
    The mimicker is freshly initialised.
    """
    base = base_model(model)
    for part in ("feature_extractor", "feature_projection"):
        if not isinstance(getattr(base, part, None), nn.Module):
            raise TypeError(f"{type(model).__name__} has no {part}: not a wav2vec2-style model")
    d_model = int(base.config.hidden_size)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    with device:  # new parts are created where the model lives (also 'meta', for counting)
        projector = classifier = None
        if isinstance(getattr(model, "classifier", None), nn.Module) and isinstance(
            getattr(model, "projector", None), nn.Module
        ):
            projector, classifier = copy.deepcopy(model.projector), copy.deepcopy(model.classifier)
        elif num_labels is not None:
            proj_size = int(getattr(base.config, "classifier_proj_size", 256))
            projector, classifier = nn.Linear(d_model, proj_size), nn.Linear(proj_size, num_labels)
        mimicker = Mimicker(d_model, hidden=hidden, stages=stages)
    if param is not None:
        mimicker = mimicker.to(dtype=param.dtype)
    built = MimicModel(
        copy.deepcopy(base.feature_extractor),
        copy.deepcopy(base.feature_projection),
        mimicker,
        projector,
        classifier,
    )
    return built.eval()
