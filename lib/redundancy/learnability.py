"""How learnable is a task, and how fast, for a learner that knows nothing about speech?

A reference for the fine-tuned models: each clip is summarised by the mean and standard deviation
over frames of its log-mel spectrogram (the statistics pooling of x-vectors, here on raw log-mels),
and two simple learners are fitted on the task's train split and scored on its test split: a
linear probe (:func:`redundancy.probe.probe_accuracy`) and a small MLP whose test accuracy is
recorded along its epochs. A fine-tuned model that stays far below the MLP is under-trained, not facing an unlearnable
task; the MLP's curve says how many epochs such a task takes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .audio import SAMPLE_RATE

N_MELS = 40
WINDOW = 400  # 25 ms at 16 kHz
HOP = 160  # 10 ms


def logmel_stats(waveforms: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(n, 2 * N_MELS) mean and standard deviation over frames of each clip's log-mel spectrogram."""
    import torchaudio

    if waveforms.ndim != 2:
        raise ValueError(f"expected (clips, samples) waveforms, got shape {waveforms.shape}")
    mel = torchaudio.transforms.MelSpectrogram(SAMPLE_RATE, n_fft=WINDOW, hop_length=HOP, n_mels=N_MELS)
    parts = []
    with torch.inference_mode():
        for start in range(0, len(waveforms), batch_size):
            batch = torch.as_tensor(np.asarray(waveforms[start:start + batch_size]), dtype=torch.float32)
            spec = torch.log(mel(batch) + 1e-6)  # (b, mels, frames)
            parts.append(torch.cat([spec.mean(-1), spec.std(-1)], dim=1).numpy())
    return np.concatenate(parts)


def _train_curve(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, test: torch.Tensor, test_y: np.ndarray,
                 epochs: int, report_at: tuple[int, ...], batch_size: int, learning_rate: float,
                 generator: torch.Generator) -> list[dict[str, float]]:
    """Adam on cross-entropy over shuffled mini-batches; test accuracy after each epoch in ``report_at``."""
    optimizer = torch.optim.Adam(net.parameters(), learning_rate, weight_decay=1e-4)
    curve = []
    for epoch in range(1, epochs + 1):
        net.train()
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), batch_size):
            index = order[start:start + batch_size]
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(x[index]), y[index]).backward()
            optimizer.step()
        if epoch in report_at:
            net.eval()
            with torch.no_grad():
                predictions = torch.cat([net(test[s:s + 512]).argmax(1) for s in range(0, len(test), 512)]).numpy()
            curve.append({"epoch": epoch, "accuracy": float((predictions == np.asarray(test_y)).mean())})
    return curve


