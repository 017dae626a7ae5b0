"""Profiles: every size and budget the pipeline uses, in one place.

Three profiles share one code path (see DESIGN.md): ``paper`` (real Speech Commands and hub
checkpoints on a GPU box), ``mini`` (the default: synthetic corpus and tiny self-supervised models
pre-trained here, about 30 minutes on a 2-core CPU) and ``smoke`` (a few clips and tiny-tiny models,
for tests). Nothing downstream hard-codes a size: it reads it from the profile.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

PROFILE_NAMES: tuple[str, ...] = ("smoke", "mini", "paper")
DEFAULT_PROFILE = "mini"
PROFILE_ENV = "REDUNDANCY_PROFILE"
MODEL_SOURCES: tuple[str, ...] = ("published", "train")

#: The three self-supervised families the book studies.
FAMILIES: tuple[str, ...] = ("wav2vec2", "hubert", "wavlm")

#: CNN feature encoder geometry of every real checkpoint: 20 ms frames (stride 320) at 16 kHz.
CONV_KERNEL: tuple[int, ...] = (10, 3, 3, 3, 3, 2, 2)
CONV_STRIDE: tuple[int, ...] = (5, 2, 2, 2, 2, 2, 2)
#: The real encoders' frames: one every 320 samples (20 ms), each seeing 400 samples (25 ms).
#: Pre-training computes its MFCC targets at exactly these frames, so every tiny encoder keeps them.
FRAME_STRIDE = 320
FRAME_WINDOW = 400
#: Front-end settings added after models were published, at the values that train as before (left
#: out of recipes and cache keys at these values, so that adding them made nothing stale).
FRONT_END_DEFAULTS: dict[str, tuple[int, ...]] = {"conv_kernel": CONV_KERNEL, "conv_stride": CONV_STRIDE}


def encoder_frames(n_samples: int, kernels: tuple[int, ...], strides: tuple[int, ...]) -> int:
    """Frames a stack of unpadded 1-D convolutions makes of ``n_samples`` (as transformers counts)."""
    for kernel, stride in zip(kernels, strides):
        n_samples = (n_samples - kernel) // stride + 1
    return n_samples


def check_front_end(conv_dim: tuple[int, ...], kernels: tuple[int, ...], strides: tuple[int, ...]) -> None:
    """Raise ``ValueError`` unless the CNN encoder makes the real encoders' frames for every length.

    Another geometry (a cheaper front end, ``benchmarks/cheap_front_end.py``) is allowed when it
    gives exactly ``(n - FRAME_WINDOW) // FRAME_STRIDE + 1`` frames of ``n`` samples, which is what
    pre-training's targets and crops assume.
    """
    if not (len(conv_dim) == len(kernels) == len(strides)) or not kernels:
        raise ValueError(f"CNN encoder: conv_dim, conv_kernel and conv_stride need one entry per block, got "
                         f"{len(conv_dim)}, {len(kernels)} and {len(strides)}")
    if min(kernels) < 1 or min(strides) < 1 or min(conv_dim) < 1:
        raise ValueError(f"CNN encoder: sizes must be positive, got kernels {kernels}, strides {strides}, "
                         f"channels {conv_dim}")
    if math.prod(strides) != FRAME_STRIDE:
        raise ValueError(f"CNN encoder with strides {strides}: their product is {math.prod(strides)}, "
                         f"not the real encoders' frame stride of {FRAME_STRIDE} samples")
    # with the strides multiplying to FRAME_STRIDE, one more stride of samples is one more frame,
    # so two strides' worth of lengths decide every length
    for n_samples in range(FRAME_WINDOW, FRAME_WINDOW + 2 * FRAME_STRIDE):
        expected = (n_samples - FRAME_WINDOW) // FRAME_STRIDE + 1
        if encoder_frames(n_samples, kernels, strides) != expected:
            raise ValueError(
                f"CNN encoder with kernels {kernels} and strides {strides} makes "
                f"{encoder_frames(n_samples, kernels, strides)} frames of {n_samples} samples, not {expected}: "
                f"it must keep the real encoders' {FRAME_WINDOW}-sample frames every {FRAME_STRIDE} samples")


@dataclass(frozen=True)
class CorpusConfig:
    """SynthCommands (mini/smoke) or the real Speech Commands root (paper)."""

    # 160 voices: every accent x variant pair of eSpeak NG once (8 x 20), each with its own pitch,
    # range, rate and room; 128 train, 16 validation and 16 test speakers. 48 voices (3,990 train
    # clips) let the fine-tuned models fit their training voices and miss the held-out ones.
    n_speakers: int = 160
    repetitions: int = 3  # utterances per word and speaker
    heldout_fraction: float = 0.1  # fraction of speakers in validation, and again in test
    pretrain_utterances: int = 1200  # multi-word utterances for self-supervised pre-training
    pretrain_seconds: tuple[float, float] = (2.0, 4.0)
    snr_db: tuple[float, float] = (10.0, 30.0)
    noise_seconds: float = 60.0  # length of each generated _background_noise_ recording
    speaker_min_utterances: int = 50  # speakers task: the authors' threshold
    speaker_split_seed: int = 42  # speakers task: the authors' seed
    seed: int = 0
    root: str | None = None  # paper profile: path of a Speech Commands v0.02 root


@dataclass(frozen=True)
class ModelConfig:
    """Which backbones to study, and the tiny configuration used to pre-train them here."""

    families: tuple[str, ...] = FAMILIES
    hub_names: tuple[str, ...] = ()  # paper profile: hub names or local folders instead of tiny models
    # Where analyses get trained models: "published" reads models/<profile>/ (written once by
    # `make models`, committed for mini); "train" trains them through the cache on demand.
    source: str = "published"
    hidden_size: int = 96
    num_hidden_layers: int = 12
    num_attention_heads: int = 4
    intermediate_size: int = 384
    conv_dim: tuple[int, ...] = (64, 64, 64, 64, 64, 64, 64)
    # The real kernels and strides; another front end must keep their frames (check_front_end).
    conv_kernel: tuple[int, ...] = CONV_KERNEL
    conv_stride: tuple[int, ...] = CONV_STRIDE
    num_conv_pos_embeddings: int = 32
    num_conv_pos_embedding_groups: int = 4
    # wav2vec2 quantizer, 2 groups: larger codebooks (64+) left the tiny model at chance level
    num_codevectors_per_group: int = 8  # (the real models: 320)

    def __post_init__(self) -> None:
        check_front_end(tuple(self.conv_dim), tuple(self.conv_kernel), tuple(self.conv_stride))


@dataclass(frozen=True)
class PretrainConfig:
    """Self-supervised pre-training of the tiny models (mini/smoke only)."""

    steps: int = 400
    batch_size: int = 8
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.08
    # Span masks sampled as in wav2vec 2.0 / HuBERT, but shorter and sparser than their
    # mask_prob=0.65, length 10: with those, the tiny wav2vec2 stayed at chance for 150+ steps.
    mask_time_prob: float = 0.3
    mask_time_length: int = 5
    num_clusters: int = 50  # HuBERT/WavLM targets: k-means on MFCCs (+deltas)
    kmeans_iterations: int = 30
    num_negatives: int = 20  # wav2vec2 contrastive distractors (K=100 in the real base models)
    gumbel_temperature: tuple[float, float] = (2.0, 0.5)  # wav2vec2: annealed start -> end
    mix_prob: float = 0.2  # WavLM utterance mixing: probability per utterance
    mix_max_fraction: float = 0.5  # WavLM: the mixed-in segment covers at most this much
    mix_energy_db: tuple[float, float] = (-5.0, 5.0)  # WavLM: energy ratio main/secondary
    max_seconds: float = 2.0
    log_every: int = 10
    save_every: int = 100
    seed: int = 0


MIXED_PRECISIONS = ("no", "bf16")


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning with the standard audio-classification head."""

    tasks: tuple[str, ...] = ("words", "speakers")
    epochs: float = 3.0
    max_steps: int = -1  # >0 overrides epochs
    batch_size: int = 32
    learning_rate: float = 2e-3
    warmup_fraction: float = 0.1
    lr_scheduler: str = "linear"  # transformers' scheduler name
    # The classification head (projector and classifier) starts from random weights while the
    # backbone is pre-trained: it trains at learning_rate x head_lr_multiplier (same schedule). The
    # paper uses one rate (1.0). On the mini wav2vec2, one epoch at 5e-4 reached 0.24 validation
    # accuracy with x1, 0.48 with x10, 0.60 with x30 and about the same with x100 (book/rerun.md).
    head_lr_multiplier: float = 1.0
    weight_decay: float = 0.0
    # A learning-rate sweep per family before its runs (make models): each candidate trains words
    # (first seed) with the full run's schedule up to its first lr_sweep_evaluations validation
    # passes; the best validation accuracy picks the family's rate, and the chosen candidate's run
    # then continues from that checkpoint (the sweep costs the losers' prefixes only). A separate
    # short schedule (105 steps, decayed to zero) picked rates that then failed over a full run.
    # Empty: every run uses learning_rate.
    lr_candidates: tuple[float, ...] = ()
    lr_sweep_evaluations: int = 1
    evaluations: int = 6  # validation passes (and checkpoints) per run; the best one is kept
    # Stop after this many validation passes of the schedule (0: run it all). Only the sweep sets
    # it; the schedule itself (warm-up, decay) stays that of the whole run.
    stop_after_evaluations: int = 0
    freeze_feature_encoder: bool = True
    # When the CNN trains: its lowest blocks that stay frozen anyway (0: none). On a CPU the CNN is
    # about half of a training step, and its three lowest blocks (the 16 kHz end, where most frames
    # are) most of that (benchmarks/finetune_step_profile.py); with them frozen, their outputs are
    # computed once per backbone (precompute_cnn_features). Pre-trained runs only: the random-init
    # controls keep their own explicit CNN settings.
    frozen_cnn_blocks: int = 0
    # Compute the frozen CNN encoder's outputs once per backbone and reuse them (same result, about
    # a third less time per step on a CPU). Off for the paper profile: 85,000 clips x 512 x 49
    # floats would not fit in memory, and on a GPU the encoder is cheap.
    precompute_cnn_features: bool = True
    # SpecAugment during fine-tuning: None keeps the checkpoint's own setting (hub configs mask
    # 5 % x 10 frames, at least 2 spans: 20 of the 49 frames of a 1 s clip). The tiny models train
    # for a few epochs only, so mini and smoke switch it off.
    mask_time_prob: float | None = 0.0
    # Dropout in the backbone while fine-tuning (hidden states, attention, feed-forward, feature
    # projection): None keeps the checkpoint's (0 in the mini architecture, 0.1 in the hub configs).
    # A training setting only: the saved model keeps the checkpoint's values.
    dropout: float | None = None
    # How the head pools a clip's frames: "mean" (transformers' head, the paper's) or "mean+std"
    # (statistics pooling, as in x-vectors: who speaks shows in how the frames vary). See heads.py.
    pooling: str = "mean"
    # Train on a random window of this many seconds of each training clip, drawn anew every time the
    # clip is seen (0: the whole clip). Validation and test use whole clips. A step's cost grows
    # with the clip's length (CNN and transformer alike), so a half-second window about halves it,
    # and the windows vary what a model sees of a voice from epoch to epoch. Needs the CNN to run on
    # the waveform (not its precomputed outputs).
    train_crop_seconds: float = 0.0
    # "bf16": train under bfloat16 autocast (the Trainer's ``bf16``; weights, optimiser and the saved
    # model stay float32), "no": float32 throughout. On a CPU with bfloat16 arithmetic (AVX512-BF16,
    # AMX) a words step was 1.5-1.8x faster here with the attention computed eagerly, which bfloat16
    # runs on a CPU use (torch's fused attention backward is several times slower in bfloat16 there;
    # benchmarks/bf16_step.py). A CPU without it emulates bfloat16, and may be slower than float32.
    mixed_precision: str = "no"
    random_init_control: bool = True
    bootstrap: int = 1000
    # Fine-tuning seeds: every later chapter reports the mean and spread over the models of these
    # seeds (the paper's bands come from 5 runs). The words task uses all of them.
    seeds: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        from .heads import check_pooling

        check_pooling(self.pooling)
        if self.train_crop_seconds < 0:
            raise ValueError(f"train_crop_seconds must be 0 (whole clips) or positive, got {self.train_crop_seconds}")
        if self.mixed_precision not in MIXED_PRECISIONS:
            raise ValueError(f"mixed_precision must be one of {MIXED_PRECISIONS}, got {self.mixed_precision!r}")


