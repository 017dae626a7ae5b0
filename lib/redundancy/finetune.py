"""Fine-tuning with the standard audio-classification head, as the authors did.

``AutoModelForAudioClassification`` puts a ``projector`` Linear(D -> 256), a mean over frames and a
``classifier`` Linear(256 -> classes) on the backbone; the transformers ``Trainer`` trains it (so the
paper profile runs unchanged on several GPUs under ``accelerate launch`` or ``torchrun``). The CNN
feature encoder is frozen as usual. The result is a cached Hugging Face checkpoint folder with the
test accuracy, its bootstrap interval, the chance level, the training curve and the test predictions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import cache
from .config import Profile, load_profile, resolve_device
from .preprocess import prepare_inputs, save_feature_extractor, should_normalize
from .stats import bootstrap_mean_ci

STAGE = "finetune"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "test_predictions.npz"


class ClipDataset(torch.utils.data.Dataset):
    """Clips held in memory as (n, 16000) float32 plus integer labels, for the Trainer."""

    def __init__(self, waveforms: np.ndarray, labels: np.ndarray, normalize: bool):
        if len(waveforms) != len(labels):
            raise ValueError(f"{len(waveforms)} clips but {len(labels)} labels")
        self.inputs = prepare_inputs(waveforms, normalize)
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"input_values": self.inputs[index], "labels": self.labels[index]}


def _source_key(source: str | Path) -> str:
    """Cache input of a model source: the artifact key of a cached folder, else the name itself."""
    path = Path(str(source))
    if path.is_dir() and (path / "_manifest.json").is_file():
        return cache.key_of(path)
    return str(source)


def build_classifier(source: str | Path, n_classes: int, class_names: list[str], random_init: bool,
                     mask_time_prob: float | None = None):
    """The standard audio-classification model on a backbone (pre-trained, or its architecture only).

    ``mask_time_prob`` overrides the checkpoint's SpecAugment time masking (None keeps it).
    """
    from transformers import AutoConfig, AutoModelForAudioClassification

    label_kw = dict(
        num_labels=n_classes,
        id2label={i: name for i, name in enumerate(class_names)},
        label2id={name: i for i, name in enumerate(class_names)},
        classifier_proj_size=256,
        layerdrop=0.0,
        use_weighted_layer_sum=False,
    )
    if mask_time_prob is not None:
        label_kw["mask_time_prob"] = mask_time_prob
    if random_init:
        config = AutoConfig.from_pretrained(str(source), **label_kw)
        return AutoModelForAudioClassification.from_config(config)
    return AutoModelForAudioClassification.from_pretrained(str(source), **label_kw)


@torch.inference_mode()
def predict(model: torch.nn.Module, inputs: torch.Tensor, batch_size: int = 128, device: str = "cpu") -> np.ndarray:
    """Arg-max class per clip for already prepared ``input_values``; the model is put in eval mode."""
    model.eval().to(device)
    preds = []
    for start in range(0, len(inputs), batch_size):
        logits = model(input_values=inputs[start:start + batch_size].to(device)).logits
        preds.append(logits.argmax(-1).cpu())
    return torch.cat(preds).numpy() if preds else np.zeros(0, dtype=np.int64)


def accuracy_summary(predictions: np.ndarray, labels: np.ndarray, n_classes: int,
                     n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Accuracy with a percentile-bootstrap 95 % interval, and the two chance levels."""
    correct = (np.asarray(predictions) == np.asarray(labels)).astype(np.float64)
    low, high = bootstrap_mean_ci(correct, n_boot=n_boot, seed=seed)
    counts = np.bincount(np.asarray(labels), minlength=n_classes)
    return {
        "accuracy": float(correct.mean()),
        "ci95": [low, high],
        "n_test": int(len(labels)),
        "n_classes": int(n_classes),
        "chance_uniform": 1.0 / n_classes,
        "chance_majority": float(counts.max() / counts.sum()),
    }


