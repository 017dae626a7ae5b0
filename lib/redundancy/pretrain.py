"""Self-supervised pre-training of the tiny models, each family with its own objective.

The paper studies *self-supervised* backbones; the real ones cannot be downloaded here, so the mini
and smoke profiles pre-train small models of the real architectures on the synthetic pre-training
corpus and save them exactly like hub checkpoints (``save_pretrained`` + a feature-extractor
config). Three recipes:

* **wav2vec2** (Baevski et al. 2020): contrastive loss between the context vector of each masked
  frame and its quantized target among K distractors from the same utterance, plus the codebook
  diversity loss; Gumbel-softmax temperature annealed (2 -> 0.5 in the paper). Uses
  ``Wav2Vec2ForPreTraining`` with masks from ``_compute_mask_indices`` and negatives from
  ``_sample_negative_indices``.
* **HuBERT** (Hsu et al. 2021), first iteration: masked prediction of k-means cluster labels of
  MFCC (+delta, +delta-delta) frames at the model's 20 ms rate. The predictor is the paper's:
  a linear projection of the last hidden state, cosine similarity with a learned embedding per
  cluster, divided by a temperature of 0.1; cross-entropy on masked frames only (alpha = 1).
* **WavLM** (Chen et al. 2022): the WavLM architecture (gated relative position bias) trained on
  the same targets with *utterance mixing*: with probability ``mix_prob`` a segment of another
  utterance of the batch, or noise, covering at most ``mix_max_fraction`` of the main one is added
  at an energy ratio drawn from ``mix_energy_db``; the targets stay those of the main utterance.

HuBERT and WavLM share one masked-prediction trainer; all three share one training loop that logs
the loss (and each recipe's own metrics) to ``loss_curve.json``, checkpoints to the stage's work
folder every ``save_every`` steps and resumes from there. Every random draw of a step is seeded by
``(seed, step)``, so an interrupted and resumed run sees the same batches and masks as an
uninterrupted one.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import cache
from .config import (FAMILIES, FRAME_STRIDE, FRAME_WINDOW, FRONT_END_DEFAULTS, ModelConfig, PretrainConfig,
                     load_profile, resolve_device)
from .models import tiny_config
from .preprocess import prepare_inputs

from .audio import SAMPLE_RATE
HUBERT_TEMPERATURE = 0.1  # cosine-logit temperature of HuBERT's predictor (Hsu et al. 2021, sec. 3)
MIN_MASKS = 2  # at least two masked spans per utterance, as fairseq/transformers do
CHECKPOINT_NAME = "checkpoint.pt"
#: The modules whose code decides a pre-trained checkpoint (part of its cache key).
CODE = ("redundancy.pretrain", "redundancy.models", "redundancy.preprocess")


# --- the corpus -------------------------------------------------------------------------------


def load_corpus(corpus_dir: Path, progress: bool = False) -> list[np.ndarray]:
    """All utterances of a pre-training corpus folder (``manifest.json`` + 16 kHz WAVs), as float32."""
    from tqdm import tqdm

    from .audio import load_audio

    corpus_dir = Path(corpus_dir)
    manifest_path = corpus_dir / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{corpus_dir}: no manifest.json, not a pre-training corpus folder")
    manifest = json.loads(manifest_path.read_text())
    rate = manifest.get("sample_rate")
    if rate != SAMPLE_RATE:
        raise ValueError(f"{manifest_path}: sample_rate is {rate!r}, the models need {SAMPLE_RATE}")
    entries = manifest.get("utterances") or []
    if not entries:
        raise ValueError(f"{manifest_path}: lists no utterances")
    waves = []
    for entry in tqdm(entries, desc="reading corpus", disable=not progress, leave=False):
        wave = load_audio(corpus_dir / entry["file"], SAMPLE_RATE)
        if len(wave) < FRAME_WINDOW + FRAME_STRIDE * 20:
            raise ValueError(f"{corpus_dir / entry['file']}: {len(wave)} samples, too short to pre-train on")
        waves.append(wave)
    return waves


def frames_of(n_samples: int) -> int:
    """Number of CNN-encoder frames of ``n_samples`` (receptive field 400, stride 320)."""
    return (n_samples - FRAME_WINDOW) // FRAME_STRIDE + 1


def sample_crops(
    lengths: np.ndarray, batch_size: int, max_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, int]:
    """Utterances of a batch, frame-aligned crop starts, and the common crop length in samples.

    The crop is as long as the shortest chosen utterance (at most ``max_samples``), so no padding
    is needed (base-style models ignore attention masks anyway); starts are multiples of the frame
    stride so that the crop's frames are frames of the full utterance (its k-means targets).
    """
    replace = batch_size > len(lengths)
    index = rng.choice(len(lengths), size=batch_size, replace=replace)
    n_frames = frames_of(min(int(lengths[index].min()), int(max_samples)))
    crop = FRAME_WINDOW + FRAME_STRIDE * (n_frames - 1)
    room = (lengths[index] - crop) // FRAME_STRIDE
    starts = rng.integers(0, room + 1) * FRAME_STRIDE
    return index, starts, crop


# --- HuBERT / WavLM targets: k-means on MFCCs ---------------------------------------------------


def mfcc_frames(wave: np.ndarray) -> torch.Tensor:
    """(frames, 39) MFCC + deltas + delta-deltas at the encoder's 20 ms frames (25 ms windows).

    HuBERT's first iteration clusters 39-dim MFCCs (Hsu et al. 2021, sec. 4.2); windows of 400
    samples with hop 320 and no centering give exactly one vector per CNN-encoder frame.
    """
    import torchaudio

    transform = _mfcc_transform()
    with torch.no_grad():
        mfcc = transform(torch.as_tensor(wave, dtype=torch.float32))  # (13, frames)
        d1 = torchaudio.functional.compute_deltas(mfcc)
        d2 = torchaudio.functional.compute_deltas(d1)
    return torch.cat([mfcc, d1, d2]).T.contiguous()


_MFCC = None


def _mfcc_transform():
    global _MFCC
    if _MFCC is None:
        import torchaudio

        _MFCC = torchaudio.transforms.MFCC(
            sample_rate=SAMPLE_RATE,
            n_mfcc=13,
            melkwargs=dict(n_fft=FRAME_WINDOW, win_length=FRAME_WINDOW, hop_length=FRAME_STRIDE,
                           n_mels=40, center=False),
        )
    return _MFCC


def kmeans(x: torch.Tensor, k: int, iterations: int, seed: int = 0) -> torch.Tensor:
    """(k, d) centroids of Lloyd's k-means with k-means++ seeding; empty clusters are re-seeded."""
    if x.ndim != 2 or len(x) < k:
        raise ValueError(f"k-means needs at least k={k} points of shape (n, d), got {tuple(x.shape)}")
    gen = torch.Generator().manual_seed(seed)
    centroids = x[torch.randint(len(x), (1,), generator=gen)]
    nearest = torch.cdist(x, centroids).squeeze(1) ** 2
    for _ in range(1, k):  # k-means++: next centroid with probability ~ squared distance
        pick = torch.multinomial(nearest + 1e-12, 1, generator=gen)
        centroids = torch.cat([centroids, x[pick]])
        nearest = torch.minimum(nearest, ((x - x[pick]) ** 2).sum(1))
    for _ in range(iterations):
        labels = assign_clusters(x, centroids)
        counts = torch.bincount(labels, minlength=k)
        sums = torch.zeros_like(centroids).index_add_(0, labels, x)
        empty = counts == 0
        centroids = torch.where(empty[:, None], centroids, sums / counts.clamp(min=1)[:, None])
        if empty.any():
            centroids[empty] = x[torch.randint(len(x), (int(empty.sum()),), generator=gen)]
    return centroids


