"""Fine-tuning with the standard audio-classification head, as the authors did.

``AutoModelForAudioClassification`` puts a ``projector`` Linear(D -> 256), a mean over frames and a
``classifier`` Linear(256 -> classes) on the backbone (the recipe's ``pooling`` may pool the mean and
standard deviation instead: :mod:`redundancy.heads`); the transformers ``Trainer`` trains it (so the
paper profile runs unchanged on several GPUs under ``accelerate launch`` or ``torchrun``). Whether
the CNN feature encoder trains is the recipe's ``freeze_feature_encoder`` (the mini profile trains
it; the controls set it themselves). The result is a cached Hugging Face checkpoint folder with the
test accuracy, its bootstrap interval, the chance level, the training curve and the test predictions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import cache
from .audio import SAMPLE_RATE
from .config import FinetuneConfig, resolve_device
from .heads import build_classifier_model
from .models import base_model
from .preprocess import prepare_inputs, save_feature_extractor, should_normalize
from .publish import source_key
from .stats import bootstrap_mean_ci

STAGE = "finetune"
#: Recipe fields that say what a profile plans (seeds, tasks, the sweep), not how one run trains;
#: ``stop_after_evaluations`` keys the stopped run's artifact only (see :func:`finetune`).
NOT_THE_RUN = ("seeds", "tasks", "random_init_control", "lr_candidates", "lr_sweep_evaluations",
               "stop_after_evaluations")
#: The modules whose code decides a fine-tuned checkpoint (part of its cache key).
CODE = ("redundancy.finetune", "redundancy.heads", "redundancy.models", "redundancy.preprocess",
        "redundancy.commands")
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "test_predictions.npz"


class ClipDataset(torch.utils.data.Dataset):
    """Clips held in memory as (n, 16000) float32 plus integer labels, for the Trainer.

    ``crop_samples`` > 0 gives a random window of that many samples of each clip instead of the
    whole clip (training only), drawn from torch's generator: the Trainer seeds it and restores it
    when a run resumes, so a cropped run is as reproducible as a whole-clip one.
    """

    def __init__(self, waveforms: np.ndarray, labels: np.ndarray, normalize: bool, crop_samples: int = 0):
        if len(waveforms) != len(labels):
            raise ValueError(f"{len(waveforms)} clips but {len(labels)} labels")
        self.inputs = prepare_inputs(waveforms, normalize)
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
        if crop_samples < 0 or (len(self.inputs) and crop_samples > self.inputs.shape[-1]):
            raise ValueError(f"a training window of {crop_samples} samples does not fit clips of "
                             f"{self.inputs.shape[-1]} samples")
        self.crop_samples = int(crop_samples)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        clip = self.inputs[index]
        if self.crop_samples:
            if clip.dim() != 1:
                raise ValueError("a training window needs waveforms, not precomputed CNN outputs")
            start = int(torch.randint(0, clip.shape[-1] - self.crop_samples + 1, ()))
            clip = clip[start:start + self.crop_samples]
        return {"input_values": clip, "labels": self.labels[index]}


class PrecomputedFeatures(torch.nn.Module):
    """Stands in for a *frozen* CNN feature encoder whose outputs were computed once.

    A frozen module gives the same output every epoch, so fine-tuning feeds the backbone the
    encoder's (batch, channels, frames) outputs directly: the same computation, about a third
    less time per step on a CPU. The real encoder is put back before the model is saved.
    """

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


class LowerCNNBlocks(torch.nn.Module):
    """The lowest ``blocks`` blocks of a CNN feature encoder, from prepared ``input_values``: what
    :func:`cached_cnn_features` computes once when only those blocks are frozen."""

    def __init__(self, encoder: torch.nn.Module, blocks: int):
        super().__init__()
        self.blocks = encoder.conv_layers[:blocks]

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        hidden = input_values[:, None]
        for block in self.blocks:
            hidden = block(hidden)
        return hidden


class UpperCNNBlocks(torch.nn.Module):
    """Stands in for a CNN feature encoder whose lowest ``blocks`` blocks are frozen and were
    computed once: it runs the blocks above them (which train) on those stored outputs. The real
    encoder is put back before the model is saved."""

    def __init__(self, encoder: torch.nn.Module, blocks: int):
        super().__init__()
        self.blocks = encoder.conv_layers[blocks:]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            features = block(features)
        return features


def freeze_lower_cnn_blocks(encoder: torch.nn.Module, blocks: int) -> None:
    """Stop the gradients of the lowest ``blocks`` CNN blocks (at least one block above them trains)."""
    n_blocks = len(encoder.conv_layers)
    if not 0 < blocks < n_blocks:
        raise ValueError(f"frozen_cnn_blocks must be between 1 and {n_blocks - 1} for this {n_blocks}-block CNN "
                         f"(got {blocks}); freeze the whole encoder with freeze_feature_encoder instead")
    for block in encoder.conv_layers[:blocks]:
        for parameter in block.parameters():
            parameter.requires_grad = False


@torch.inference_mode()
def encode_clips(encoder: torch.nn.Module, inputs: torch.Tensor, batch_size: int = 256,
                 device: str = "cpu") -> torch.Tensor:
    """The CNN feature encoder's outputs (n, channels, frames) of prepared ``input_values``."""
    encoder.eval().to(device)
    parts = [encoder(inputs[i:i + batch_size].to(device)).cpu() for i in range(0, len(inputs), batch_size)]
    return torch.cat(parts) if parts else torch.zeros(0)