@dataclass(frozen=True)
class AnalysisConfig:
    """Hidden states, similarity, pruning and mimicking."""

    # Utterances of the words test split used for similarity: 3 batches of 128. The mini test split
    # holds about 4-5 held-out speakers x 35 words x 3 repetitions (420-525 clips), so 640 would not
    # exist; 384 also keeps hidden-state extraction for 3 families x 3 states near 1 minute on 2 cores.
    n_utterances: int = 384
    batch_size: int = 128  # the authors' minibatch for similarity estimates (averaged over batches)
    knn_ks: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128)  # capped below the batch size when used
    knn_k: int = 8  # the single k quoted in tables and heat maps (the paper's k = 8)
    similarity_pooling: str = "flatten"  # the authors' (n, T*D); "mean" pools over frames
    block_metric: str = "cka"  # whose blocks the pruning chapter uses
    bootstrap: int = 200
    # Pruning (redundancy.pruning.ORDERS): the paper's four orders and our baselines/bounds.
    prune_orders: tuple[str, ...] = ("forward", "backward", "bi", "knn-bi", "random", "block-aware", "greedy")
    prune_random_orders: int = 3  # random orders per fine-tuned model (the bands also span model seeds)
    prune_select_clips: int = 384  # validation clips the data-driven orders look at (BI, blocks)
    prune_greedy_clips: int = 256  # of those, the clips greedy scores each candidate removal on
    prune_batch_size: int = 512  # clips per batch when scoring pruned models
    prune_test_clips: int | None = None  # None: the whole test split; else a fixed random subset (cost is linear)


