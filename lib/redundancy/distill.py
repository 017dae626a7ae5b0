"""Training mimicking layers on cached teacher representations (PAPER.md §2.3).

The CNN encoder and the feature projection come from the teacher and are never trained, so both
stages run on their cached output (layer 0 of the hidden states) instead of on audio: one teacher
pass per clip in all, however many variants and epochs.

- **Stage 1** (distillation): MSE between each mimicking layer's output and its target layer of the
  teacher, summed over layers; Adam at a fixed learning rate; the checkpoint with the lowest
  validation loss is kept.
Inputs stay where they are (CPU tensors, possibly memory-mapped); batches move to the schedule's
``device``; trained modules are returned on the CPU.

- **Stage 2** (adaptation): mimicker and head trained together with the NLL loss of the task; the
  checkpoint with the best validation accuracy is kept. Without a mimicker this is the paper's
  head-only control; from a random mimicker, the non-mimicker control.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Any

import torch
from torch import nn


@dataclass
class Schedule:
    """One stage's optimisation: epochs, batch size, Adam learning rate, optional early stopping."""

    epochs: int
    batch_size: int = 128
    learning_rate: float = 1e-3
    patience: int | None = None  # stop after this many epochs without a better validation score
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 1 or self.learning_rate <= 0:
            raise ValueError(f"Schedule: need epochs >= 0, batch_size >= 1, learning_rate > 0, got {self}")


@dataclass
class StageLog:
    """Per-epoch history of one stage; ``best_epoch`` is the kept checkpoint (0: the initial one)."""

    history: list[dict[str, float | None]] = field(default_factory=list)  # epoch 0: before training
    best_epoch: int = 0
    best_score: float = float("nan")
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"history": self.history, "best_epoch": self.best_epoch, "best_score": self.best_score,
                "seconds": self.seconds}


def _check_frames(x: torch.Tensor, name: str) -> None:
    if x.ndim != 3 or x.shape[0] == 0:
        raise ValueError(f"{name}: expected a non-empty (clips, frames, D) tensor, got shape {tuple(x.shape)}")


def _batches(n: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    return list(order.split(batch_size))


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False, unit="epoch")


@torch.no_grad()
def mimic_loss(mimicker: nn.Module, x: torch.Tensor, targets: list[torch.Tensor], batch_size: int = 256,
               device: str = "cpu") -> float:
    """Mean over clips of the summed per-layer MSE (eval mode; ``mimicker`` must be on ``device``)."""
    mimicker.eval()
    total = 0.0
    for idx in _batches(len(x), batch_size, None):
        outs = mimicker(x[idx].to(device), all_stages=True)
        total += sum(nn.functional.mse_loss(o, t[idx].to(device)) for o, t in zip(outs, targets)).item() * len(idx)
    return total / len(x)


def _fit(parts: nn.Module, batch_loss: Callable[[torch.Tensor], torch.Tensor], n_train: int,
         validate: Callable[[], float], score: str, schedule: Schedule, desc: str, progress: bool) -> StageLog:
    """The loop both stages share: Adam over ``parts`` on shuffled batches of ``n_train`` clips,
    ``validate()`` after every epoch (``score`` ends in ``loss``: lower is better, else higher), the best
    checkpoint kept (in place), optional early stopping. ``parts`` are on the schedule's device."""
    lower_is_better = score.endswith("loss")
    generator = torch.Generator().manual_seed(schedule.seed)
    optimiser = torch.optim.Adam(parts.parameters(), lr=schedule.learning_rate)
    log = StageLog(best_score=validate())
    log.history.append({"epoch": 0, "train_loss": None, score: log.best_score})
    best = copy.deepcopy(parts.state_dict())
    start = time.perf_counter()
    with _progress(schedule.epochs, desc, progress) as bar:
        for epoch in range(1, schedule.epochs + 1):
            parts.train()
            running = 0.0
            for idx in _batches(n_train, schedule.batch_size, generator):
                loss = batch_loss(idx)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                running += loss.item() * len(idx)
            val = validate()
            log.history.append({"epoch": epoch, "train_loss": running / n_train, score: val})
            if (val < log.best_score) if lower_is_better else (val > log.best_score):
                log.best_score, log.best_epoch, best = val, epoch, copy.deepcopy(parts.state_dict())
            bar.update(1)
            bar.set_postfix({score: f"{val:.4f}"})
            if schedule.patience is not None and epoch - log.best_epoch >= schedule.patience:
                break
    parts.load_state_dict(best)
    parts.eval().cpu()
    log.seconds = time.perf_counter() - start
    return log