def cached_cnn_features(source: str | Path, encoder: torch.nn.Module, corpus_root: Path, normalize: bool,
                        device: str = "cpu", progress: bool = True,
                        blocks: int | None = None) -> tuple[Path, dict[str, int]]:
    """The frozen CNN encoder's outputs for every clip of the words task (train, validation and
    test; the speakers task's clips are a subset), computed once per backbone and corpus and shared
    by every run that fine-tunes that backbone with the encoder frozen (seeds, tasks). ``blocks``:
    the outputs of only the lowest ``blocks`` blocks (the frozen part of a CNN whose upper blocks train).

    Returns the artifact folder (``features.npy``, float32 (n, channels, frames)) and a map from a
    clip's path relative to the corpus root to its row.
    """
    from .commands import load_split

    corpus_root = Path(corpus_root)
    splits = [load_split(corpus_root, "words", name) for name in ("train", "validation", "test")]
    files = [f for split in splits for f in split.files]
    relative = [str(Path(f).relative_to(corpus_root)) for f in files]

    def build(out: Path) -> None:
        from tqdm.auto import tqdm

        rows = []
        for split in splits:
            clips = prepare_inputs(split.load_all(progress=progress), normalize)
            for start in tqdm(range(0, len(clips), 512), desc=f"CNN features ({split.split})",
                              disable=not progress):
                rows.append(encode_clips(lower, clips[start:start + 512], device=device).numpy())
        np.save(out / "features.npy", np.concatenate(rows).astype(np.float32))
        (out / "clips.json").write_text(json.dumps(relative))

    lower = encoder if blocks is None else LowerCNNBlocks(encoder, blocks)
    settings = {"normalize": normalize, "clips": len(relative)} | ({} if blocks is None else {"blocks": blocks})
    folder = cache.build_artifact("cnn-features", settings, build,
                                  inputs=[source_key(source), cache.folder_key(corpus_root)], code=CODE)
    order = json.loads((folder / "clips.json").read_text())
    return folder, {name: i for i, name in enumerate(order)}


def _features_of(folder: Path, index: dict[str, int], split: Any) -> torch.Tensor:
    """Rows of a :func:`cached_cnn_features` artifact for the clips of ``split``, in its order."""
    features = np.load(Path(folder) / "features.npy", mmap_mode="r")
    rows = [index[str(Path(f).relative_to(split.root))] for f in split.files]
    return torch.from_numpy(np.ascontiguousarray(features[rows]))


#: The backbone dropouts that ``FinetuneConfig.dropout`` sets (the same names in wav2vec2, HuBERT, WavLM).
DROPOUT_SETTINGS = ("hidden_dropout", "attention_dropout", "activation_dropout", "feat_proj_dropout")


