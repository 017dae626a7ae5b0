"""Mimicking layers: a tiny frame-wise network in place of the whole transformer (PAPER.md §2.3).

The mimicker reads the output of ``feature_projection`` (CNN feature encoder -> LayerNorm -> Linear
to D, before the positional convolution and the transformer) and is trained (:mod:`redundancy.distill`)
to reproduce the teacher's layer outputs. A mimicking layer is weight-shared over frames, of one of
the paper's two types:

- ``linear``: Linear(D -> z) -> LayerNorm(z) -> ReLU -> Linear(z -> D), frame by frame;
- ``transformer``: ``torch.nn.TransformerEncoderLayer(D, nhead=8, dim_feedforward=z)``, batch first.

With two layers the first mimics the last layer of the first similarity block and the second, fed by
the first, the last layer. :class:`MimicModel` is the remaining network the paper times and counts:
CNN encoder -> feature projection -> mimicker -> (optional) the standard classification head.
:func:`build_standalone` makes it a self-contained classifier of 16 kHz waveforms with
``save_pretrained`` / :meth:`MimicModel.from_pretrained`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from torch import nn

from .heads import check_pooling, pool_frames, pooled_size, pooling_of
from .models import base_model

LAYER_TYPES: tuple[str, ...] = ("linear", "transformer")
#: The paper's heads per transformer mimicking layer (authors' code).
NHEAD = 8
MIMIC_CONFIG_FILE = "mimic_config.json"
WEIGHTS_FILE = "model.safetensors"


def heads_for(d_model: int, nhead: int = NHEAD) -> int:
    """``nhead`` when it divides ``d_model`` (always for the real models), else its largest divisor below."""
    return max(h for h in range(1, nhead + 1) if d_model % h == 0)


def _linear_layer(d_model: int, z: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_model, z), nn.LayerNorm(z), nn.ReLU(), nn.Linear(z, d_model))


def mimic_layer(kind: str, d_model: int, z: int) -> nn.Module:
    """One mimicking layer of type ``kind`` (``linear`` or ``transformer``) and width ``z``."""
    if kind == "linear":
        return _linear_layer(d_model, z)
    if kind == "transformer":
        return nn.TransformerEncoderLayer(d_model, nhead=heads_for(d_model), dim_feedforward=z, batch_first=True)
    raise ValueError(f"unknown mimicking layer type {kind!r}: expected one of {LAYER_TYPES}")


class Mimicker(nn.Module):
    """``stages`` chained mimicking layers of type ``kind`` and width ``hidden`` (the paper's z).

    ``forward(x)`` maps (batch, frames, D) to the last layer's output (batch, frames, D);
    ``forward(x, all_stages=True)`` returns every layer's output, in order (for distillation: layer k
    is matched to the k-th target layer).
    """

    def __init__(self, d_model: int, hidden: int = 32, stages: int = 1, kind: str = "linear") -> None:
        super().__init__()
        if d_model < 1 or hidden < 1:
            raise ValueError(f"Mimicker: d_model and hidden must be positive, got {d_model} and {hidden}")
        if stages not in (1, 2):
            raise ValueError(f"Mimicker: stages must be 1 or 2 (the paper's variants), got {stages}")
        if kind not in LAYER_TYPES:
            raise ValueError(f"Mimicker: unknown layer type {kind!r}: expected one of {LAYER_TYPES}")
        self.d_model, self.hidden, self.n_stages, self.kind = d_model, hidden, stages, kind
        self.stages = nn.ModuleList(mimic_layer(kind, d_model, hidden) for _ in range(stages))

    def spec(self) -> dict[str, int | str]:
        """What rebuilds this mimicker: ``Mimicker(**spec)``."""
        return {"d_model": self.d_model, "hidden": self.hidden, "stages": self.n_stages, "kind": self.kind}

    def forward(self, x: torch.Tensor, all_stages: bool = False) -> torch.Tensor | list[torch.Tensor]:
        if x.shape[-1] != self.d_model:
            raise ValueError(f"Mimicker: expected frames of size {self.d_model}, got shape {tuple(x.shape)}")
        outputs = []
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        return outputs if all_stages else outputs[-1]


class Head(nn.Module):
    """The head of a fine-tuned classifier: projector per frame, pooling over frames (the mean, or
    mean and standard deviation: :mod:`redundancy.heads`), classifier."""

    def __init__(self, projector: nn.Module, classifier: nn.Module, pooling: str = "mean") -> None:
        super().__init__()
        self.projector, self.classifier, self.pooling = projector, classifier, check_pooling(pooling)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.classifier(pool_frames(self.projector(frames), self.pooling))


def teacher_head(model: nn.Module) -> Head:
    """A copy of a fine-tuned classifier's ``projector`` + ``classifier`` (the model untouched)."""
    if not (isinstance(getattr(model, "projector", None), nn.Module)
            and isinstance(getattr(model, "classifier", None), nn.Module)):
        raise TypeError(f"{type(model).__name__} has no projector and classifier: not a fine-tuned classifier")
    return Head(copy.deepcopy(model.projector), copy.deepcopy(model.classifier), pooling_of(model))