def assign_clusters(x: torch.Tensor, centroids: torch.Tensor, chunk: int = 65536) -> torch.Tensor:
    """Index of the nearest centroid of every row of ``x`` (chunked to bound memory)."""
    return torch.cat([torch.cdist(part, centroids).argmin(1) for part in x.split(chunk)])


def build_targets(pcfg: PretrainConfig, corpus_dir: Path, progress: bool = True) -> Path:
    """Cached stage ``pretrain-targets``: per-utterance k-means labels of the corpus' MFCC frames.

    Shared by HuBERT and WavLM (same corpus, same targets). Writes ``labels.npz`` (``labels``: all
    frames concatenated, ``offsets``: where each utterance starts), ``centroids.npy`` and the
    feature standardisation (``mean``/``std`` in ``labels.npz``).
    """
    config = {"num_clusters": pcfg.num_clusters, "iterations": pcfg.kmeans_iterations,
              "seed": pcfg.seed, "features": "mfcc13+d+dd@20ms"}

    def build(out: Path) -> None:
        from tqdm import tqdm

        waves = load_corpus(corpus_dir, progress=progress)
        feats = [mfcc_frames(w) for w in tqdm(waves, desc="MFCC", disable=not progress, leave=False)]
        for wave, feat in zip(waves, feats):
            assert len(feat) == frames_of(len(wave)), "MFCC frames must match the encoder's frames"
        allf = torch.cat(feats)
        mean, std = allf.mean(0), allf.std(0).clamp(min=1e-5)
        z = (allf - mean) / std
        centroids = kmeans(z, pcfg.num_clusters, pcfg.kmeans_iterations, pcfg.seed)
        labels = assign_clusters(z, centroids).numpy().astype(np.int32)
        offsets = np.cumsum([0] + [len(f) for f in feats])
        np.savez(out / "labels.npz", labels=labels, offsets=offsets, mean=mean.numpy(), std=std.numpy())
        np.save(out / "centroids.npy", centroids.numpy())
        usage = np.bincount(labels, minlength=pcfg.num_clusters)
        cache.atomic_write_json(out / "summary.json", {
            "frames": int(len(labels)), "utterances": len(waves), "clusters": pcfg.num_clusters,
            "cluster_frames": usage.tolist(),
        })

    return cache.build_artifact("pretrain-targets", config, build, inputs=[cache.key_of(corpus_dir)])