#: Attention for bfloat16 training on a CPU: torch's fused (SDPA) attention backward there is several
#: times slower in bfloat16 than in float32 and ate the whole gain (a wav2vec2 words step of 8 clips:
#: 0.101 s with SDPA against 0.062 s eager, 0.111 s in float32; benchmarks/bf16_step.py).
BF16_CPU_ATTENTION = "eager"


def build_classifier(source: str | Path, n_classes: int, class_names: list[str], random_init: bool,
                     mask_time_prob: float | None = None, dropout: float | None = None, pooling: str = "mean"):
    """The audio-classification model on a backbone (pre-trained, or its architecture only).

    ``mask_time_prob`` overrides the checkpoint's SpecAugment time masking, ``dropout`` its backbone
    dropouts (:data:`DROPOUT_SETTINGS`); None keeps the checkpoint's. ``pooling``: how the head
    pools frames (:mod:`redundancy.heads`; "mean" is transformers' standard head).
    """
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
    if dropout is not None:
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        label_kw.update(dict.fromkeys(DROPOUT_SETTINGS, dropout))
    return build_classifier_model(source, pooling, random_init, **label_kw)


def most_frames_masked(config: Any, samples: int) -> float:
    """The largest share of a ``samples``-long input's frames that the model's SpecAugment time masks
    may cover while training: at least ``mask_time_min_masks`` spans of ``mask_time_length`` frames,
    however short the input (transformers' rule). A half-second window of the mini models has 24
    frames, and the hub setting (p = 0.05, spans of 10, at least 2) may mask 20 of them."""
    prob = float(getattr(config, "mask_time_prob", 0.0) or 0.0)
    if prob <= 0:
        return 0.0
    frames = samples
    for kernel, stride in zip(config.conv_kernel, config.conv_stride):
        frames = (frames - kernel) // stride + 1
    length = int(config.mask_time_length)
    spans = max(int(prob * frames / length + 1), int(getattr(config, "mask_time_min_masks", 0) or 0))
    return min(1.0, spans * length / max(frames, 1))