#: One mimicking network: (layer type, number of layers, width z).
Variant = tuple[str, int, int]


@dataclass(frozen=True)
class MimicConfig:
    """Mimicking networks (PAPER.md §2.3): the variants, the two training stages, the controls.

    The defaults are the paper's: every type x layers x width, 50 + 30 epochs of batch 128 at a fixed
    Adam learning rate of 1e-3, 1,024 validation clips. ``variants`` lists the mimickers a run trains
    (empty: the whole grid ``types x layers x widths``); ``non_mimicker`` the variants also trained as
    the randomly initialised control.
    """

    types: tuple[str, ...] = ("linear", "transformer")
    layers: tuple[int, ...] = (1, 2)
    widths: tuple[int, ...] = (32, 768, 4096)
    variants: tuple[Variant, ...] = ()
    non_mimicker: tuple[Variant, ...] = (("linear", 1, 4096), ("transformer", 1, 32))
    stage1_epochs: int = 50
    stage2_epochs: int = 30
    patience: int | None = None  # early stopping (epochs without a better validation score)
    batch_size: int = 128
    learning_rate: float = 1e-3
    val_clips: int = 1024
    max_train_clips: int | None = None  # a fixed random subset of the train split (None: all)
    seeds: tuple[int, ...] = (0,)  # fine-tuning seeds of the teachers that are mimicked
    # size and time on the real architectures: the four of the paper's Tables 1-4
    real_architectures: tuple[str, ...] = (
        "facebook/wav2vec2-base", "facebook/wav2vec2-large", "microsoft/wavlm-base", "microsoft/wavlm-large",
    )
    real_widths: tuple[int, ...] = (32, 768, 4096)
    timing_warmup: int = 1
    timing_repeats: int = 3

    def grid(self) -> list[Variant]:
        """The mimickers to train: ``variants``, or every type x layers x width."""
        if self.variants:
            return [tuple(v) for v in self.variants]
        return [(t, n, z) for t in self.types for n in self.layers for z in self.widths]


