"""Per-layer linear probes: what a frozen backbone's layers know about the words.

For each layer (0 = feature projection, l = block l) the clips' hidden states are mean-pooled over
frames and a multinomial logistic regression is fitted on a fixed subset of the words *train*
split and scored on the words *validation* split. Comparing a pre-trained backbone with its
random-init twin shows what pre-training taught, and where in the stack: in real self-supervised
models the probe rises above layer 0 in the middle layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch


@torch.inference_mode()
def pooled_layers(backbone: torch.nn.Module, waveforms: np.ndarray, normalize: bool, batch_size: int = 128,
                  device: str = "cpu") -> np.ndarray:
    """(layers, n, D) mean over frames of every layer's hidden states (see :mod:`features`)."""
    from .features import _forward_layers
    from .preprocess import prepare_inputs

    backbone.eval().to(device)
    parts = []
    for start in range(0, len(waveforms), batch_size):
        batch = prepare_inputs(waveforms[start:start + batch_size], normalize).to(device)
        parts.append(torch.stack([h.mean(1) for h in _forward_layers(backbone, batch, True)]).cpu())
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


def layer_probe(backbone: torch.nn.Module, corpus_root: Path, normalize: bool, n_train: int = 2000,
                seed: int = 0, device: str = "cpu") -> dict[str, Any]:
    """Per-layer probe accuracy on the words task: fit on ``n_train`` train clips, score on the
    validation split. Returns ``{"layers": [0..L], "accuracy": [...], "n_train", "n_eval"}``."""
    from .commands import load_split

    train = load_split(corpus_root, "words", "train")
    val = load_split(corpus_root, "words", "validation")
    pick = np.sort(np.random.default_rng(seed).permutation(len(train))[:min(n_train, len(train))])
    train_waves = np.stack([train[int(i)][0] for i in pick])
    train_x = pooled_layers(backbone, train_waves, normalize, device=device)
    val_x = pooled_layers(backbone, val.load_all(progress=False), normalize, device=device)
    labels = train.labels[pick]
    accuracy = [probe_accuracy(train_x[l], labels, val_x[l], val.labels, len(train.classes))
                for l in range(train_x.shape[0])]
    return {"layers": list(range(len(accuracy))), "accuracy": accuracy, "n_train": int(len(pick)),
            "n_eval": int(len(val)), "chance": 1.0 / len(train.classes)}