def checkpoint_dropouts(source: str | Path) -> dict[str, float]:
    """The backbone dropouts (:data:`DROPOUT_SETTINGS`) a checkpoint's config sets."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(source))
    return {name: getattr(config, name) for name in DROPOUT_SETTINGS}


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


def _training_args(cfg: FinetuneConfig, out: Path, device: str, n_train: int, progress: bool, seed: int):
    """Trainer settings: the recipe's schedule, plus validation and a checkpoint ``evaluations``
    times per run; the checkpoint with the best validation accuracy is the one kept (model
    selection on validation, never on test), and the saved checkpoints make a run resumable."""
    from transformers import TrainingArguments

    steps_per_epoch = max(1, int(np.ceil(n_train / cfg.batch_size)))
    total = cfg.max_steps if cfg.max_steps > 0 else int(np.ceil(cfg.epochs * steps_per_epoch))
    every = max(1, int(np.ceil(total / max(1, cfg.evaluations))))
    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=128,
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        warmup_steps=cfg.warmup_fraction,
        lr_scheduler_type=cfg.lr_scheduler,
        weight_decay=cfg.weight_decay,
        logging_steps=max(1, min(20, steps_per_epoch // 4)),
        logging_first_step=True,
        save_strategy="steps",
        eval_strategy="steps",
        save_steps=every,
        eval_steps=every,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="accuracy",
        greater_is_better=True,
        save_only_model=False,
        report_to=[],
        disable_tqdm=not progress,
        dataloader_num_workers=0,
        use_cpu=device == "cpu",
        bf16=cfg.mixed_precision == "bf16",
        seed=seed,
        data_seed=seed,
        remove_unused_columns=False,
    )


#: Parameter-name prefixes of the classification head that ``AutoModelForAudioClassification`` adds.
HEAD_PREFIXES = ("projector.", "classifier.")


def optimizer_groups(model: torch.nn.Module, learning_rate: float, head_lr_multiplier: float,
                     weight_decay: float, decay_names: set[str]) -> list[dict[str, Any]]:
    """AdamW parameter groups: backbone and head (at ``head_lr_multiplier`` times the rate), each
    split into decayed and not decayed parameters as the Trainer does. A frozen parameter is left out."""
    groups = []
    for head in (False, True):
        for decayed in (True, False):
            params = [p for n, p in model.named_parameters()
                      if p.requires_grad and n.startswith(HEAD_PREFIXES) == head and (n in decay_names) == decayed]
            if params:
                groups.append({"params": params, "weight_decay": weight_decay if decayed else 0.0,
                               "lr": learning_rate * (head_lr_multiplier if head else 1.0)})
    return groups


def _trainer_class(head_lr_multiplier: float):
    """The transformers Trainer, with the head at its own learning rate when the multiplier is not 1
    (the scheduler scales every group's rate alike, so warm-up and decay stay the run's)."""
    from transformers import Trainer

    if head_lr_multiplier == 1.0:
        return Trainer

    class HeadRateTrainer(Trainer):
        def create_optimizer(self, model=None):
            if self.optimizer is None:
                opt_model = self.model if model is None else model
                optimizer_cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
                groups = optimizer_groups(opt_model, self.args.learning_rate, head_lr_multiplier,
                                          self.args.weight_decay, set(self.get_decay_parameter_names(opt_model)))
                self.optimizer = optimizer_cls(groups, **kwargs)
            return self.optimizer

    return HeadRateTrainer


def StopAfterStep(step: int):
    """A Trainer callback that ends training after ``step`` optimiser steps (a validation and
    checkpoint step): the schedule stays the whole run's, so the run can continue from there."""
    from transformers import TrainerCallback

    class _Stop(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= step:
                control.should_training_stop = True
            return control

    return _Stop()


def TimeAtCheckpoints(timer_file: Path, earlier: float):
    """A Trainer callback that records, at each checkpoint, the training seconds that produced it
    (``earlier`` ones from before a resume included): a run killed outright (a closed laptop, the
    end of a session) then resumes with the time of the checkpoint it continues from, and its
    recorded ``train_seconds`` covers every part of the run, not only the last."""
    from transformers import TrainerCallback

    start = time.perf_counter()

    class _Timer(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            timer_file.write_text(json.dumps({"seconds": earlier + time.perf_counter() - start,
                                              "step": int(state.global_step)}))
            return control

    return _Timer()


def _accuracy_metric(eval_prediction: Any) -> dict[str, float]:
    logits = eval_prediction.predictions
    logits = logits[0] if isinstance(logits, tuple) else logits
    return {"accuracy": float((np.argmax(logits, -1) == eval_prediction.label_ids).mean())}


def finetune(
    source: str | Path,
    task: str,
    cfg: FinetuneConfig,
    *,
    corpus_root: Path,
    speaker_min_utterances: int = 50,
    speaker_split_seed: int = 42,
    random_init: bool = False,
    train_cnn: bool | None = None,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
) -> Path:
    """Fine-tune ``source`` (checkpoint folder or hub name) on ``task``; return the cached folder.

    ``cfg`` is the recipe (a profile's ``finetune`` section; :func:`redundancy.pipeline.finetuned_dir`
    hands it over with the corpus root and the speakers task's split settings).

    ``random_init=True`` trains the same architecture from random weights: the control that says
    whether pre-training mattered. ``train_cnn`` says whether the CNN feature encoder trains (the
    controls set it: a frozen random CNN is an untrainable front end); None follows the recipe's
    ``freeze_feature_encoder``. The folder holds the checkpoint (``save_pretrained``), the
    feature-extractor config, ``metrics.json`` and ``test_predictions.npz``.
    """
    from .commands import load_split

    device = resolve_device(device)
    if task not in ("words", "speakers"):
        raise ValueError(f"unknown task {task!r}: expected 'words' or 'speakers'")
    corpus_root = Path(corpus_root)
    train_cnn = (not cfg.freeze_feature_encoder) if train_cnn is None else bool(train_cnn)
    config = {
        "task": task,
        # the run's recipe; which seeds and tasks a profile plans is not part of one run
        "finetune": {k: v for k, v in dataclasses.asdict(cfg).items() if k not in NOT_THE_RUN},
        "random_init": random_init,
        "train_cnn": train_cnn,
        "seed": seed,
        "speakers": [speaker_min_utterances, speaker_split_seed],
    }
    inputs = [source_key(source), cache.folder_key(corpus_root)]
    # A run stopped early (a sweep's prefix) is its own artifact, but it checkpoints into the whole
    # run's work folder, so that the whole run continues from it instead of starting over.
    work_key = cache.stage_key(STAGE, config, inputs, code=CODE)
    artifact_config = dict(config, stop_after_evaluations=cfg.stop_after_evaluations) \
        if cfg.stop_after_evaluations > 0 else config

    def build(out: Path) -> None:
        split_kw = dict(min_utterances=speaker_min_utterances, seed=speaker_split_seed)
        train = load_split(corpus_root, task, "train", **split_kw)
        validation = load_split(corpus_root, task, "validation", **split_kw)
        test = load_split(corpus_root, task, "test", **split_kw)
        normalize = should_normalize(source)
        torch.manual_seed(seed)
        model = build_classifier(source, len(train.classes), list(train.classes), random_init,
                                 cfg.mask_time_prob, cfg.dropout, cfg.pooling)
        if cfg.mixed_precision == "bf16" and device == "cpu":
            model.set_attn_implementation(BF16_CPU_ATTENTION)
        frozen = not train_cnn
        # the lowest CNN blocks stay frozen although the CNN trains (pre-trained runs only)
        lower_frozen = cfg.frozen_cnn_blocks if train_cnn and not random_init else 0
        if frozen:
            model.freeze_feature_encoder()
        crop = int(round(cfg.train_crop_seconds * SAMPLE_RATE))
        if crop and (frozen or lower_frozen) and cfg.precompute_cnn_features:
            raise ValueError("train_crop_seconds crops the waveform, so the CNN must run on it: not with "
                             "frozen CNN blocks whose outputs are precomputed (precompute_cnn_features)")
        if crop and most_frames_masked(model.config, crop) > 0.5:
            warnings.warn(f"time masks may cover {most_frames_masked(model.config, crop):.0%} of a "
                          f"{cfg.train_crop_seconds:g} s training window's frames (at least "
                          f"{model.config.mask_time_min_masks} spans of {model.config.mask_time_length}); a HuBERT "
                          f"speakers run so masked hardly learned (chapter 02)", stacklevel=2)
        train_data = ClipDataset(train.load_all(progress=progress), train.labels, normalize, crop)
        val_data = ClipDataset(validation.load_all(progress=progress), validation.labels, normalize)
        work = cache.work_dir(STAGE, work_key)
        backbone = base_model(model)
        encoder = backbone.feature_extractor
        if frozen and cfg.precompute_cnn_features and not random_init:
            # the frozen pre-trained encoder's outputs, once per backbone, instead of once per epoch
            folder, index = cached_cnn_features(source, encoder, corpus_root, normalize, device, progress)
            train_data.inputs = _features_of(folder, index, train)
            val_data.inputs = _features_of(folder, index, validation)
            backbone.feature_extractor = PrecomputedFeatures()
        elif frozen and cfg.precompute_cnn_features:  # a random CNN: this run's own
            train_data.inputs = encode_clips(encoder, train_data.inputs, device=device)
            val_data.inputs = encode_clips(encoder, val_data.inputs, device=device)
            backbone.feature_extractor = PrecomputedFeatures()
        elif lower_frozen:
            freeze_lower_cnn_blocks(encoder, lower_frozen)
            if cfg.precompute_cnn_features:  # the frozen blocks' outputs once, the blocks above them train
                folder, index = cached_cnn_features(source, encoder, corpus_root, normalize, device, progress,
                                                    blocks=lower_frozen)
                train_data.inputs = _features_of(folder, index, train)
                val_data.inputs = _features_of(folder, index, validation)
                backbone.feature_extractor = UpperCNNBlocks(encoder, lower_frozen)
        try:
            _run_trainer(model, train_data, val_data, cfg, out, work, device, progress, seed)
        finally:
            backbone.feature_extractor = encoder
        test_inputs = prepare_inputs(test.load_all(progress=progress), normalize)
        preds = predict(model, test_inputs, device=device)
        summary = accuracy_summary(preds, test.labels, len(train.classes), cfg.bootstrap)
        if cfg.dropout is not None:  # a training setting: the saved model keeps the checkpoint's
            model.config.update(checkpoint_dropouts(source))
        model.cpu().save_pretrained(str(out))
        save_feature_extractor(out, normalize)
        np.savez(out / PREDICTIONS_FILE, predictions=preds, labels=test.labels)
        summary.update(task=task, source=str(source), random_init=random_init, train_cnn=train_cnn, seed=seed,
                       n_train=len(train), classes=list(train.classes),
                       skipped=[str(p) for p, _ in train.skipped + test.skipped])
        summary.update(json.loads((out / "train_log.json").read_text())["summary"])
        (out / METRICS_FILE).write_text(json.dumps(summary, indent=2))

    return cache.build_artifact(STAGE, artifact_config, build, inputs=inputs, code=CODE)


def _run_trainer(model, train_data: ClipDataset, val_data: ClipDataset, cfg: FinetuneConfig, out: Path,
                 work: Path, device: str, progress: bool, seed: int) -> None:
    """Train with the transformers Trainer, validating and checkpointing into ``work`` (a run that
    was stopped resumes from its last checkpoint); keep the best checkpoint by validation accuracy;
    write the loss and validation curves to ``train_log.json``."""
    args = _training_args(cfg, work, device, len(train_data), progress, seed)
    resume = any(p.name.startswith("checkpoint-") for p in work.iterdir())
    timer_file = work / "seconds_before_resume.json"
    earlier = float(json.loads(timer_file.read_text())["seconds"]) if resume and timer_file.is_file() else 0.0
    callbacks = [TimeAtCheckpoints(timer_file, earlier)]
    if cfg.stop_after_evaluations > 0:
        callbacks.append(StopAfterStep(args.eval_steps * cfg.stop_after_evaluations))
    trainer = _trainer_class(cfg.head_lr_multiplier)(model=model, args=args, train_dataset=train_data, eval_dataset=val_data,
                      compute_metrics=_accuracy_metric, callbacks=callbacks)
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    seconds = earlier + time.perf_counter() - start
    history = trainer.state.log_history
    curve = [
        {"step": int(e["step"]), "epoch": float(e.get("epoch", 0.0)), "loss": float(e["loss"])}
        for e in history if "loss" in e
    ]
    validation = [
        {"step": int(e["step"]), "epoch": float(e.get("epoch", 0.0)), "accuracy": float(e["eval_accuracy"]),
         "loss": float(e["eval_loss"])}
        for e in history if "eval_accuracy" in e
    ]
    best = max(validation, key=lambda e: e["accuracy"]) if validation else None
    log = {
        "curve": curve,
        "validation": validation,
        "summary": {
            "train_seconds": seconds,
            "train_steps": int(result.global_step),
            "final_train_loss": curve[-1]["loss"] if curve else float("nan"),
            "best_step": best["step"] if best else None,
            "best_validation_accuracy": best["accuracy"] if best else None,
            "resumed": resume,
            "device": device,
            "torch_threads": torch.get_num_threads(),
        },
    }
    (out / "train_log.json").write_text(json.dumps(log, indent=2))


def read_metrics(folder: Path) -> dict[str, Any]:
    """The metrics of a fine-tuned folder."""
    return cache.read_json(Path(folder) / METRICS_FILE)


def read_curve(folder: Path) -> list[dict[str, float]]:
    """The training-loss curve of a fine-tuned folder."""
    return cache.read_json(Path(folder) / "train_log.json")["curve"]


def read_validation_curve(folder: Path) -> list[dict[str, float]]:
    """Validation accuracy and loss at each evaluation of a fine-tuned folder."""
    return cache.read_json(Path(folder) / "train_log.json").get("validation", [])