@dataclass(frozen=True)
class TimingConfig:
    """Latency and size of full, pruned and mimic models (random weights: timing ignores weights).

    ``batch_sizes``/``warmup``/``repeats`` apply on CPU, ``cuda_*`` on a GPU. The paper times batches
    of 128 after 100 warm-up passes on a GPU; a batch of 128 large models on a 2-core CPU takes
    minutes per pass, so the mini profile times single utterances on one CPU thread (about a minute
    in all; batches of 4 as well took 2.5 minutes) and keeps the paper's 128 for CUDA.
    """

    architectures: tuple[str, ...] = (
        "facebook/wav2vec2-base",
        "facebook/wav2vec2-large",
        "facebook/hubert-base-ls960",
        "microsoft/wavlm-base",
        "microsoft/wavlm-large",
    )
    batch_sizes: tuple[int, ...] = (1,)  # CPU; e.g. (1, 4) to see batching
    warmup: int = 1
    repeats: int = 5
    # CPU threads: one. On a 2-core machine shared with any other process, two torch threads wait for
    # each other and times become several-fold slower and erratic (measured here: 600-765 ms vs a
    # stable 121 ms per utterance for wav2vec2-base); ``None`` uses torch's default (all cores).
    threads: int | None = 1
    cuda_batch_sizes: tuple[int, ...] = (1, 128)  # the paper's 128
    cuda_warmup: int = 10
    cuda_repeats: int = 10
    prune_fraction: float = 0.4  # the paper's 40 %, backward order
    mimic_hidden: int = 32  # the paper's smallest width z (its headline 95-98 % rows, Tables 1-4)
    seconds: float = 1.0  # Speech Commands clips: 1 s at 16 kHz