def _training_args(profile: Profile, out: Path, device: str, n_train: int, progress: bool, seed: int):
    from transformers import TrainingArguments

    cfg = profile.finetune
    steps_per_epoch = max(1, int(np.ceil(n_train / cfg.batch_size)))
    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        warmup_steps=cfg.warmup_fraction,
        lr_scheduler_type="linear",
        weight_decay=0.0,
        logging_steps=max(1, min(20, steps_per_epoch // 4)),
        logging_first_step=True,
        save_strategy="no",
        eval_strategy="no",
        report_to=[],
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        use_cpu=device == "cpu",
        seed=seed,
        remove_unused_columns=False,
    )


def finetune(
    source: str | Path,
    task: str,
    profile: Profile | str | None = None,
    *,
    corpus_root: Path,
    random_init: bool = False,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
) -> Path:
    """Fine-tune ``source`` (checkpoint folder or hub name) on ``task``; return the cached folder.

    ``random_init=True`` trains the same architecture from random weights: the control that says
    whether pre-training mattered. The folder holds the checkpoint (``save_pretrained``), the
    feature-extractor config, ``metrics.json`` and ``test_predictions.npz``.
    """
    from .commands import load_split

    profile = load_profile(profile) if not isinstance(profile, Profile) else profile
    device = resolve_device(device)
    if task not in ("words", "speakers"):
        raise ValueError(f"unknown task {task!r}: expected 'words' or 'speakers'")
    corpus_root = Path(corpus_root)
    config = {
        "task": task,
        "finetune": dataclasses.asdict(profile.finetune),
        "random_init": random_init,
        "seed": seed,
        "speakers": [profile.corpus.speaker_min_utterances, profile.corpus.speaker_split_seed],
    }
    inputs = [_source_key(source), _corpus_key(corpus_root)]

    def build(out: Path) -> None:
        split_kw = dict(min_utterances=profile.corpus.speaker_min_utterances,
                        seed=profile.corpus.speaker_split_seed)
        train = load_split(corpus_root, task, "train", **split_kw)
        test = load_split(corpus_root, task, "test", **split_kw)
        normalize = should_normalize(source)
        torch.manual_seed(seed)
        model = build_classifier(source, len(train.classes), list(train.classes), random_init,
                                 profile.finetune.mask_time_prob)
        if profile.finetune.freeze_feature_encoder:
            model.freeze_feature_encoder()
        train_data = ClipDataset(train.load_all(progress=progress), train.labels, normalize)
        _run_trainer(model, train_data, profile, out, device, progress, seed)
        test_inputs = prepare_inputs(test.load_all(progress=progress), normalize)
        preds = predict(model, test_inputs, device=device)
        summary = accuracy_summary(preds, test.labels, len(train.classes), profile.finetune.bootstrap)
        model.cpu().save_pretrained(str(out))
        save_feature_extractor(out, normalize)
        np.savez(out / PREDICTIONS_FILE, predictions=preds, labels=test.labels)
        summary.update(task=task, source=str(source), random_init=random_init, seed=seed,
                       n_train=len(train), classes=list(train.classes),
                       skipped=[str(p) for p, _ in train.skipped + test.skipped])
        summary.update(json.loads((out / "train_log.json").read_text())["summary"])
        (out / METRICS_FILE).write_text(json.dumps(summary, indent=2))

    return cache.build_artifact(STAGE, config, build, inputs=inputs)


def _corpus_key(root: Path) -> str:
    if (root / "_manifest.json").is_file():
        return cache.key_of(root)
    return str(root.resolve())


def _run_trainer(model, train_data: ClipDataset, profile: Profile, out: Path, device: str, progress: bool,
                 seed: int) -> None:
    """Train with the transformers Trainer; write the loss curve to ``train_log.json``."""
    from transformers import Trainer

    scratch = out / "_trainer"
    args = _training_args(profile, scratch, device, len(train_data), progress, seed)
    trainer = Trainer(model=model, args=args, train_dataset=train_data)
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    curve = [
        {"step": int(entry["step"]), "epoch": float(entry.get("epoch", 0.0)), "loss": float(entry["loss"])}
        for entry in trainer.state.log_history
        if "loss" in entry
    ]
    log = {
        "curve": curve,
        "summary": {
            "train_seconds": seconds,
            "train_steps": int(result.global_step),
            "final_train_loss": curve[-1]["loss"] if curve else float("nan"),
            "device": device,
            "torch_threads": torch.get_num_threads(),
        },
    }
    (out / "train_log.json").write_text(json.dumps(log, indent=2))
    import shutil

    shutil.rmtree(scratch, ignore_errors=True)


def read_metrics(folder: Path) -> dict[str, Any]:
    """The metrics of a fine-tuned folder."""
    return cache.read_json(Path(folder) / METRICS_FILE)


def read_curve(folder: Path) -> list[dict[str, float]]:
    """The training-loss curve of a fine-tuned folder."""
    return cache.read_json(Path(folder) / "train_log.json")["curve"]


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("finetune", help="fine-tune the profile's models on a task")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--model", required=True, help="family (mini/smoke), hub name or folder")
    parser.add_argument("--task", choices=("words", "speakers"), required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--random-init", action="store_true")
    parser.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    from . import pipeline

    profile = load_profile(args.profile)
    folder = pipeline.finetuned_dir(profile, args.model, args.task, random_init=args.random_init,
                                    device=args.device)
    print(json.dumps(read_metrics(folder), indent=2))
    print(folder)
    return 0