def load_targets(folder: Path) -> list[np.ndarray]:
    """Per-utterance label arrays of a ``pretrain-targets`` artifact."""
    data = np.load(Path(folder) / "labels.npz")
    labels, offsets = data["labels"], data["offsets"]
    return [labels[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


# --- masks and mixing -------------------------------------------------------------------------


def sample_mask(batch: int, frames: int, prob: float, length: int) -> np.ndarray:
    """(batch, frames) boolean span mask (transformers' ``_compute_mask_indices``; numpy's global RNG)."""
    from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices

    return _compute_mask_indices((batch, frames), prob, min(length, frames), min_masks=MIN_MASKS)


def mix_utterances(waves: torch.Tensor, rng: np.random.Generator, prob: float, max_fraction: float,
                   energy_db: tuple[float, float]) -> tuple[torch.Tensor, int]:
    """WavLM's utterance mixing (Chen et al. 2022, sec. 3.2): returns the mixed batch and how many.

    With probability ``prob`` an utterance gets a segment (at most ``max_fraction`` of its length)
    of another utterance of the batch, or of Gaussian noise when the batch has only one utterance
    or with probability 1/2, added at a random position with a main/secondary energy ratio drawn
    uniformly in ``energy_db``. The secondary segment is always taken from the unmixed batch.
    """
    batch, n = waves.shape
    mixed = waves.clone()
    count = 0
    for i in range(batch):
        if rng.random() >= prob:
            continue
        seg = int(rng.integers(FRAME_STRIDE, max(FRAME_STRIDE + 1, int(max_fraction * n) + 1)))
        if batch > 1 and rng.random() < 0.5:
            other = int(rng.choice([j for j in range(batch) if j != i]))
            src_start = int(rng.integers(0, n - seg + 1))
            secondary = waves[other, src_start:src_start + seg]
        else:
            secondary = torch.as_tensor(rng.standard_normal(seg), dtype=waves.dtype, device=waves.device)
        ratio_db = rng.uniform(*energy_db)
        main_energy = waves[i].pow(2).mean()
        sec_energy = secondary.pow(2).mean().clamp(min=1e-10)
        scale = torch.sqrt(main_energy / (sec_energy * 10 ** (ratio_db / 10)))
        start = int(rng.integers(0, n - seg + 1))
        mixed[i, start:start + seg] += scale * secondary
        count += 1
    return mixed, count


# --- the recipes ------------------------------------------------------------------------------


@dataclass
class Batch:
    """One training batch: normalised inputs, the frame mask, and (masked prediction) targets."""

    inputs: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor | None = None
    negatives: torch.Tensor | None = None
    extra: dict[str, float] = field(default_factory=dict)


class MaskedPredictionModel(nn.Module):
    """A HuBERT/WavLM backbone with HuBERT's cluster predictor (projection + cosine / 0.1)."""

    def __init__(self, backbone: nn.Module, num_clusters: int):
        super().__init__()
        dim = backbone.config.hidden_size
        self.backbone = backbone
        self.project = nn.Linear(dim, dim)
        self.label_embeddings = nn.Parameter(torch.randn(num_clusters, dim) / math.sqrt(dim))

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        hidden = self.backbone(batch.inputs, mask_time_indices=batch.mask).last_hidden_state
        logits = nn.functional.cosine_similarity(
            self.project(hidden[batch.mask])[:, None, :], self.label_embeddings[None], dim=-1
        ) / HUBERT_TEMPERATURE
        target = batch.labels[batch.mask]
        loss = nn.functional.cross_entropy(logits, target)
        accuracy = (logits.argmax(-1) == target).float().mean().item()
        return loss, {"accuracy": accuracy}


class ContrastiveModel(nn.Module):
    """``Wav2Vec2ForPreTraining`` with the loss averaged per masked frame and its accuracy."""

    def __init__(self, pretraining_model: nn.Module):
        super().__init__()
        self.model = pretraining_model

    @property
    def backbone(self) -> nn.Module:
        return self.model.wav2vec2

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        out = self.model(batch.inputs, mask_time_indices=batch.mask, sampled_negative_indices=batch.negatives)
        n_masked = batch.mask.sum()
        with torch.no_grad():
            accuracy = _contrastive_accuracy(out.projected_states, out.projected_quantized_states,
                                             batch.negatives, batch.mask)
        return out.loss / n_masked, {
            "accuracy": accuracy,
            "contrastive_loss": (out.contrastive_loss / n_masked).item(),
            "diversity_loss": (out.diversity_loss / n_masked).item(),
            "perplexity": out.codevector_perplexity.item(),
        }


def _contrastive_accuracy(context: torch.Tensor, quantized: torch.Tensor, negatives: torch.Tensor,
                          mask: torch.Tensor) -> float:
    """Fraction of masked frames whose true quantized target is the most similar candidate."""
    b, t, d = quantized.shape
    negs = quantized.reshape(-1, d)[negatives.long().reshape(-1)].reshape(b, t, -1, d)
    pos = nn.functional.cosine_similarity(context, quantized, dim=-1)
    neg = nn.functional.cosine_similarity(context[:, :, None], negs, dim=-1)
    neg = neg.masked_fill((negs == quantized[:, :, None]).all(-1), float("-inf"))
    return (pos > neg.max(-1).values)[mask].float().mean().item()


@dataclass
class Recipe:
    """What the shared training loop needs from a family: the module to train and its batches."""

    family: str
    module: nn.Module
    backbone: Callable[[], nn.Module]
    make_batch: Callable[[int], Batch]
    on_step: Callable[[int], dict[str, float]] = lambda step: {}


def _crop_batch(waves: list[np.ndarray], step: int, pcfg: Any, device: str
                ) -> tuple[np.random.Generator, np.ndarray, np.ndarray, torch.Tensor]:
    """The raw crops of a step, drawn from an RNG seeded by (seed, step); also seeds numpy/torch."""
    rng = np.random.default_rng([pcfg.seed, step])
    np.random.seed((pcfg.seed * 1_000_003 + step) % 2**32)  # transformers' mask/negative samplers
    torch.manual_seed(pcfg.seed * 1_000_003 + step)  # the Gumbel noise of the quantizer
    lengths = np.array([len(w) for w in waves])
    index, starts, crop = sample_crops(lengths, pcfg.batch_size, int(pcfg.max_seconds * SAMPLE_RATE), rng)
    raw = np.stack([waves[i][s:s + crop] for i, s in zip(index, starts)])
    return rng, index, starts, torch.as_tensor(raw, device=device)


def wav2vec2_recipe(model_cfg: ModelConfig, pcfg: PretrainConfig, waves: list[np.ndarray], device: str) -> Recipe:
    """Contrastive pre-training with quantized targets and the diversity loss (wav2vec 2.0)."""
    from transformers import Wav2Vec2ForPreTraining
    from transformers.models.wav2vec2.modeling_wav2vec2 import _sample_negative_indices

    torch.manual_seed(pcfg.seed)
    model = ContrastiveModel(Wav2Vec2ForPreTraining(tiny_config("wav2vec2", model_cfg))).to(device)
    start_t, end_t = pcfg.gumbel_temperature
    # Exponential decay reaching the final temperature at 70% of training (the paper: 2 -> 0.5
    # at factor 0.999995 per update, i.e. after ~277k of 400k updates).
    decay = (end_t / start_t) ** (1.0 / max(1.0, 0.7 * pcfg.steps))

    def make_batch(step: int) -> Batch:
        _, _, _, raw = _crop_batch(waves, step, pcfg, device)
        frames = frames_of(raw.shape[1])
        mask = sample_mask(raw.shape[0], frames, pcfg.mask_time_prob, pcfg.mask_time_length)
        negatives = _sample_negative_indices((raw.shape[0], frames), pcfg.num_negatives, mask)
        return Batch(prepare_inputs(raw), torch.as_tensor(mask, device=device),
                     negatives=torch.as_tensor(negatives, device=device))

    def on_step(step: int) -> dict[str, float]:
        temperature = max(end_t, start_t * decay**step)
        model.model.set_gumbel_temperature(temperature)
        return {"gumbel_temperature": temperature}

    return Recipe("wav2vec2", model, lambda: model.backbone, make_batch, on_step)


def masked_prediction_recipe(family: str, model_cfg: ModelConfig, pcfg: PretrainConfig, waves: list[np.ndarray],
                             targets: list[np.ndarray], device: str) -> Recipe:
    """HuBERT's masked prediction of cluster labels; for WavLM with utterance mixing on top."""
    from .models import backbone_class

    torch.manual_seed(pcfg.seed)
    backbone = backbone_class(family)(tiny_config(family, model_cfg))
    model = MaskedPredictionModel(backbone, pcfg.num_clusters).to(device)
    mixing = family == "wavlm"

    def make_batch(step: int) -> Batch:
        rng, index, starts, raw = _crop_batch(waves, step, pcfg, device)
        frames = frames_of(raw.shape[1])
        labels = np.stack([targets[i][s // FRAME_STRIDE: s // FRAME_STRIDE + frames]
                           for i, s in zip(index, starts)])
        mask = sample_mask(raw.shape[0], frames, pcfg.mask_time_prob, pcfg.mask_time_length)
        extra = {}
        if mixing:
            raw, mixed = mix_utterances(raw, rng, pcfg.mix_prob, pcfg.mix_max_fraction, pcfg.mix_energy_db)
            extra["mixed_fraction"] = mixed / raw.shape[0]
        return Batch(prepare_inputs(raw), torch.as_tensor(mask, device=device),
                     labels=torch.as_tensor(labels, dtype=torch.long, device=device), extra=extra)

    return Recipe(family, model, lambda: model.backbone, make_batch)


# --- the shared training loop -----------------------------------------------------------------


def _lr_lambda(steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """Linear warm-up then linear decay to 0 (the wav2vec 2.0 / HuBERT schedule)."""
    warmup = max(1, int(round(warmup_fraction * steps)))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (steps - step) / max(1, steps - warmup))

    return factor


def train(recipe: Recipe, pcfg: Any, work: Path, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) the optimisation; returns the log and the time spent over all sessions.

    Checkpoints (weights, optimiser, schedule, log, pending window) go to ``work/checkpoint.pt``
    every ``save_every`` steps. A log entry at step ``s`` averages the steps since the previous
    entry; the first entry is step 0 alone, the loss of the untrained model.
    """
    from tqdm import tqdm

    module = recipe.module
    optimizer = torch.optim.AdamW(module.parameters(), lr=pcfg.learning_rate, betas=(0.9, 0.98),
                                  eps=1e-6, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(pcfg.steps, pcfg.warmup_fraction))
    state = {"step": 0, "log": [], "window": [], "seconds": 0.0}
    checkpoint = work / CHECKPOINT_NAME
    if checkpoint.is_file():
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        module.load_state_dict(saved["module"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        state = saved["state"]
    module.train()
    bar = tqdm(total=pcfg.steps, initial=state["step"], desc=f"pre-train {recipe.family}",
               disable=not progress)
    clock = time.perf_counter()
    for step in range(state["step"], pcfg.steps):
        extra = recipe.on_step(step)
        batch = recipe.make_batch(step)
        loss, metrics = module(batch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"pre-training {recipe.family}: loss is {loss.item()} at step {step}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = nn.utils.clip_grad_norm_(module.parameters(), 5.0)
        optimizer.step()
        scheduler.step()
        state["window"].append({"loss": loss.item(), "grad_norm": float(grad_norm), **metrics,
                                **batch.extra, **extra})
        if step == 0 or (step + 1) % pcfg.log_every == 0 or step + 1 == pcfg.steps:
            entry = {key: float(np.mean([w[key] for w in state["window"]])) for key in state["window"][0]}
            state["log"].append({"step": step, "lr": scheduler.get_last_lr()[0], **entry})
            state["window"] = []
            bar.set_postfix(loss=f"{entry['loss']:.3f}", acc=f"{entry.get('accuracy', float('nan')):.2f}")
        state["step"] = step + 1
        bar.update(1)
        if state["step"] % pcfg.save_every == 0 and state["step"] < pcfg.steps:
            state["seconds"] += time.perf_counter() - clock
            clock = time.perf_counter()
            save_checkpoint(checkpoint, module, optimizer, scheduler, state)
    bar.close()
    state["seconds"] += time.perf_counter() - clock
    return state


def save_checkpoint(path: Path, module: nn.Module, optimizer: Any, scheduler: Any, state: dict) -> None:
    """Write a resumable checkpoint atomically (a crash mid-write keeps the previous one)."""
    import io

    buffer = io.BytesIO()
    torch.save({"module": module.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "state": state}, buffer)
    cache.atomic_write_bytes(path, buffer.getvalue())


# --- the stage --------------------------------------------------------------------------------


def stage_config(family: str, model_cfg: ModelConfig, pcfg: PretrainConfig) -> dict[str, Any]:
    """What the checkpoint depends on: the family, the model sizes and the pre-training recipe
    (not which models a profile studies, nor where analyses read them from)."""
    model = {k: v for k, v in model_cfg.__dict__.items() if k not in ("families", "hub_names", "source")
             and not (k in FRONT_END_DEFAULTS and tuple(v) == FRONT_END_DEFAULTS[k])}
    return {"family": family, "model": model, "pretrain": pcfg}


def pretrain(family: str, model_cfg: ModelConfig, pcfg: PretrainConfig, *, corpus_dir: Path,
             device: str = "cpu", progress: bool = True) -> Path:
    """The cached checkpoint folder of a tiny ``family`` model pre-trained on ``corpus_dir``.

    ``model_cfg`` sizes the model and ``pcfg`` is the recipe (a profile's ``model`` and
    ``pretrain`` sections; :func:`redundancy.pipeline.pretrained_dir` hands them over). The folder
    holds ``config.json`` + ``model.safetensors`` (the backbone, ``layerdrop`` 0), the feature
    extractor's ``preprocessor_config.json``, ``loss_curve.json``, ``pretrain_info.json`` (time,
    device, parameters) and ``probe.npz`` (an input and the backbone's output on it before saving,
    to check a reload). An interrupted run resumes from its last checkpoint.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}: expected one of {', '.join(FAMILIES)}")
    device = resolve_device(device)
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"pre-training corpus folder {corpus_dir} does not exist")
    stage = f"pretrain-{family}"
    config = stage_config(family, model_cfg, pcfg)
    inputs = [cache.key_of(corpus_dir)]
    targets_dir = None
    if family != "wav2vec2":
        targets_dir = build_targets(pcfg, corpus_dir, progress=progress)
        inputs.append(cache.key_of(targets_dir))
    key = cache.stage_key(stage, config, inputs, code=CODE)

    def build(out: Path) -> None:
        waves = load_corpus(corpus_dir, progress=progress)
        if family == "wav2vec2":
            recipe = wav2vec2_recipe(model_cfg, pcfg, waves, device)
        else:
            recipe = masked_prediction_recipe(family, model_cfg, pcfg, waves, load_targets(targets_dir), device)
        state = train(recipe, pcfg, cache.work_dir(stage, key), progress=progress)
        save_backbone(recipe.backbone(), out, probe=waves[0][: SAMPLE_RATE])
        cache.atomic_write_json(out / "loss_curve.json", state["log"])
        cache.atomic_write_json(out / "pretrain_info.json", {
            "family": family, "steps": pcfg.steps, "seconds": round(state["seconds"], 2),
            "device": device, "torch_threads": torch.get_num_threads(),
            "parameters": sum(p.numel() for p in recipe.backbone().parameters()),
            "trained_parameters": sum(p.numel() for p in recipe.module.parameters()),
        })

    return cache.build_artifact(stage, config, build, inputs=inputs, code=CODE)