class MimicModel(nn.Module):
    """CNN feature encoder -> feature projection -> mimicker -> optional classification head.

    The head is the fine-tuned classifier's: ``projector`` Linear(D -> 256) per frame, pooling over
    frames (``pooling``: the mean, or mean and standard deviation), ``classifier`` Linear(pooled ->
    classes). Without a head, ``forward`` returns the mimicked last-layer frames (batch, frames, D). ``mimicker=None`` (or ``nn.Identity``)
    is the paper's head-only control on the feature projection. ``normalize``: standardise each
    waveform first, as the teacher's feature extractor does (standalone models read raw audio).
    """

    def __init__(
        self,
        feature_extractor: nn.Module,
        feature_projection: nn.Module,
        mimicker: nn.Module | None,
        projector: nn.Module | None = None,
        classifier: nn.Module | None = None,
        normalize: bool = False,
        pooling: str = "mean",
    ) -> None:
        super().__init__()
        if (projector is None) != (classifier is None):
            raise ValueError("MimicModel: give both projector and classifier, or neither")
        self.feature_extractor = feature_extractor
        self.feature_projection = feature_projection
        self.mimicker = mimicker if mimicker is not None else nn.Identity()
        self.projector = projector
        self.classifier = classifier
        self.normalize = normalize
        self.pooling = check_pooling(pooling)
        self.backbone_config = None  # set by build_standalone: what save_pretrained writes

    def project(self, input_values: torch.Tensor) -> torch.Tensor:
        """The feature projection output (batch, frames, D): the mimicker's input."""
        if self.normalize:
            from .preprocess import prepare_inputs

            input_values = prepare_inputs(input_values, True)
        features = self.feature_extractor(input_values).transpose(1, 2)
        out = self.feature_projection(features)
        return out[0] if isinstance(out, tuple) else out  # wav2vec2/WavLM also return the normed input

    def head(self, frames: torch.Tensor) -> torch.Tensor:
        """Logits from (batch, frames, D) through projector, pooling over frames, classifier."""
        if self.projector is None:
            raise RuntimeError("MimicModel: this model has no classification head")
        return self.classifier(pool_frames(self.projector(frames), self.pooling))

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        frames = self.mimicker(self.project(input_values))
        return frames if self.projector is None else self.head(frames)

    def save_pretrained(self, folder: str | Path) -> Path:
        """Write the backbone config, the mimicker spec and all weights (safetensors) to ``folder``."""
        from safetensors.torch import save_file

        if self.backbone_config is None or self.projector is None:
            raise RuntimeError("save_pretrained: only models made by build_standalone (with a head) can be saved")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.backbone_config.save_pretrained(str(folder))
        spec = self.mimicker.spec() if isinstance(self.mimicker, Mimicker) else None
        meta = {"mimicker": spec, "normalize": self.normalize, "pooling": self.pooling,
                "head": [self.projector.in_features, self.projector.out_features, self.classifier.out_features]}
        (folder / MIMIC_CONFIG_FILE).write_text(json.dumps(meta, indent=2))
        save_file({k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}, str(folder / WEIGHTS_FILE))
        return folder

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> "MimicModel":
        """Rebuild a model written by :meth:`save_pretrained` (eval mode)."""
        from safetensors.torch import load_file
        from transformers import AutoConfig, AutoModel

        folder = Path(folder)
        if not (folder / MIMIC_CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{folder} holds no mimic model: {MIMIC_CONFIG_FILE} is missing")
        meta = json.loads((folder / MIMIC_CONFIG_FILE).read_text())
        config = AutoConfig.from_pretrained(str(folder))
        backbone = AutoModel.from_config(config, attn_implementation="eager")
        d_in, proj, classes = meta["head"]
        pooling = meta.get("pooling", "mean")  # saved before statistics pooling existed: the mean
        mimicker = Mimicker(**meta["mimicker"]) if meta["mimicker"] else None
        model = cls(backbone.feature_extractor, backbone.feature_projection, mimicker,
                    nn.Linear(d_in, proj), nn.Linear(pooled_size(proj, pooling), classes),
                    normalize=bool(meta["normalize"]), pooling=pooling)
        model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        model.backbone_config = config
        return model.eval()


def _front_end(model: nn.Module) -> nn.Module:
    base = base_model(model)
    for part in ("feature_extractor", "feature_projection"):
        if not isinstance(getattr(base, part, None), nn.Module):
            raise TypeError(f"{type(model).__name__} has no {part}: not a wav2vec2-style model")
    return base


def mimic_model(
    model: nn.Module, hidden: int = 32, stages: int = 1, num_labels: int | None = None, kind: str = "linear",
) -> MimicModel:
    """A :class:`MimicModel` with copies of ``model``'s CNN encoder and projection (``model`` untouched).

    The head: the model's own ``projector`` and ``classifier`` when it has them (a fine-tuned
    classifier); else a new randomly initialised head when ``num_labels`` is given; else none.
    The mimicker is freshly initialised; ``stages=0`` gives the head-only control (no mimicker).
    """
    base = _front_end(model)
    d_model = int(base.config.hidden_size)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    with device:  # new parts are created where the model lives (also 'meta', for counting)
        projector = classifier = None
        pooling = "mean"
        if isinstance(getattr(model, "classifier", None), nn.Module) and isinstance(
            getattr(model, "projector", None), nn.Module
        ):
            projector, classifier = copy.deepcopy(model.projector), copy.deepcopy(model.classifier)
            pooling = pooling_of(model)
        elif num_labels is not None:
            proj_size = int(getattr(base.config, "classifier_proj_size", 256))
            projector, classifier = nn.Linear(d_model, proj_size), nn.Linear(proj_size, num_labels)
        mimicker = Mimicker(d_model, hidden=hidden, stages=stages, kind=kind) if stages else None
    if param is not None and mimicker is not None:
        mimicker = mimicker.to(dtype=param.dtype)
    built = MimicModel(
        copy.deepcopy(base.feature_extractor),
        copy.deepcopy(base.feature_projection),
        mimicker,
        projector,
        classifier,
        pooling=pooling,
    )
    return built.eval()


def build_standalone(teacher: nn.Module, mimicker: nn.Module | None, head: Head, normalize: bool = True) -> MimicModel:
    """One module, waveform (batch, 16000) -> logits: the teacher's CNN encoder and projection (copies),
    a trained ``mimicker`` (``None``: head only) and a trained ``head`` (copies, so training can go on).

    ``normalize``: the teacher's ``do_normalize`` (``preprocess.should_normalize`` of its folder).
    """
    base = _front_end(teacher)
    built = MimicModel(
        copy.deepcopy(base.feature_extractor), copy.deepcopy(base.feature_projection),
        copy.deepcopy(mimicker) if mimicker is not None else None,
        copy.deepcopy(head.projector), copy.deepcopy(head.classifier), normalize=normalize,
        pooling=head.pooling,
    )
    built.backbone_config = copy.deepcopy(base.config)
    return built.eval()


def mimicker_parameters(d_model: int, hidden: int, stages: int, kind: str) -> int:
    """Parameters of a mimicker, by formula (the tests compare it with the built module)."""
    if kind == "linear":
        per = d_model * hidden + hidden + 2 * hidden + hidden * d_model + d_model
    elif kind == "transformer":
        attention = 4 * d_model * d_model + 4 * d_model  # in_proj (3 D x D + 3 D) and out_proj
        per = attention + d_model * hidden + hidden + hidden * d_model + d_model + 4 * d_model  # FF + 2 norms
    else:
        raise ValueError(f"unknown mimicking layer type {kind!r}: expected one of {LAYER_TYPES}")
    return stages * per

