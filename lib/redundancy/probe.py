"""Per-layer linear probes: what a frozen backbone's layers know about the words (or the speakers).

For each layer (0 = feature projection, l = block l) the clips' hidden states are mean-pooled over
frames (optionally with their standard deviation) and a multinomial logistic regression is fitted
on a fixed subset of the task's *train* split and scored on its *validation* split. Comparing a
pre-trained backbone with its random-init twin shows what pre-training taught, and where in the
stack: in real self-supervised models the probe rises above layer 0 in the middle layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch


POOLINGS: tuple[str, ...] = ("mean", "mean+std")


@torch.inference_mode()
def pooled_layers(backbone: torch.nn.Module, waveforms: np.ndarray, normalize: bool, batch_size: int = 128,
                  device: str = "cpu", pooling: str = "mean") -> np.ndarray:
    """(layers, n, D) mean over frames of every layer's hidden states (see :mod:`features`);
    ``pooling="mean+std"``: (layers, n, 2 D), the standard deviation over frames appended (the
    statistics pooling of speaker embeddings)."""
    from .features import _forward_layers
    from .preprocess import prepare_inputs

    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}: expected one of {POOLINGS}")
    backbone.eval().to(device)
    parts = []
    for start in range(0, len(waveforms), batch_size):
        batch = prepare_inputs(waveforms[start:start + batch_size], normalize).to(device)
        layers = _forward_layers(backbone, batch, True)
        pooled = [torch.cat([h.mean(1), h.std(1)], -1) if pooling == "mean+std" else h.mean(1) for h in layers]
        parts.append(torch.stack(pooled).cpu())
    return torch.cat(parts, dim=1).numpy()


def probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                   n_classes: int, l2: float = 1e-3, iterations: int = 200) -> float:
    """Test accuracy of an L2-regularised multinomial logistic regression (L-BFGS, standardised
    features: the mean and scale of the training rows)."""
    x = torch.as_tensor(train_x, dtype=torch.float64)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-8)
    x = (x - mean) / std
    y = torch.as_tensor(train_y, dtype=torch.long)
    weight = torch.zeros(x.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight + bias, y) + l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        test = (torch.as_tensor(test_x, dtype=torch.float64) - mean) / std
        predictions = (test @ weight + bias).argmax(1).numpy()
    return float((predictions == np.asarray(test_y)).mean())


def layer_probes(backbone: torch.nn.Module, corpus_root: Path, normalize: bool, n_train: int = 2000,
                 seed: int = 0, device: str = "cpu", task: str = "words", poolings: tuple[str, ...] = ("mean",),
                 split_kw: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Per-layer probe accuracy on ``task`` for each of ``poolings``, from one pass of the backbone:
    fit on ``n_train`` train clips, score on the validation split (``split_kw``: the speakers
    split's ``min_utterances`` and ``seed``). Returns pooling -> ``{"layers": [0..L], "accuracy":
    [...], "n_train", "n_eval", "chance"}``."""
    from .commands import load_split

    unknown = sorted(set(poolings) - set(POOLINGS))
    if unknown:
        raise ValueError(f"unknown pooling {unknown[0]!r}: expected one of {POOLINGS}")
    split_kw = split_kw or {}
    train = load_split(corpus_root, task, "train", **split_kw)
    val = load_split(corpus_root, task, "validation", **split_kw)
    pick = np.sort(np.random.default_rng(seed).permutation(len(train))[:min(n_train, len(train))])
    train_waves = np.stack([train[int(i)][0] for i in pick])
    pooling = "mean+std" if "mean+std" in poolings else "mean"
    train_x = pooled_layers(backbone, train_waves, normalize, device=device, pooling=pooling)
    val_x = pooled_layers(backbone, val.load_all(progress=False), normalize, device=device, pooling=pooling)
    labels = train.labels[pick]
    out = {}
    for name in poolings:
        dims = slice(None) if name == pooling else slice(0, train_x.shape[-1] // 2)  # the mean is the first half
        accuracy = [probe_accuracy(train_x[l][:, dims], labels, val_x[l][:, dims], val.labels, len(train.classes))
                    for l in range(train_x.shape[0])]
        out[name] = {"layers": list(range(len(accuracy))), "accuracy": accuracy, "n_train": int(len(pick)),
                     "n_eval": int(len(val)), "chance": 1.0 / len(train.classes)}
    return out


def layer_probe(backbone: torch.nn.Module, corpus_root: Path, normalize: bool, n_train: int = 2000,
                seed: int = 0, device: str = "cpu", task: str = "words", pooling: str = "mean",
                split_kw: dict[str, Any] | None = None) -> dict[str, Any]:
    """:func:`layer_probes` for one pooling (by default the words probe of chapter 01)."""
    return layer_probes(backbone, corpus_root, normalize, n_train, seed, device, task, (pooling,), split_kw)[pooling]


def probe_summary(doc: dict[str, Any], pooling: str = "mean+std") -> Any:
    """One row per (family, backbone) of a probe study (``benchmarks/speakers_probe.py``'s JSON,
    ``models`` -> family -> ``"backbone/pooling"`` -> :func:`layer_probes` result): layer 0, the best
    layer and its accuracy, the last layer, chance."""
    import pandas as pd

    rows = {}
    for family, probes in doc["models"].items():
        for key, probe in probes.items():
            backbone, _, used = key.partition("/")
            if used != pooling:
                continue
            accuracy = probe["accuracy"]
            best = int(np.argmax(accuracy))
            rows[(family, backbone)] = {"layer 0": accuracy[0], "best layer": best, "best": accuracy[best],
                                        "last layer": accuracy[-1], "chance": probe["chance"]}
    if not rows:
        raise ValueError(f"no probe with pooling {pooling!r} in this study")
    table = pd.DataFrame(rows).T
    return table.astype({"best layer": int})


def probe_sentence(probe: dict[str, Any]) -> str:
    """A backbone's per-layer words probe in one line (``make_models.backbone_probe``'s result):
    layer 0, the best layer and the best its random-init twin reaches. Pre-training made the
    transformer useful when the best layer rises above layer 0 and above the twin."""
    trained, twin = probe["pretrained"]["accuracy"], probe["random_init"]["accuracy"]
    best = int(np.argmax(trained))
    return (f"words probe {trained[0]:.2f} at layer 0, best {trained[best]:.2f} at layer {best}; "
            f"random-init twin at most {max(twin):.2f} (chance {probe['pretrained']['chance']:.3f})")