def save_backbone(backbone: nn.Module, out: Path, probe: np.ndarray) -> None:
    """``save_pretrained`` the backbone like a hub checkpoint, plus its feature extractor and a probe."""
    from .preprocess import save_feature_extractor

    backbone = backbone.cpu().eval()
    backbone.config.layerdrop = 0.0
    backbone.save_pretrained(str(out))
    save_feature_extractor(out, normalize=True)
    inputs = prepare_inputs(probe[None])
    with torch.no_grad():
        output = backbone(inputs).last_hidden_state
    np.savez(out / "probe.npz", input_values=inputs.numpy(), last_hidden_state=output.numpy())


def loss_curve(folder: Path) -> list[dict[str, float]]:
    """The logged steps of a pre-trained checkpoint folder."""
    return cache.read_json(Path(folder) / "loss_curve.json")


# --- command line -----------------------------------------------------------------------------


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """``python -m redundancy pretrain --profile P --family F``."""
    parser = subparsers.add_parser("pretrain", help="pre-train the tiny self-supervised models")
    parser.add_argument("--profile", default=None, help="smoke, mini (default) or paper")
    parser.add_argument("--family", default="all", choices=("all", *FAMILIES))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--corpus", type=Path, default=None, help="pre-training corpus folder")
    parser.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    from .corpus import build_pretrain_corpus

    profile = load_profile(args.profile)
    corpus_dir = args.corpus or build_pretrain_corpus(profile)
    families = FAMILIES if args.family == "all" else (args.family,)
    for family in families:
        folder = pretrain(family, profile.model, profile.pretrain, corpus_dir=corpus_dir, device=args.device)
        info = json.loads((folder / "pretrain_info.json").read_text())
        print(f"{family}: {folder} ({info['seconds']:.0f} s on {info['device']})")
    return 0