def logmel_frames(waveforms: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(n, N_MELS, frames) log-mel spectrograms (float32), the input of :func:`tdnn_curve`."""
    import torchaudio

    if waveforms.ndim != 2:
        raise ValueError(f"expected (clips, samples) waveforms, got shape {waveforms.shape}")
    mel = torchaudio.transforms.MelSpectrogram(SAMPLE_RATE, n_fft=WINDOW, hop_length=HOP, n_mels=N_MELS)
    with torch.inference_mode():
        return np.concatenate([
            torch.log(mel(torch.as_tensor(np.asarray(waveforms[s:s + batch_size]), dtype=torch.float32)) + 1e-6).numpy()
            for s in range(0, len(waveforms), batch_size)])


def tdnn(n_mels: int, n_classes: int, channels: int = 128) -> torch.nn.Module:
    """A small x-vector-style network: three dilated 1-D convolutions over frames, statistics
    pooling (mean and standard deviation over frames), two linear layers."""

    class StatsPool(torch.nn.Module):
        def forward(self, h: torch.Tensor) -> torch.Tensor:
            return torch.cat([h.mean(-1), h.std(-1)], dim=1)

    def conv(c_in: int, kernel: int, dilation: int) -> list[torch.nn.Module]:
        return [torch.nn.Conv1d(c_in, channels, kernel, dilation=dilation), torch.nn.ReLU(),
                torch.nn.BatchNorm1d(channels)]

    return torch.nn.Sequential(*conv(n_mels, 5, 1), *conv(channels, 3, 2), *conv(channels, 3, 3), StatsPool(),
                               torch.nn.Linear(2 * channels, channels), torch.nn.ReLU(),
                               torch.nn.Linear(channels, n_classes))


def tdnn_curve(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, n_classes: int,
               epochs: int = 20, report_at: tuple[int, ...] = (1, 3, 10, 20), batch_size: int = 64,
               learning_rate: float = 1e-3, seed: int = 0) -> list[dict[str, float]]:
    """Test accuracy of :func:`tdnn` on log-mel frames (:func:`logmel_frames`, standardised per mel
    band over the training clips, not per clip: that would remove the voice's spectral shape) after
    each epoch in ``report_at``: ``[{"epoch", "accuracy"}, ...]``. A learner built for speakers:
    where it ends is about what the corpus lets any model reach."""
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("features and labels differ in length")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = torch.as_tensor(train_x, dtype=torch.float32)
    mean, std = x.mean((0, 2), keepdim=True), x.std((0, 2), keepdim=True).clamp_min(1e-6)
    x = (x - mean) / std
    y = torch.as_tensor(train_y, dtype=torch.long)
    test = (torch.as_tensor(test_x, dtype=torch.float32) - mean) / std
    net = tdnn(x.shape[1], n_classes)
    return _train_curve(net, x, y, test, test_y, epochs, report_at, batch_size, learning_rate, generator)


def mlp_curve(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, n_classes: int,
              epochs: int = 60, report_at: tuple[int, ...] = (1, 3, 10, 30, 60), hidden: int = 512,
              batch_size: int = 64, learning_rate: float = 1e-3, seed: int = 0) -> list[dict[str, float]]:
    """Test accuracy of a two-hidden-layer MLP (standardised features, Adam) after each epoch in
    ``report_at``: ``[{"epoch", "accuracy"}, ...]``."""
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise ValueError("features and labels differ in length")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = torch.as_tensor(train_x, dtype=torch.float32)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    x = (x - mean) / std
    y = torch.as_tensor(train_y, dtype=torch.long)
    test = (torch.as_tensor(test_x, dtype=torch.float32) - mean) / std
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_classes),
    )
    return _train_curve(net, x, y, test, test_y, epochs, report_at, batch_size, learning_rate, generator)


def task_learnability(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                      n_classes: int, epochs: int = 60, seed: int = 0) -> dict[str, Any]:
    """Both reference learners on one task's features: the linear probe and the MLP's curve."""
    from .probe import probe_accuracy

    return {
        "n_train": int(len(train_x)), "n_test": int(len(test_x)), "n_classes": int(n_classes),
        "chance": 1.0 / n_classes,
        "linear_probe": probe_accuracy(train_x, train_y, test_x, test_y, n_classes),
        "mlp": mlp_curve(train_x, train_y, test_x, test_y, n_classes, epochs=epochs, seed=seed,
                         report_at=tuple(e for e in (1, 3, 10, 30, 60, 100) if e <= epochs)),
    }


def learnability_table(doc: dict[str, Any], finetuned: dict[str, dict[str, float]] | None = None):
    """One row per task: chance, the linear probe, the MLP after each recorded epoch and, from
    ``finetuned`` (task -> model -> test accuracy), the fine-tuned models beside them."""
    import pandas as pd

    records = []
    for row in doc["rows"]:
        record = {"task": row["task"], "classes": row["n_classes"], "train clips": row["n_train"],
                  "chance": row["chance"], "linear probe": row["linear_probe"]}
        record |= {f"MLP, {point['epoch']} ep": point["accuracy"] for point in row["mlp"]}
        record |= {f"fine-tuned {name}": acc for name, acc in (finetuned or {}).get(row["task"], {}).items()}
        records.append(record)
    return pd.DataFrame(records).set_index("task")