def train_stage1(
    mimicker: nn.Module,
    x_train: torch.Tensor,
    targets_train: list[torch.Tensor],
    x_val: torch.Tensor,
    targets_val: list[torch.Tensor],
    schedule: Schedule,
    progress: bool = True,
) -> StageLog:
    """Fit ``mimicker``'s layer k to ``targets[k]`` (MSE); keep the best validation checkpoint (in place)."""
    for name, x, targets in (("train", x_train, targets_train), ("validation", x_val, targets_val)):
        _check_frames(x, f"stage 1 {name} inputs")
        if len(targets) != mimicker.n_stages or any(t.shape != x.shape for t in targets):
            raise ValueError(f"stage 1 {name}: need {mimicker.n_stages} target layers shaped like the inputs "
                             f"{tuple(x.shape)}, got {[tuple(t.shape) for t in targets]}")
    dev = schedule.device
    mimicker.to(dev)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        outs = mimicker(x_train[idx].to(dev), all_stages=True)
        return sum(nn.functional.mse_loss(o, t[idx].to(dev)) for o, t in zip(outs, targets_train))

    return _fit(mimicker, batch_loss, len(x_train), lambda: mimic_loss(mimicker, x_val, targets_val, device=dev),
                "val_loss", schedule, "stage 1", progress)


@torch.no_grad()
def logits_of(mimicker: nn.Module | None, head: nn.Module, x: torch.Tensor, batch_size: int = 256,
              device: str = "cpu") -> torch.Tensor:
    """Logits of head(mimicker(x)) for cached feature-projection outputs ``x`` (eval mode, on the CPU;
    the modules must be on ``device``)."""
    _check_frames(x, "inputs")
    if mimicker is not None:
        mimicker.eval()
    head.eval()
    outs = []
    for i in range(0, len(x), batch_size):
        frames = x[i:i + batch_size].to(device)
        outs.append(head(mimicker(frames) if mimicker is not None else frames).cpu())
    return torch.cat(outs)


def accuracy_of(mimicker: nn.Module | None, head: nn.Module, x: torch.Tensor, labels: torch.Tensor,
                device: str = "cpu") -> float:
    """Fraction of clips whose arg-max logit is the label."""
    return float((logits_of(mimicker, head, x, device=device).argmax(-1) == labels).float().mean())


def train_stage2(
    mimicker: nn.Module | None,
    head: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor,
    y_val: torch.Tensor,
    schedule: Schedule,
    progress: bool = True,
) -> StageLog:
    """Train ``mimicker`` (if any) and ``head`` with the NLL loss; keep the best validation accuracy (in place)."""
    _check_frames(x_train, "stage 2 train inputs")
    _check_frames(x_val, "stage 2 validation inputs")
    if len(y_train) != len(x_train) or len(y_val) != len(x_val):
        raise ValueError(f"stage 2: {len(x_train)}/{len(x_val)} clips but {len(y_train)}/{len(y_val)} labels")
    dev = schedule.device
    parts = nn.ModuleList([m for m in (mimicker, head) if m is not None]).to(dev)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        frames = x_train[idx].to(dev)
        frames = mimicker(frames) if mimicker is not None else frames
        return nn.functional.cross_entropy(head(frames), y_train[idx].to(dev))

    return _fit(parts, batch_loss, len(x_train), lambda: accuracy_of(mimicker, head, x_val, y_val, dev),
                "val_accuracy", schedule, "stage 2", progress)
