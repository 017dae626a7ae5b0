"""The mimicking experiment: teacher data, the variants, the controls, size and time, the results file.

For one fine-tuned teacher (one family, one task, one fine-tuning seed) this module

1. caches the teacher's representations of the words train split, a fixed random subset of the
   validation split and the test split: the feature projection output (the mimicker's input) and
   the target layers (the last layer of the first similarity block, and the last layer);
2. trains every mimicking variant (stage 1, then stage 2) and the controls: the non-mimicker (stage 2
   from a random mimicker), the head alone on the feature projection, and stage 1 only (the teacher's
   head on the distilled representation, nothing fine-tuned);
3. measures each variant's size and per-clip time (batch 1, after warm-up) against the teacher, and
   the same on the paper's real architectures with random weights.

:func:`mimicking_results` writes the document of ``results/<profile>/mimicking.json``.
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import MimicConfig, Profile, Variant, load_profile
from .models import load_classifier

NETWORKS: tuple[str, ...] = ("mimicker", "non-mimicker", "head-only", "stage1-only")
STAGE = "mimic-teacher"


def _profile(profile: Profile | str | None) -> Profile:
    return profile if isinstance(profile, Profile) else load_profile(profile)


# --- which layers to mimic ------------------------------------------------------------------------

def intermediate_layer(blocks: list[tuple[int, int]], n_layers: int) -> tuple[int, str]:
    """Target of the first of two mimicking layers: the last layer of the first similarity block.

    ``blocks`` (from :func:`redundancy.blocks.detect_blocks`, over layers 0..L with 0 = the feature
    projection) and ``n_layers`` = L. A block holding only layer 0 is not a transformer block and is
    skipped. When the first transformer block reaches the last layer (no block structure), the layer
    at 2/3 of the depth is used (the paper: the first block holds about 2/3 to 3/4 of the layers).
    Returns the layer and a sentence saying why.
    """
    if n_layers < 2:
        raise ValueError(f"a two-layer mimicker needs a teacher with at least 2 blocks, got {n_layers}")
    first = next(((a, b) for a, b in blocks if b - 1 >= 1), None)
    if first is not None and 1 <= first[1] - 1 < n_layers:
        return first[1] - 1, f"last layer of the first block {list(first)} (end exclusive)"
    fallback = max(1, min(n_layers - 1, round(2 * n_layers / 3)))
    found = f"blocks {[list(b) for b in blocks]}" if blocks else "no significant blocks"
    return fallback, (f"no block structure before the last layer ({found}): "
                      f"layer {fallback} of {n_layers}, at 2/3 of the depth as in the paper's first blocks")


def teacher_blocks(profile: Profile | str | None, name: str, task: str = "words", seed: int = 0,
                   device: str = "cpu") -> list[tuple[int, int]]:
    """The teacher's blocks, as the similarity chapter finds them (its metric, its clips).

    The one place that asks the similarity chapter for blocks: when block detection changes, only
    this call changes.
    """
    from . import pipeline, similarity

    P = _profile(profile)
    A = P.analysis
    states = pipeline.hidden_states(P, name, task, device=device, seed=seed)
    sim = similarity.model_similarity(states, ks=(A.knn_k,), knn_k=A.knn_k, batch_size=A.batch_size,
                                      pooling=A.similarity_pooling, device=device)
    return layer_blocks(sim, A.block_metric)


def layer_blocks(sim: Any, metric: str) -> list[tuple[int, int]]:
    """A :class:`~redundancy.similarity.ModelSimilarity`'s blocks as ``(start, stop)`` over layers 0..L.

    Two forms are read: ``blocks[metric]`` as ``(start, stop)`` layer ranges (``detect_blocks``), or,
    when the object carries ``block_tests`` (block detection with a null test), ``(first, last)``
    transformer-block numbers, inclusive, and an empty list when the test finds no block structure.
    """
    tests = getattr(sim, "block_tests", None)
    if tests is None:
        return [(int(a), int(b)) for a, b in sim.blocks[metric]]
    if not tests[metric].significant:
        return []
    return [(int(first), int(last) + 1) for first, last in sim.blocks[metric]]


# --- the teacher's cached representations ---------------------------------------------------------

@dataclass
class TeacherData:
    """Inputs (feature projection output), target layers and labels per split, as tensors in RAM."""

    x: dict[str, torch.Tensor]  # split -> (n, T, D)
    targets: dict[str, dict[int, torch.Tensor]]  # split -> layer -> (n, T, D)
    labels: dict[str, torch.Tensor]
    layers: tuple[int, ...]
    n_layers: int
    folder: Path

    def target_list(self, split: str, layers: tuple[int, ...]) -> list[torch.Tensor]:
        return [self.targets[split][l] for l in layers]


def _subset(n: int, k: int | None, seed: int) -> np.ndarray:
    """A fixed random subset of ``k`` of ``n`` indices (sorted); all when ``k`` is None or >= n."""
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:k])


def _extract(model: torch.nn.Module, split: Any, keep: np.ndarray, layers: tuple[int, ...], normalize: bool,
             batch_size: int, device: str, out: Path, prefix: str) -> None:
    """Write layer 0 and ``layers`` of the teacher on the clips ``keep`` of ``split`` to
    ``out/<prefix>_layer_XX.npy`` (float32, written batch by batch: the paper's train split does not
    fit in RAM)."""
    from tqdm import tqdm

    from .features import _forward_layers
    from .preprocess import prepare_inputs

    files: dict[int, np.ndarray] = {}
    with torch.inference_mode():
        for start in tqdm(range(0, len(keep), batch_size), desc=f"teacher layers, {prefix}", unit="batch", leave=False):
            rows = keep[start:start + batch_size]
            waves = np.stack([split[int(i)][0] for i in rows]).astype(np.float32)
            states = _forward_layers(model, prepare_inputs(waves, normalize).to(device), final_layer_norm=True)
            for l in (0, *layers):
                if l not in files:
                    files[l] = np.lib.format.open_memmap(out / f"{prefix}_layer_{l:02d}.npy", mode="w+",
                                                         dtype=np.float32, shape=(len(keep), *states[l].shape[1:]))
                files[l][start:start + len(rows)] = states[l].float().cpu().numpy()
    for memmap in files.values():
        memmap.flush()


def load_teacher(folder: Path) -> torch.nn.Module:
    """A fine-tuned classifier in float32 (published folders store float16), eager attention, eval mode."""
    return load_classifier(folder, eager_attention=True).eval()


def _open(path: Path) -> torch.Tensor:
    """A cached layer as a tensor over a copy-on-write memory map (read on demand, never written back)."""
    return torch.from_numpy(np.load(path, mmap_mode="c"))


def teacher_data(profile: Profile | str | None, name: str, layers: tuple[int, ...], *, task: str = "words",
                 seed: int = 0, device: str = "cpu") -> TeacherData:
    """The teacher's layer 0 and ``layers`` on train (at most ``max_train_clips``), validation
    (``val_clips``) and test clips of ``task`` (``words``, or ``speakers``: our extension, with the
    profile's speaker split), extracted once and cached."""

    from . import cache, pipeline
    from .commands import load_split
    from .models import base_model, encoder_layers
    from .preprocess import should_normalize
    from .publish import source_key

    P = _profile(profile)
    M = P.mimic
    split_kw = dict(min_utterances=P.corpus.speaker_min_utterances, seed=P.corpus.speaker_split_seed)
    folder = Path(str(pipeline.model_dir(P, name, task, device, seed=seed)))
    root = pipeline.corpus_root(P)
    layers = tuple(sorted(set(int(l) for l in layers)))
    config = {"task": task, "layers": layers, "max_train_clips": M.max_train_clips, "val_clips": M.val_clips,
              "seed": P.corpus.seed, "speakers": split_kw if task == "speakers" else None}
    inputs = [source_key(folder), cache.folder_key(root)]

    def build(tmp: Path) -> None:
        model = base_model(load_teacher(folder)).to(device)
        n_layers = len(encoder_layers(model))
        if max(layers) > n_layers:
            raise ValueError(f"{name}: layer {max(layers)} asked for, but the teacher has {n_layers} blocks")
        normalize = should_normalize(folder)
        for split, limit in (("train", M.max_train_clips), ("validation", M.val_clips), ("test", None)):
            data = load_split(root, task, split, **split_kw)
            keep = _subset(len(data), limit, P.corpus.seed)
            _extract(model, data, keep, layers, normalize, P.analysis.batch_size, device, tmp, split)
            np.save(tmp / f"{split}_labels.npy", np.asarray(data.labels)[keep])
        cache.atomic_write_json(tmp / "teacher.json", {"n_layers": n_layers, "layers": list(layers)})

    out = cache.build_artifact(STAGE, config, build, inputs=inputs,
                               code=("redundancy.mimicking", "redundancy.features", "redundancy.preprocess"))
    meta = cache.read_json(out / "teacher.json")
    x, targets, labels = {}, {}, {}
    for split in ("train", "validation", "test"):
        x[split] = _open(out / f"{split}_layer_00.npy")
        targets[split] = {l: _open(out / f"{split}_layer_{l:02d}.npy") for l in layers}
        labels[split] = torch.from_numpy(np.load(out / f"{split}_labels.npy")).long()
    return TeacherData(x, targets, labels, layers, int(meta["n_layers"]), out)


# --- training the variants and the controls -------------------------------------------------------

#: The paper's Tables 1-2 (parameters, normalised GPU time, accuracy) where they give them (PAPER.md).
PAPER_TABLES: dict[str, dict[Variant, dict[str, float]]] = {
    "facebook/wav2vec2-base": {
        ("linear", 1, 32): {"params": 4_851_331, "time_normalised": 0.13, "accuracy": 0.919},
        ("linear", 1, 768): {"params": 5_984_035, "time_normalised": 0.14, "accuracy": 0.942},
        ("linear", 1, 4096): {"params": 11_105_827, "time_normalised": 0.15, "accuracy": 0.935},
        ("transformer", 1, 4096): {"params": 13_463_075, "time_normalised": 0.16, "accuracy": 0.945},
    },
    "facebook/wav2vec2-large": {("linear", 1, 32): {"params": 5_064_835, "time_normalised": 0.089,
                                                   "accuracy": 0.921}},
}
#: Head on the CNN features alone (no transformer, no mimicker): the paper's 79 %.
PAPER_HEAD_ONLY_ACCURACY = 0.79


@dataclass
class Trained:
    """One trained network: its result row and its parts (for the standalone model and analyses)."""

    record: dict[str, Any]
    mimicker: torch.nn.Module | None
    head: torch.nn.Module


@dataclass
class TeacherRun:
    """Everything trained on one teacher."""

    name: str
    task: str
    seed: int
    teacher_accuracy: float
    layers: tuple[int, ...]  # targets of the 2-layer variants (intermediate, last)
    layer_note: str
    networks: list[Trained]
    params_full: int
    near_chance: bool = False  # the teacher itself is barely above chance: relative numbers mean little


def is_near_chance(metrics: dict[str, Any]) -> bool:
    """A fine-tuned model that failed its task (:func:`redundancy.quality.model_quality`)."""
    from .quality import model_quality

    return model_quality(float(metrics["accuracy"]), int(metrics["n_classes"])) == "failed"


def _record(network: str, variant: Variant | None, accuracy: float, teacher_accuracy: float,
            **extra: Any) -> dict[str, Any]:
    kind, layers, z = variant if variant is not None else ("none", 0, 0)
    return {"network": network, "type": kind, "layers": layers, "z": z, "accuracy": accuracy,
            "relative_accuracy": accuracy / teacher_accuracy if teacher_accuracy > 0 else None, **extra}


def run_teacher(profile: Profile | str | None, name: str, *, task: str = "words", seed: int = 0,
                device: str = "cpu", variants: list[Variant] | None = None,
                non_mimicker: list[Variant] | None = None, progress: bool = True) -> TeacherRun:
    """Train the mimickers (``variants``, default the profile's grid) and the controls on one
    teacher, then time them (:func:`time_teacher_run`)."""
    run = train_teacher(profile, name, task=task, seed=seed, device=device, variants=variants,
                        non_mimicker=non_mimicker, progress=progress)
    time_teacher_run(run, profile, device)
    return run


def time_teacher_run(run: TeacherRun, profile: Profile | str | None, device: str = "cpu") -> None:
    """Sizes and normalised times of a trained run's networks (:func:`add_costs`). Timing wants the
    machine to itself: call it after any parallel training has ended."""
    from .config import resolve_device

    P = _profile(profile)
    device = resolve_device(device)
    folder = _teacher_folder(run, P, device)
    add_costs(run, load_teacher(folder), folder, P, device)


def _teacher_folder(run: TeacherRun, profile: Profile, device: str) -> Path:
    from . import pipeline

    return Path(str(pipeline.model_dir(profile, run.name, run.task, device, seed=run.seed)))


def train_teacher(profile: Profile | str | None, name: str, *, task: str = "words", seed: int = 0,
                  device: str = "cpu", variants: list[Variant] | None = None,
                  non_mimicker: list[Variant] | None = None, head_only: bool = True,
                  progress: bool = True) -> TeacherRun:
    """Train the mimickers and the controls on one teacher, without timing them (several teachers
    may train at once, :mod:`redundancy.parallel`); :func:`time_teacher_run` adds the costs.

    Every network starts from its own seeded state, so training a part of them (``variants``,
    ``non_mimicker``, ``head_only=False``) gives the same networks as training them all."""
    import copy

    from tqdm import tqdm

    from . import pipeline
    from .config import resolve_device
    from .distill import Schedule, accuracy_of, train_stage1, train_stage2
    from .finetune import read_metrics
    from .mimic import Mimicker, teacher_head
    from .models import encoder_layers
    from .size import count_parameters

    P = _profile(profile)
    M: MimicConfig = P.mimic
    device = resolve_device(device)
    variants = M.grid() if variants is None else [tuple(v) for v in variants]
    non_mimicker = list(M.non_mimicker) if non_mimicker is None else [tuple(v) for v in non_mimicker]
    folder = Path(str(pipeline.model_dir(P, name, task, device, seed=seed)))
    teacher = load_teacher(folder)
    n_layers = len(encoder_layers(teacher))
    mid, note = intermediate_layer(teacher_blocks(P, name, task, seed, device), n_layers)
    data = teacher_data(P, name, (mid, n_layers), task=task, seed=seed, device=device)
    metrics = read_metrics(folder)
    # the teacher's head on its cached last layer gives the teacher's own logits on the same clips
    teacher_acc = accuracy_of(None, teacher_head(teacher), data.targets["test"][n_layers], data.labels["test"])
    if abs(teacher_acc - float(metrics["accuracy"])) > 0.01:
        raise RuntimeError(f"{name}: the teacher's accuracy from its cached last layer ({teacher_acc:.4f}) differs "
                           f"from its fine-tuning metrics ({metrics['accuracy']:.4f}): stale cache?")
    s1 = Schedule(M.stage1_epochs, M.batch_size, M.learning_rate, M.patience, seed, device)
    s2 = Schedule(M.stage2_epochs, M.batch_size, M.learning_rate, M.patience, seed, device)
    x, y = data.x, data.labels
    d_model = x["train"].shape[-1]
    done: list[Trained] = []
    bar = tqdm(total=len(variants) + len(non_mimicker) + int(head_only), desc=f"{name}: networks",
               disable=not progress)

    def stage2(mimicker, head):
        log = train_stage2(mimicker, head, x["train"], y["train"], x["validation"], y["validation"], s2, False)
        bar.update(1)
        return accuracy_of(mimicker, head, x["test"], y["test"]), log

    for variant in variants:
        kind, n, z = variant
        targets = (mid, n_layers) if n == 2 else (n_layers,)
        torch.manual_seed(seed)
        mimicker = Mimicker(d_model, hidden=z, stages=n, kind=kind)
        log1 = train_stage1(mimicker, x["train"], data.target_list("train", targets), x["validation"],
                            data.target_list("validation", targets), s1, False)
        head = teacher_head(teacher)
        acc1 = accuracy_of(mimicker, head, x["test"], y["test"])
        done.append(Trained(_record("stage1-only", variant, acc1, teacher_acc, targets=list(targets),
                                    stage1=log1.to_json()), copy.deepcopy(mimicker), copy.deepcopy(head)))
        acc2, log2 = stage2(mimicker, head)
        done.append(Trained(_record("mimicker", variant, acc2, teacher_acc, targets=list(targets),
                                    stage1=log1.to_json(), stage2=log2.to_json()), mimicker, head))
    for variant in non_mimicker:
        kind, n, z = variant
        torch.manual_seed(seed)
        mimicker, head = Mimicker(d_model, hidden=z, stages=n, kind=kind), teacher_head(teacher)
        acc, log = stage2(mimicker, head)
        done.append(Trained(_record("non-mimicker", variant, acc, teacher_acc, stage2=log.to_json()), mimicker, head))
    if head_only:
        head = teacher_head(teacher)
        acc, log = stage2(None, head)
        done.append(Trained(_record("head-only", None, acc, teacher_acc, stage2=log.to_json()), None, head))
    bar.close()
    return TeacherRun(name, task, seed, teacher_acc, (mid, n_layers), note, done, count_parameters(teacher),
                      is_near_chance(metrics))


def train_teachers(profile: Profile | str | None, names: Sequence[str], *, tasks: Sequence[str] = ("words",),
                   seed: int = 0, device: str = "cpu", variants: list[Variant] | None = None,
                   non_mimicker: list[Variant] | None = None, jobs: int | None = None,
                   progress: bool = True) -> list[TeacherRun]:
    """:func:`train_teacher` for every teacher (``names`` x ``tasks``), in worker processes on a CPU.

    Each teacher's networks are trained in two parts: three teachers on two cores would otherwise
    leave one core idle for a third of the time. The first part of every teacher comes first, so
    the two parts of one teacher seldom start together; when they do, the second waits for the first
    one's cached representations (:func:`redundancy.cache.build_artifact`) instead of extracting
    them again. Returns one merged run per teacher, networks in :func:`train_teacher`'s order."""
    from .config import resolve_device
    from .parallel import map_in_processes, worker_count

    P = _profile(profile)
    device = resolve_device(device)
    variants = P.mimic.grid() if variants is None else [tuple(v) for v in variants]
    non_mimicker = list(P.mimic.non_mimicker) if non_mimicker is None else [tuple(v) for v in non_mimicker]
    workers = worker_count(device, jobs)
    parts = [dict(variants=variants, non_mimicker=non_mimicker, head_only=True)]
    if workers > 1:
        half = (len(variants) + 1) // 2
        parts = [dict(variants=variants[:half], non_mimicker=[], head_only=False),
                 dict(variants=variants[half:], non_mimicker=non_mimicker, head_only=True)]
    teachers = [(name, task) for task in tasks for name in names]
    calls = [dict(profile=P, name=name, task=task, seed=seed, device=device, progress=False, **part)
             for part in parts for name, task in teachers]
    done = map_in_processes(train_teacher, calls, jobs=workers, progress=progress, desc="teachers")
    runs = []
    for i in range(len(teachers)):
        pieces = done[i::len(teachers)]
        runs.append(dataclasses.replace(pieces[0], networks=[n for piece in pieces for n in piece.networks]))
    return runs


def add_costs(run: TeacherRun, teacher: torch.nn.Module, folder: Path, profile: Profile, device: str = "cpu") -> None:
    """Fill ``params``, ``params_full`` and ``time_normalised`` (batch 1, interleaved repeats) of each row."""
    from .mimic import build_standalone
    from .preprocess import should_normalize
    from .size import count_parameters
    from .timing import measure_latencies

    M = profile.mimic
    normalize = should_normalize(folder)
    models = {"full": teacher}
    for i, net in enumerate(run.networks):
        models[str(i)] = build_standalone(teacher, net.mimicker, net.head, normalize)
    times = measure_latencies(models, batch_size=1, device=device, warmup=M.timing_warmup,
                              repeats=max(2, M.timing_repeats), threads=profile.timing.threads)
    full = times["full"]["median_ms"]
    for i, net in enumerate(run.networks):
        net.record.update(params=count_parameters(models[str(i)]), params_full=run.params_full,
                          time_normalised=times[str(i)]["median_ms"] / full, latency_ms=times[str(i)]["median_ms"])


def standalone(run: TeacherRun, index: int, profile: Profile | str | None, device: str = "cpu"):
    """The standalone classifier (waveform -> logits) of ``run.networks[index]``."""
    from .mimic import build_standalone
    from .preprocess import should_normalize

    folder = _teacher_folder(run, _profile(profile), device)
    teacher = load_teacher(folder)
    net = run.networks[index]
    return build_standalone(teacher, net.mimicker, net.head, should_normalize(folder))


# --- what the mimicker reproduces -----------------------------------------------------------------

def reproduction(run: TeacherRun, profile: Profile | str | None, network: str = "stage1-only",
                 device: str = "cpu") -> dict[str, list[float]]:
    """Linear CKA between each ``network``'s output and every teacher layer, on the analysis clips.

    Keys ``"<type>-<layers>-z<z>"``; values one CKA per teacher layer 0..L (flattened over frames,
    batches of the similarity chapter's size, as there). The reference ``"input (layer 0)"``: the same
    for the mimicker's input, so that one sees how far the mimicker moved from it.
    """
    from . import pipeline
    from .similarity import linear_cka

    P = _profile(profile)
    states = pipeline.hidden_states(P, run.name, run.task, device=device, seed=run.seed)
    x = torch.from_numpy(np.array(states[0]))
    out: dict[str, list[float]] = {
        "input (layer 0)": [linear_cka(states.flat(0), states.flat(l), batch_size=P.analysis.batch_size)
                            for l in range(len(states))]}
    for net in run.networks:
        if net.record["network"] != network or net.mimicker is None:
            continue
        net.mimicker.eval()
        with torch.no_grad():
            mimicked = net.mimicker(x).reshape(len(x), -1).numpy()
        key = f"{net.record['type']}-{net.record['layers']}-z{net.record['z']}"
        out[key] = [linear_cka(mimicked, states.flat(l), batch_size=P.analysis.batch_size)
                    for l in range(len(states))]
    return out


# --- size and time on the real architectures ------------------------------------------------------

def real_architecture_costs(profile: Profile | str | None = None, *, names: tuple[str, ...] | None = None,
                            device: str = "cpu", progress: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Parameters and per-clip time (batch 1, after warm-up, normalised to the full model) of every
    mimicking variant (types x layers x ``real_widths``) and the head-only network, on the exact real
    architectures with random weights and the 35-word head. Time keys end in ``_cpu`` or ``_gpu``."""
    from tqdm import tqdm

    from .architectures import build_random, real_config
    from .mimic import mimic_model
    from .size import count_parameters
    from .config import resolve_device
    from .timing import NUM_LABELS, measure_latencies

    P = _profile(profile)
    M = P.mimic
    device = resolve_device(device)
    where = "gpu" if device.startswith("cuda") else "cpu"
    names = tuple(M.real_architectures if names is None else names)
    grid: list[Variant] = [("none", 0, 0)] + [(t, n, z) for t in M.types for n in M.layers for z in M.real_widths]
    out: dict[str, list[dict[str, Any]]] = {}
    for name in tqdm(names, desc="real architectures", disable=not progress):
        torch.manual_seed(0)
        full = build_random(real_config(name), num_labels=NUM_LABELS)
        models = {"full": full}
        for kind, n, z in grid:
            models[f"{kind}-{n}-{z}"] = mimic_model(full, hidden=max(z, 1), stages=n,
                                                    kind=kind if n else "linear")
        threads = P.timing.threads if where == "cpu" else None
        times = measure_latencies(models, batch_size=1, device=device, warmup=M.timing_warmup,
                                  repeats=max(2, M.timing_repeats), threads=threads)
        params_full = count_parameters(full)
        rows = []
        for kind, n, z in grid:
            key = f"{kind}-{n}-{z}"
            rows.append({"type": kind, "layers": n, "z": z, "params": count_parameters(models[key]),
                         "params_full": params_full,
                         f"time_normalised_{where}": times[key]["median_ms"] / times["full"]["median_ms"],
                         f"latency_ms_{where}": times[key]["median_ms"],
                         f"latency_full_ms_{where}": times["full"]["median_ms"]})
        out[name] = rows
        del models, full
        gc.collect()
        if where == "gpu":
            torch.cuda.empty_cache()
    return out


def add_cli(subparsers: Any) -> None:
    """``python -m redundancy mimic-costs --profile P --device D --out FILE``: size and time of every
    mimicking variant on the real architectures (random weights; no training)."""
    p = subparsers.add_parser("mimic-costs", help="size and time of the mimicking variants on the real architectures")
    p.add_argument("--profile", default=None)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--warmup", type=int, default=None, help="override the profile's warm-up passes")
    p.add_argument("--repeats", type=int, default=None, help="override the profile's repeats")
    p.add_argument("--out", required=True, help="JSON file")
    p.set_defaults(func=_cli_costs)


def _cli_costs(args: Any) -> int:
    from .cache import atomic_write_json

    P = load_profile(args.profile)
    changes = {k: v for k, v in (("timing_warmup", args.warmup), ("timing_repeats", args.repeats)) if v is not None}
    P = dataclasses.replace(P, mimic=dataclasses.replace(P.mimic, **changes))
    real = real_architecture_costs(P, device=args.device)
    atomic_write_json(Path(args.out), {"profile": P.name, "device": args.device, "real_architectures": real})
    for hub, rows in real.items():
        for r in rows:
            time_key = next(k for k in r if k.startswith("time_normalised"))
            print(f"{hub} {r['type']} x{r['layers']} z={r['z']}: {r['params']:,} params, {time_key} {r[time_key]:.3f}")
    print(f"wrote {args.out}")
    return 0


# --- the results document -------------------------------------------------------------------------

def mimicking_results(profile: Profile | str | None, runs: list[TeacherRun],
                      real: dict[str, list[dict[str, Any]]], reproduced: dict[str, dict[str, list[float]]] | None = None,
                      ) -> dict[str, Any]:
    """The document of ``results/<profile>/mimicking.json``: ``models`` -> model -> task -> rows, and
    ``real_architectures`` -> hub name -> rows (see the issue's schema); ``reproduction_cka`` is keyed
    by ``"model/task"``."""
    P = _profile(profile)
    models: dict[str, dict[str, list[dict[str, Any]]]] = {}
    teachers: dict[str, dict[str, Any]] = {}
    for run in runs:
        models.setdefault(run.name, {})[run.task] = [net.record for net in run.networks]
        teachers.setdefault(run.name, {})[run.task] = {
            "seed": run.seed, "accuracy": run.teacher_accuracy, "params": run.params_full,
            "near_chance": run.near_chance,
            "target_layers": list(run.layers), "target_note": run.layer_note}
    return {"profile": P.name, "settings": dataclasses.asdict(P.mimic), "teachers": teachers, "models": models,
            "real_architectures": real, "reproduction_cka": reproduced or {},
            "paper_head_only_accuracy": PAPER_HEAD_ONLY_ACCURACY}


def table(runs: list[TeacherRun]):
    """One row per model and network, in the shape of the paper's Tables 1-4."""
    import pandas as pd

    rows = []
    for run in runs:
        rows.append({"model": run.name, "task": run.task, "network": "original", "type": "", "layers": "", "z": "",
                     "params": run.params_full, "time_normalised": 1.0, "accuracy": run.teacher_accuracy,
                     "relative_accuracy": 1.0})
        for net in run.networks:
            r = net.record
            rows.append({"model": run.name, "task": run.task, **{k: r[k] for k in ("network", "type", "layers", "z", "params",
                                                                  "time_normalised", "accuracy", "relative_accuracy")}})
    return pd.DataFrame(rows)