@dataclass(frozen=True)
class Profile:
    """One named set of sizes and budgets for the whole pipeline."""

    name: str
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    timing: TimingConfig = field(default_factory=TimingConfig)
    mimic: MimicConfig = field(default_factory=MimicConfig)
    # Changes to the fine-tuning recipe for one task, as (task, ((setting, value), ...)) pairs, e.g.
    # (("speakers", (("epochs", 30.0),)),): speakers learns far more slowly than words (an MLP on
    # log-mel statistics needs 30 epochs for 0.58, benchmarks/task_learnability.py). Empty: one recipe.
    # A family's swept learning rate (lr_candidates) applies to every task of the family that does
    # not set its own ``learning_rate`` here (make_models.run_profile).
    task_finetune: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    # Further changes for one family on one task, as (family, task, ((setting, value), ...)), applied
    # after the task's: a choice made per family on validation accuracy, as the learning rate is
    # swept per family (e.g. time masks where they raise a family's speakers validation accuracy).
    family_task_finetune: tuple[tuple[str, str, tuple[tuple[str, Any], ...]], ...] = ()

    def __post_init__(self) -> None:
        from .commands import TASKS

        settings = {f.name for f in dataclasses.fields(FinetuneConfig)}
        named = [(repr(task), task, changes) for task, changes in self.task_finetune]
        named += [(f"{family!r}, {task!r}", task, changes) for family, task, changes in self.family_task_finetune]
        families = set(self.model.families) | set(self.model.hub_names or ())
        strangers = sorted({family for family, _, _ in self.family_task_finetune} - families)
        if strangers:
            raise ValueError(f"family_task_finetune: unknown families {strangers}: expected some of {sorted(families)}")
        for label, task, changes in named:
            if task not in TASKS:
                raise ValueError(f"task_finetune[{label}]: unknown task {task!r}: expected one of {TASKS}")
            unknown = sorted({name for name, _ in changes} - settings)
            if unknown:
                raise ValueError(f"task_finetune[{label}]: {unknown} are not FinetuneConfig settings")

    def task_changes(self, task: str, family: str | None = None) -> dict[str, Any]:
        """The settings ``task_finetune`` (and, for ``family``, ``family_task_finetune``) change for
        one task (empty: the shared recipe)."""
        changes = dict(dict(self.task_finetune).get(task, ()))
        for own_family, own_task, own in self.family_task_finetune:
            if family is not None and (own_family, own_task) == (family, task):
                changes.update(own)
        return changes

    def finetune_for(self, task: str, family: str | None = None) -> FinetuneConfig:
        """The fine-tuning recipe of one task (of one family): ``finetune`` with its changes."""
        changes = self.task_changes(task, family)
        return dataclasses.replace(self.finetune, **changes) if changes else self.finetune

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict, used for cache keys and for printing."""
        return dataclasses.asdict(self)


def _smoke() -> Profile:
    return Profile(
        name="smoke",
        corpus=CorpusConfig(
            n_speakers=5,
            repetitions=1,
            heldout_fraction=0.2,
            pretrain_utterances=16,
            pretrain_seconds=(1.5, 2.5),
            speaker_min_utterances=20,
            noise_seconds=6.0,
        ),
        model=ModelConfig(
            source="train",
            hidden_size=32,
            num_hidden_layers=4,
            num_attention_heads=2,
            intermediate_size=64,
            conv_dim=(16, 16, 16, 16, 16, 16, 16),
            num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=2,
            num_codevectors_per_group=16,
        ),
        pretrain=PretrainConfig(
            steps=100, batch_size=4, learning_rate=2e-3, mask_time_prob=0.3, mask_time_length=5,
            num_clusters=8, kmeans_iterations=10, num_negatives=10, max_seconds=1.5, log_every=10,
            save_every=50,
        ),
        finetune=FinetuneConfig(epochs=1.0, max_steps=6, batch_size=8, bootstrap=100, evaluations=3,
                                head_lr_multiplier=30.0),
        analysis=AnalysisConfig(
            n_utterances=32, batch_size=16, knn_ks=(1, 2, 4, 8), knn_k=8, bootstrap=20,
        ),
        timing=TimingConfig(
            architectures=("facebook/wav2vec2-base",), batch_sizes=(1, 2), warmup=1, repeats=2,
            cuda_batch_sizes=(1, 8), cuda_warmup=2, cuda_repeats=3,
        ),
        mimic=MimicConfig(
            widths=(8, 32), variants=(("linear", 1, 8), ("linear", 2, 8), ("transformer", 1, 8)),
            non_mimicker=(("linear", 1, 8),), stage1_epochs=3, stage2_epochs=2, batch_size=16, val_clips=16,
            real_architectures=("facebook/wav2vec2-base",), real_widths=(32,), timing_repeats=2,
        ),
    )


def _mini() -> Profile:
    # Pruning sweeps of 12 fine-tuned models must fit `make book`: 2 random orders per model, a fixed
    # 256-clip subset of each test split and 64 validation clips for greedy (the cost is linear in
    # the clips: 600 and 256 took about 8 minutes on 2 cores, 400 and 128 about 5.4; counted in
    # blocks run x clips, a sweep is about 3/4 test scoring and 1/4 greedy). Every order is scored
    # on the same clips as the unpruned model, so relative accuracy and order comparisons are paired.
    # Mimicking within the book's budget (the notebook runs in `make book`, about 4-5 min on one core):
    # the paper's widths kept in ratio to D = 96 (32, D, about 5.3 D), five of the twelve variants,
    # 3 + 2 epochs on at most 2,000 train clips (benchmarks/mimicking_cost.py: about 40 s per teacher
    # on one core); the full grid: MimicConfig(variants=()).
    return Profile(
        name="mini",
        # The freshly initialised head trains 30x faster than the pre-trained backbone
        # (benchmarks/finetune_head_rate.py, shown in chapter 02: with one rate for both, wav2vec2 and
        # HuBERT underfit in 3 epochs, words 0.66 and 0.61; with x30, 0.86 and 0.82). The backbone's
        # rate comes from a half-epoch sweep over these candidates (head x30 makes 2e-3 unstable).
        # The CNN trains too: the paper does not say which parts it froze, and with the CNN frozen
        # the pre-trained models fell below a random-init model whose CNN trains (words 0.86 / 0.82 /
        # 0.89 against 0.94 / 0.90 / 0.93); trained, seed 0 reached 0.96 / 0.92 / 0.94, above that
        # control (benchmarks/pretrained_trainable_cnn.py, chapter 02). It costs about 2.3x per run.
        # The controls keep their own explicit CNN settings (frozen and trainable).
        finetune=FinetuneConfig(seeds=(0, 1, 2), lr_candidates=(1e-3, 5e-4, 2.5e-4),
                                head_lr_multiplier=30.0, freeze_feature_encoder=False),
        analysis=AnalysisConfig(prune_random_orders=2, prune_test_clips=256, prune_greedy_clips=64),
        # Speakers (our extension) trains for 30 epochs, words for 3, one validation pass per epoch
        # picking the checkpoint. Voices are learned in fine-tuning, and slowly: a per-layer speakers
        # probe of the pre-trained backbones is barely above their random-init twins
        # (benchmarks/speakers_probe.py); an x-vector-style network from scratch passes 0.80 after
        # about 15 epochs (benchmarks/speakers_ceiling.py); HuBERT with the words schedule reached
        # 0.23 after 3 epochs and 0.61 after 8 (benchmarks/speakers_schedule.py). After 20 epochs
        # wav2vec2 and HuBERT were still rising (0.795 and 0.743), and HuBERT's backbone rate, chosen
        # on words (5e-4), was too low for speakers: at 1e-3 (the other families' rate) a 20-epoch
        # run reached 0.786 (a CPU trial, not published). A head pooling the frames' mean and
        # standard deviation (pooling="mean+std", heads.py) for 15 epochs stayed below this recipe on
        # validation (not published), and with the lowest 3 CNN blocks frozen HuBERT speakers barely
        # learned (validation 0.06 after 5 of 10 epochs, a CPU trial). Chapter 02.
        # Float32: with bfloat16 autocast for both tasks (FinetuneConfig.mixed_precision) `make models`
        # took 1.5 h instead of about 2.5 and every target held but one, WavLM's words margin over its
        # trainable-CNN control (+0.009 [-0.004, +0.023]); not published, chapter 02.
        task_finetune=(("speakers", (("epochs", 30.0), ("evaluations", 30), ("learning_rate", 1e-3))),
                       # Words: 2 epochs of batch 8 (four times the steps per epoch of batch 32), two
                       # validation passes per epoch. Against 3 epochs of batch 32 it costs about 0.6
                       # of the time, and over three seeds it scored 0.931 / 0.958 / 0.950 (HuBERT /
                       # wav2vec2 / WavLM) against 0.926 / 0.963 / 0.961, with the trainable-CNN
                       # controls further behind (benchmarks/short_schedule.py, chapter 02).
                       ("words", (("batch_size", 8), ("epochs", 2.0), ("evaluations", 4)))),
        # Speakers per family, chosen on validation (benchmarks/speakers_regularisation.py, chapter 02):
        # SpecAugment time masks (p = 0.05, spans of 10) raised best validation for HuBERT (0.802 ->
        # 0.820) and wav2vec2 (0.827 -> 0.845) and lowered it for WavLM (0.830 -> 0.798). WavLM
        # instead trains on random half-second windows of its clips (train_crop_seconds): best
        # validation 0.830 -> 0.877, at about 0.6 of the training time. Windows without masks then
        # beat the masked whole clips for the other two as well (with masks a window may be 20 of
        # its 24 frames masked): wav2vec2 on half-second windows 0.845 -> 0.878, HuBERT on 0.75 s
        # windows 0.820 -> 0.882 (on 0.5 s it lost, 0.773). An addition of ours: the paper
        # fine-tunes words only.
        family_task_finetune=(("hubert", "speakers", (("train_crop_seconds", 0.75),)),
                              ("wav2vec2", "speakers", (("train_crop_seconds", 0.5),)),
                              ("wavlm", "speakers", (("train_crop_seconds", 0.5),))),
        mimic=MimicConfig(
            widths=(32, 96, 512),
            variants=(("linear", 1, 32), ("linear", 1, 96), ("linear", 1, 512), ("linear", 2, 32),
                      ("transformer", 1, 32)),
            non_mimicker=(("linear", 1, 512),),
            stage1_epochs=3, stage2_epochs=2, max_train_clips=2000, timing_repeats=3,
        ),
    )


def _paper() -> Profile:
    return Profile(
        name="paper",
        corpus=CorpusConfig(root=os.environ.get("SPEECH_COMMANDS_ROOT")),
        model=ModelConfig(
            hub_names=(
                "facebook/wav2vec2-base",
                "facebook/wav2vec2-large",
                "microsoft/wavlm-base",
                "microsoft/wavlm-large",
            ),
        ),
        # The paper (section 2.4): learning rate 2e-5 for 10,000 steps; batch size and warm-up are not
        # given (32 and 10 % here). Five seeds, as the paper's bands come from N = 5 runs.
        finetune=FinetuneConfig(max_steps=10_000, batch_size=32, learning_rate=2e-5, mask_time_prob=None,
                                precompute_cnn_features=False, evaluations=10, seeds=(0, 1, 2, 3, 4)),
        analysis=AnalysisConfig(n_utterances=2560),
        timing=TimingConfig(
            architectures=(
                "facebook/wav2vec2-base",
                "facebook/wav2vec2-large",
                "facebook/hubert-base-ls960",
                "facebook/hubert-large-ll60k",
                "microsoft/wavlm-base",
                "microsoft/wavlm-large",
            ),
            batch_sizes=(1, 128), warmup=3, repeats=5, threads=None,
            cuda_batch_sizes=(1, 128), cuda_warmup=100, cuda_repeats=20,
        ),
    )


_BUILDERS = {"smoke": _smoke, "mini": _mini, "paper": _paper}


def load_profile(name: str | None = None) -> Profile:
    """Return the named profile; ``None`` reads ``$REDUNDANCY_PROFILE`` (default ``mini``).

    An unknown name fails with a message listing the valid ones.
    """
    if name is None or name == "":
        name = os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    if isinstance(name, Profile):
        return name
    key = str(name).strip().lower()
    if key not in _BUILDERS:
        valid = ", ".join(PROFILE_NAMES)
        raise ValueError(f"unknown profile {name!r}: valid profiles are {valid}")
    return _BUILDERS[key]()


def task_seeds(finetune: FinetuneConfig, task: str) -> tuple[int, ...]:
    """The fine-tuning seeds trained for ``task``: every seed for words (the paper's task, whose
    bands later chapters draw), the first one for speakers (our extension)."""
    seeds = tuple(finetune.seeds) or (0,)
    return seeds if task == "words" else seeds[:1]


def with_task_epochs(profile: Profile, family: str, task: str, epochs: float) -> Profile:
    """``profile`` with one family's ``task`` trained for ``epochs`` epochs and as many validation
    passes per epoch as its recipe has (at least one), so the checkpoint is picked as often: what a
    shorter (or longer) schedule would give, everything else as published (a study, not a recipe)."""
    if not epochs > 0:
        raise ValueError(f"epochs must be positive, not {epochs}")
    recipe = profile.finetune_for(task, family)
    evaluations = max(1, round(recipe.evaluations * epochs / recipe.epochs))
    return with_task_changes(profile, family, task, epochs=float(epochs), evaluations=evaluations)


def with_task_changes(profile: Profile, family: str, task: str, **changes: Any) -> Profile:
    """``profile`` with one family's ``task`` recipe changed (``FinetuneConfig`` fields), after the
    changes it already has: a study's variant of the published recipe. A rate set here wins over a
    run's own, as the task's recipe does (``make_models.run_profile``)."""
    if not changes:
        return profile
    change = (family, task, tuple(changes.items()))
    return dataclasses.replace(profile, family_task_finetune=profile.family_task_finetune + (change,))


def with_model_source(profile: Profile, source: str) -> Profile:
    """The same profile reading its models from ``source`` ("published" or "train")."""
    if source not in MODEL_SOURCES:
        raise ValueError(f"unknown model source {source!r}: expected one of {MODEL_SOURCES}")
    return dataclasses.replace(profile, model=dataclasses.replace(profile.model, source=source))


def resolve_device(device: str | None = "auto") -> str:
    """Map ``auto`` to ``cuda`` when a GPU is present, else ``cpu``; refuse an impossible request."""
    import torch

    device = (device or "auto").strip().lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {device!r} was requested but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False); use device='cpu' or 'auto'"
            )
        return device
    if device == "cpu":
        return device
    raise ValueError(f"unknown device {device!r}: use 'auto', 'cpu' or 'cuda[:N]'")
