"""The fine-tuned baselines of a profile: every model x task, plus the random-initialisation control.

Later chapters measure pruning and mimicking against these numbers; ``results/<profile>/baselines.json``
keeps them (keys: ``models`` -> model -> task -> {accuracy, ci95, n_test, n_classes, ...}; the control
under ``controls`` -> model -> ``words``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import pipeline
from .cache import atomic_write_json
from .config import Profile, load_profile
from .finetune import read_curve, read_metrics
from .paths import results_dir

KEPT = ("accuracy", "ci95", "n_test", "n_classes", "chance_uniform", "chance_majority",
        "train_seconds", "train_steps", "n_train")


def collect_baselines(profile: Profile | str | None = None, device: str = "auto") -> dict[str, Any]:
    """Fine-tune (or fetch from the cache) every model on every task; return the results dict."""
    profile = profile if isinstance(profile, Profile) else load_profile(profile)
    report: dict[str, Any] = {"profile": profile.name, "models": {}, "controls": {}, "folders": {}}
    for name in pipeline.model_names(profile):
        for task in profile.finetune.tasks:
            folder = pipeline.finetuned_dir(profile, name, task, device=device)
            report["models"].setdefault(name, {})[task] = _kept(read_metrics(folder))
            report["folders"][f"{name}/{task}"] = str(folder)
        if profile.finetune.random_init_control and "words" in profile.finetune.tasks:
            folder = pipeline.finetuned_dir(profile, name, "words", random_init=True, device=device)
            report["controls"].setdefault(name, {})["words"] = _kept(read_metrics(folder))
            report["folders"][f"{name}/words/random-init"] = str(folder)
    return report


def _kept(metrics: dict[str, Any]) -> dict[str, Any]:
    return {key: metrics[key] for key in KEPT if key in metrics}


def write_baselines(report: dict[str, Any]) -> Path:
    """Write ``results/<profile>/baselines.json`` (cache folders left out: they are machine-local)."""
    path = results_dir(report["profile"]) / "baselines.json"
    atomic_write_json(path, {k: v for k, v in report.items() if k != "folders"})
    return path


def baselines_table(report: dict[str, Any]):
    """One row per model x task (and control): accuracy, 95 % interval, chance, sizes, time."""
    import pandas as pd

    rows = []
    for group, label in (("models", "pre-trained"), ("controls", "random init")):
        for name, tasks in report[group].items():
            for task, m in tasks.items():
                rows.append({
                    "model": name, "init": label, "task": task,
                    "accuracy": m["accuracy"], "ci95 low": m["ci95"][0], "ci95 high": m["ci95"][1],
                    "chance": m["chance_uniform"], "classes": m["n_classes"], "test clips": m["n_test"],
                    "train s": m.get("train_seconds", np.nan),
                })
    return pd.DataFrame(rows).sort_values(["task", "model", "init"]).reset_index(drop=True)


def training_curves(report: dict[str, Any]) -> dict[str, list[dict[str, float]]]:
    """Training-loss curves keyed like ``report['folders']``."""
    return {name: read_curve(Path(folder)) for name, folder in report["folders"].items()}


def confusion_matrix(folder: str | Path, n_classes: int) -> np.ndarray:
    """Row-normalised confusion matrix (true x predicted) of a fine-tuned model's test predictions."""
    data = np.load(Path(folder) / "test_predictions.npz")
    matrix = np.zeros((n_classes, n_classes))
    np.add.at(matrix, (data["labels"], data["predictions"]), 1)
    return matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
