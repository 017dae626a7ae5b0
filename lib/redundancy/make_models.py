"""``make models``: train a profile's models from scratch and publish them (DESIGN.md, train once).

The stages are the cached ones (corpus -> pre-training -> fine-tuning), so a run that was stopped
resumes: finished stages come from the cache, and a pre-training or fine-tuning run continues from
its last checkpoint. Independent runs go to ``jobs`` worker processes of one torch thread each (on
a 2-core machine two one-thread runs finish sooner than one two-thread run). At the end every model
is published under ``models/<profile>/`` (see :mod:`redundancy.publish`), its test accuracy is
measured again *from the stored weights*, and ``results/<profile>/baselines.json`` is written.

    python -m redundancy models --profile mini --jobs 2
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import dataclasses
import heapq
import json
import multiprocessing
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import publish
from .audio import CLIP_SAMPLES, SAMPLE_RATE
from .cpu_platform import corpus_platform
from .publish import corpus_hash
from .config import FinetuneConfig, Profile, load_profile, resolve_device, task_seeds


@dataclass(frozen=True)
class Run:
    """One training run: a backbone's pre-training, or a fine-tuning (with its seed and control)."""

    family: str
    state: str  # "pretrained", "words" or "speakers"
    seed: int | None = None
    control: str | None = None
    learning_rate: float | None = None  # None: the profile's; else this run's (sweep, chosen rate)
    sweep: bool = False  # a learning-rate trial: the run's first ``finetune.lr_sweep_evaluations`` validations
    backbone: str | None = None  # the published backbone to fine-tune; None: the cached pre-training

    @property
    def label(self) -> str:
        return f"{self.family}/{publish.folder_name(self.state, self.seed, self.control)}"


def run_kind(run: Run) -> str:
    """What a run's cost depends on: pre-training, a task, or a control (the timing benchmarks group
    runs by it)."""
    return run.control or run.state


def run_profile(profile: Profile, run: Run) -> Profile:
    """The profile a run trains with: its task's recipe (``Profile.finetune_for``), its own learning
    rate; a trial stops after its first validations (the whole run's schedule, so the chosen rate's
    run continues from there). The task's changes are resolved here, once. A learning rate that the
    task's own recipe sets (``task_finetune``) wins over the family's swept one: the sweep picks a
    rate on words, and another task may need another."""
    cfg = profile.finetune if run.state == "pretrained" else profile.finetune_for(run.state, run.family)
    task_sets_rate = "learning_rate" in profile.task_changes(run.state, run.family)
    if run.learning_rate is not None and not task_sets_rate:
        cfg = dataclasses.replace(cfg, learning_rate=run.learning_rate)
    if run.sweep:
        cfg = dataclasses.replace(cfg, stop_after_evaluations=cfg.lr_sweep_evaluations)
    return dataclasses.replace(profile, finetune=cfg, task_finetune=(), family_task_finetune=())


def sweep_runs(profile: Profile, family: str, backbone: str | None = None) -> list[Run]:
    """The learning-rate trials of a family: words, first seed, each candidate rate."""
    seed = task_seeds(profile.finetune, "words")[0]
    return [Run(family, "words", seed, learning_rate=lr, sweep=True, backbone=backbone)
            for lr in profile.finetune.lr_candidates]


def choose_learning_rate(results: dict[float, float]) -> float:
    """The candidate with the best validation accuracy (ties: the smaller rate, the safer one)."""
    return max(sorted(results), key=lambda lr: results[lr])


class MixedCorpusError(RuntimeError):
    """A partial republication would add models trained on a corpus nobody checked against the
    published models' own."""


def kept_corpus_record(profile: Profile, data_hash: str) -> dict[str, Any]:
    """The corpus fields of the published index that a partial ``make models ONLY_STALE=1`` keeps.

    The models it does not retrain saw the index's corpus, so the index keeps describing that
    one; the models it retrains see the corpus built here, which must be that corpus or its
    rebuild recorded for this CPU code path (:mod:`redundancy.corpus_rebuild`: checked against
    the models' accuracy), else the set would mix data nobody compared. Each model's own
    ``provenance.json`` names the build it saw. {} when nothing is published yet."""
    index = publish.read_index(profile.name)
    if "corpus_hash" not in index:
        return {}
    if data_hash not in (index["corpus_hash"], publish.recorded_rebuild(index).get("corpus_hash")):
        raise MixedCorpusError(
            f"the {profile.name} corpus built here ({data_hash}, {corpus_platform()}) is neither the one the "
            f"published models saw ({index['corpus_hash']}, {index.get('corpus_platform', 'platform not recorded')}) "
            "nor a rebuild of it recorded for this CPU code path, so retraining only the stale models would mix "
            "two corpora. `python -m redundancy record-corpus-rebuild` records this build if the published models "
            "score the same on it; `make models` without ONLY_STALE retrains every model on it.")
    return {key: index[key] for key in ("corpus_hash", "corpus_platform", publish.REBUILDS_KEY) if key in index}


def planned_runs(profile: Profile) -> list[Run]:
    """Every run of a profile: pre-training per family (mini, smoke); words with every seed;
    speakers with the first seed; both random-init controls on words with the first seed (mini,
    smoke). The paper profile fine-tunes its hub checkpoints (``Run.family`` is the hub name or
    folder) and pre-trains nothing."""
    cfg = profile.finetune
    hub = bool(profile.model.hub_names)
    names = list(profile.model.hub_names) if hub else list(profile.model.families)
    runs = [] if hub else [Run(f, "pretrained") for f in names]
    for name in names:
        for task in cfg.tasks:
            runs.extend(Run(name, task, seed) for seed in task_seeds(cfg, task))
        if cfg.random_init_control and "words" in cfg.tasks and not hub:
            first = task_seeds(cfg, "words")[0]
            runs.extend(Run(name, "words", first, control) for control in publish.CONTROLS)
    return runs


def is_current(profile: Profile, run: Run) -> bool:
    """Whether a run's published model exists, was trained with the run's own recipe and is intact."""
    try:
        publish.check_published(publish.model_path(profile.name, run.family, run.state, run.seed, run.control),
                                profile)
    except publish.ModelsUnavailableError:
        return False
    return True


def stale_plan(profile: Profile, runs: list[Run]) -> tuple[list[Run], set[str]]:
    """The runs ``make models ONLY_STALE=1`` trains, and the families that sweep learning rates.

    A family whose published backbone is stale retrains whole, as from scratch. Otherwise its stale
    runs fine-tune the published backbone (``Run.backbone``) with the family's recorded rate
    (``lr_sweep.json``); the family sweeps again only when a words run (the sweep's task) is stale
    or no rate was recorded."""
    recorded = publish.read_lr_sweep(profile.name) or {}
    todo: list[Run] = []
    sweeping: set[str] = set()
    for family in dict.fromkeys(r.family for r in runs):
        own = [r for r in runs if r.family == family]
        stale = [r for r in own if not is_current(profile, r)]
        if not stale:
            continue
        backbone = next((r for r in own if r.state == "pretrained"), None)  # None: a hub checkpoint
        if backbone in stale:  # a new backbone: everything fine-tuned from it is new too
            todo.extend(own)
            sweeping |= {family} if profile.finetune.lr_candidates else set()
            continue
        folder = None if backbone is None else str(publish.model_path(profile.name, family, "pretrained"))
        words_stale = any(r.state == "words" for r in stale)
        if profile.finetune.lr_candidates and (words_stale or family not in recorded):
            sweeping.add(family)
            todo.extend(dataclasses.replace(r, backbone=folder) for r in stale)
        else:
            rate = recorded[family]["chosen"] if profile.finetune.lr_candidates else None
            todo.extend(dataclasses.replace(r, backbone=folder, learning_rate=rate) for r in stale)
    return todo, sweeping


def start_order(run: Run, recipe: FinetuneConfig | None = None) -> tuple[int, float]:
    """Which runnable run a free worker takes first (smaller first): pre-training and learning-rate
    trials, since other runs wait for them; then the longest runs, so that no long run is left to
    finish alone on one core while the other waits. ``recipe``: the run's own task recipe
    (``Profile.finetune_for``; None: the defaults). Its length counts (epochs, or steps when it sets
    ``max_steps``), a run whose CNN trains costs about 2.4 times one whose CNN is frozen (the
    controls set their own), speakers trains on fewer clips than words, and a run on training
    windows (``train_crop_seconds``) costs about the windows' share of a clip per step."""
    if run.state == "pretrained":
        return (0, 0.0)
    if run.sweep:
        return (1, 0.0)
    recipe = recipe or FinetuneConfig()
    trains = run.control == "random-trainable-cnn" or (run.control is None and not recipe.freeze_feature_encoder)
    length = recipe.max_steps if recipe.max_steps > 0 else recipe.epochs * (0.8 if run.state == "speakers" else 1.0)
    if run.control is None and recipe.train_crop_seconds > 0:
        length *= min(1.0, recipe.train_crop_seconds * SAMPLE_RATE / CLIP_SAMPLES)
    return (2, -(2.4 if trains else 1.0) * length)


def schedule_seconds(costs: list[tuple[Run, float]], jobs: int, after: dict[Run, Run],
                     order: Callable[[Run], tuple]) -> float:
    """Wall seconds of ``costs`` on ``jobs`` workers: a run starts when a worker is free and the run
    it waits for (``after``) has finished, the runnable ones by ``order`` (smallest first; equal:
    the longer)."""
    finished: dict[Run, float] = {}
    free = [0.0] * max(1, jobs)
    todo = list(costs)
    clock = 0.0
    while todo:
        clock = max(clock, heapq.heappop(free))
        runnable = [(run, cost) for run, cost in todo if run not in after or finished.get(after[run], 1e300) <= clock]
        if not runnable:  # wait for the next run to finish
            clock = min(t for t in finished.values() if t > clock)
            heapq.heappush(free, clock)
            continue
        run, cost = min(runnable, key=lambda item: order(item[0]) + (-item[1],))
        todo.remove((run, cost))
        finished[run] = clock + cost
        heapq.heappush(free, clock + cost)
    return max(finished.values())


def train_run(profile: Profile, run: Run, device: str, threads: int | None) -> str:
    """Train (or fetch from the cache) one run; returns the cached folder. Runs in a worker."""
    import torch

    from . import pipeline

    if threads:
        torch.set_num_threads(threads)
    if run.state == "pretrained":
        return str(pipeline.pretrained_dir(profile, run.family, device, progress=False))
    folder = pipeline.finetuned_dir(run_profile(profile, run), run.family, run.state,
                                    random_init=run.control is not None,
                                    train_cnn=None if run.control is None else run.control == "random-trainable-cnn",
                                    seed=run.seed or 0, device=device, progress=False,
                                    backbone=Path(run.backbone) if run.backbone else None)
    return str(folder)


def train_all(profile: Profile, device: str = "cpu", jobs: int = 1, threads: int | None = 1,
              progress: bool = True, only_stale: bool = False) -> dict[Run, Path]:
    """Run every planned run (pre-training first), ``jobs`` at a time; returns run -> cached folder.
    ``only_stale``: the runs whose published model is missing, stale or corrupt (:func:`stale_plan`)."""
    from tqdm.auto import tqdm

    from .corpus import build_corpus, build_pretrain_corpus

    build_corpus(profile, progress=progress)
    if not profile.model.hub_names:
        build_pretrain_corpus(profile, progress=progress)
    runs = planned_runs(profile)
    if only_stale:
        planned = len(runs)
        runs, sweeping_families = stale_plan(profile, runs)
        if runs and len(runs) < planned:  # a partial set: check its corpus now, not after hours of training
            kept_corpus_record(profile, corpus_hash(build_corpus(profile, progress=False)))
    else:
        sweeping_families = {r.family for r in runs} if profile.finetune.lr_candidates else set()
    pretraining = [r for r in runs if r.state == "pretrained"]
    waiting = {r.family for r in pretraining}  # families whose backbone is still being pre-trained
    trials: dict[str, dict[float, float]] = {}  # family -> learning rate -> validation accuracy
    folders: dict[Run, Path] = {}
    context = multiprocessing.get_context("spawn")
    bar = tqdm(total=len(runs), desc="models", unit="run", disable=not progress)
    recipes = {task: profile.finetune_for(task) for task in profile.finetune.tasks}
    ready: list[Run] = []  # runnable, waiting for a free worker
    pending: dict[futures.Future, Run] = {}
    with futures.ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool:

        def submit(batch: list[Run]) -> None:
            """Make ``batch`` runnable; start runs (by :func:`start_order`) while a worker is free."""
            ready.extend(batch)
            ready.sort(key=lambda run: start_order(run, recipes.get(run.state)))  # stable: equal costs keep their order
            while ready and len(pending) < max(1, jobs):
                run = ready.pop(0)
                pending[pool.submit(train_run, profile, run, device, threads)] = run

        def after_backbone(family: str) -> list[Run]:
            """What may start once a family's backbone exists: its trials, or its runs."""
            if family in sweeping_families:
                backbone = next((r.backbone for r in runs if r.family == family and r.backbone), None)
                return sweep_runs(profile, family, backbone)
            return [r for r in runs if r.state != "pretrained" and r.family == family]

        # a family's fine-tuning starts as soon as its own backbone is pre-trained (it would
        # otherwise pre-train it a second time), and never waits for another family's
        families = list(dict.fromkeys(r.family for r in runs))
        submit(pretraining + [r for f in families if f not in waiting for r in after_backbone(f)])
        while pending:
            done, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
            for future in done:
                run = pending.pop(future)
                folder = Path(future.result())
                if run.sweep:
                    log = json.loads((folder / "train_log.json").read_text())
                    trials.setdefault(run.family, {})[run.learning_rate] = log["summary"]["best_validation_accuracy"]
                    if len(trials[run.family]) == len(profile.finetune.lr_candidates):
                        chosen = choose_learning_rate(trials[run.family])
                        submit([dataclasses.replace(r, learning_rate=chosen) for r in runs
                                if r.state != "pretrained" and r.family == run.family])
                    submit([])  # a worker is free
                    continue
                folders[run] = folder
                bar.set_postfix_str(run.label)
                bar.update()
                if run.state == "pretrained":
                    waiting.discard(run.family)
                    submit(after_backbone(run.family))
                else:
                    submit([])  # a worker is free
    bar.close()
    _write_trials(profile, trials)
    return folders


def _write_trials(profile: Profile, trials: dict[str, dict[float, float]]) -> None:
    """Record the learning-rate trials and the chosen rates next to the published models (the
    families swept now replace their records; the others keep theirs)."""
    if not trials:
        return
    root = publish.models_root(profile.name)
    root.mkdir(parents=True, exist_ok=True)
    record = publish.read_lr_sweep(profile.name) or {}
    swept = {family: profile.finetune_for("words", family) for family in trials}  # the trials train words
    record |= {family: {"validation_accuracy": {str(lr): acc for lr, acc in sorted(results.items())},
                       "chosen": choose_learning_rate(results),
                       "evaluations": profile.finetune.lr_sweep_evaluations,
                       "of_evaluations": swept[family].evaluations, "epochs": swept[family].epochs}
              for family, results in trials.items()}
    (root / publish.LR_SWEEP_FILE).write_text(json.dumps(record, indent=2, sort_keys=True))


def publish_run(profile: Profile, run: Run, folder: Path, data_hash: str, device: str = "cpu",
                threads: int | None = None) -> str:
    """Publish one trained run: export it with its provenance, then re-measure a classifier's test
    accuracy from the stored weights, or probe a backbone. Runs in a worker; returns the folder."""
    import torch

    from .corpus import build_corpus

    if threads:
        torch.set_num_threads(threads)
    root = build_corpus(profile, progress=False)
    dest = publish.model_path(profile.name, run.family, run.state, run.seed, run.control)
    seconds = _train_log_value(folder, "train_seconds") or _train_log_value(folder, "seconds")
    record = publish.provenance_record(
        profile, family=run.family, state=run.state, seed=run.seed, control=run.control,
        corpus_hash=data_hash, seconds=seconds, device=device, cache_key=Path(folder).name,
        threads=_train_log_value(folder, "torch_threads"))
    if run.state != "pretrained":  # the rate this run trained with (a family's sweep may choose it)
        record["finetune"] = dataclasses.asdict(run_profile(profile, run).finetune)
    if run.backbone:  # fine-tuned from the published backbone (make models ONLY_STALE=1)
        record["backbone"] = {"folder": f"{publish.family_folder(run.family)}/pretrained",
                              "weights_sha256": publish.read_provenance(Path(run.backbone))["weights_sha256"]}
    publish.export(Path(folder), dest, record, with_weights=run.control is None)
    if run.state != "pretrained" and run.control is None:
        remeasure(dest, profile, root, device)
    if run.state == "pretrained":
        write_probe(dest, profile, root, device)
        write_pretrain_metrics(dest)
    return str(dest)


def publish_all(profile: Profile, folders: dict[Run, Path], device: str = "cpu", jobs: int = 1,
                threads: int | None = 1, progress: bool = True) -> dict[str, Any]:
    """Publish every trained run (``jobs`` at a time, one thread each: each re-measurement is
    small, and two processes use two cores better than two threads in one), and return the
    baselines report (``results/<profile>/baselines.json``)."""
    from .corpus import build_corpus
    from .parallel import map_in_processes

    data_hash = corpus_hash(build_corpus(profile, progress=False))
    planned = {r.label for r in planned_runs(profile)}
    corpus = {"corpus_hash": data_hash, "corpus_platform": corpus_platform()}
    if {r.label for r in folders} != planned:  # a partial set (ONLY_STALE): the others saw the index's corpus
        corpus = kept_corpus_record(profile, data_hash) or corpus  # before anything is written
    # backbones first: their probes are the longest pieces
    ordered = sorted(folders.items(), key=lambda item: item[0].state != "pretrained")
    map_in_processes(publish_run, [(profile, run, folder, data_hash, device, threads if jobs > 1 else None)
                                   for run, folder in ordered], jobs=max(1, jobs), progress=progress, desc="publish")
    from .baselines import baselines_report

    report = baselines_report(profile)
    index = {"profile": profile.name, "recipe_hash": publish.recipe_hash(profile),
             "recipe": publish.recipe(profile), **corpus, "models": sorted(planned)}
    (publish.models_root(profile.name) / publish.INDEX_FILE).write_text(json.dumps(index, indent=2, sort_keys=True))
    return report


def write_probe(folder: Path, profile: Profile, corpus_root: Path, device: str = "cpu") -> dict[str, Any]:
    """:func:`backbone_probe` of a published backbone, written to its ``probe.json``."""
    result = backbone_probe(folder, corpus_root, device)
    (Path(folder) / "probe.json").write_text(json.dumps(result, indent=2))
    return result


def write_pretrain_metrics(folder: Path, window: int = 5) -> dict[str, Any]:
    """``metrics.json`` of a published backbone: its pre-training outcome (mean loss and masked-
    prediction accuracy over the last ``window`` logged steps, steps, time, parameters) and the
    per-layer probe summary, read from the files the folder already holds."""
    folder = Path(folder)
    curve = json.loads((folder / "loss_curve.json").read_text())[-window:]
    info = json.loads((folder / "pretrain_info.json").read_text())
    probe = json.loads((folder / "probe.json").read_text())
    trained, twin = probe["pretrained"]["accuracy"], probe["random_init"]["accuracy"]
    metrics = {
        "state": "pretrained", "family": info["family"], "steps": info["steps"],
        "train_seconds": info["seconds"], "parameters": info["parameters"],
        "final_loss": float(np.mean([e["loss"] for e in curve])),
        "final_masked_accuracy": float(np.mean([e["accuracy"] for e in curve])),
        "probe_best_layer": int(np.argmax(trained)), "probe_best_accuracy": float(max(trained)),
        "probe_layer0_accuracy": float(trained[0]), "probe_random_twin_best_accuracy": float(max(twin)),
        "probe_chance": probe["pretrained"]["chance"],
    }
    publish.update_metrics(folder, metrics)
    return metrics


def backbone_probe(folder: Path, corpus_root: Path, device: str = "cpu") -> dict[str, Any]:
    """Per-layer words probe of a backbone and of its random-init twin (nothing is written)."""
    import torch

    from .models import load_backbone, random_twin
    from .preprocess import should_normalize
    from .probe import layer_probe

    normalize = should_normalize(folder)
    trained = load_backbone(folder, dtype=torch.float32)
    twin = random_twin(folder)
    result = {"pretrained": layer_probe(trained, corpus_root, normalize, n_train=1500, device=device),
              "random_init": layer_probe(twin, corpus_root, normalize, n_train=1500, device=device),
              "features": "mean over frames of each layer; layer 0 = feature projection output"}
    return result


def _train_log_value(folder: Path, field: str) -> Any:
    """A value a run's own log recorded (``train_log.json``'s summary for fine-tuning,
    ``pretrain_info.json`` for pre-training); None when neither file has it."""
    for name, section in (("train_log.json", "summary"), ("pretrain_info.json", None)):
        path = Path(folder) / name
        if path.is_file():
            record = json.loads(path.read_text())
            return (record.get(section, {}) if section else record).get(field)
    return None


def remeasure(folder: Path, profile: Profile, corpus_root: Path, device: str = "cpu") -> dict[str, Any]:
    """Test accuracy of a published fine-tuned folder computed from its stored weights; rewrites
    ``metrics.json`` (keeping the accuracy of the float32 weights as ``accuracy_float32``)."""
    metrics = json.loads((Path(folder) / "metrics.json").read_text())
    fresh = evaluate_published(folder, profile, corpus_root, device)
    np.savez(Path(folder) / "test_predictions.npz", predictions=fresh.pop("predictions"),
             labels=fresh.pop("labels"))
    if "accuracy_float32" not in metrics:
        metrics["accuracy_float32"] = metrics["accuracy"]
    metrics.update(fresh)
    metrics["weights_evaluated"] = "stored float16 weights, loaded as float32"
    publish.update_metrics(folder, metrics)
    return metrics


def evaluate_published(folder: Path, profile: Profile, corpus_root: Path, device: str = "cpu") -> dict[str, Any]:
    """Accuracy (with its bootstrap interval) of a published classifier on its task's test split,
    and its ``predictions`` with the ``labels``; nothing is written."""
    from .commands import load_split
    from .finetune import accuracy_summary, predict
    from .models import load_classifier
    from .preprocess import prepare_inputs, should_normalize

    metrics = json.loads((Path(folder) / "metrics.json").read_text())
    task = metrics["task"]
    test = load_split(corpus_root, task, "test", min_utterances=profile.corpus.speaker_min_utterances,
                      seed=profile.corpus.speaker_split_seed)
    model = load_classifier(folder)
    inputs = prepare_inputs(test.load_all(progress=False), should_normalize(folder))
    preds = predict(model, inputs, device=device)
    summary = accuracy_summary(preds, test.labels, len(test.classes), profile.finetune.bootstrap)
    return {**summary, "predictions": preds, "labels": test.labels}


def make_models(profile: Profile | str | None = None, device: str = "auto", jobs: int = 1,
                threads: int | None = 1, progress: bool = True, only_stale: bool = False) -> dict[str, Any]:
    """Train, publish, and write ``results/<profile>/baselines.json``; returns the report.
    ``only_stale``: train and publish only the models that are missing, stale or corrupt."""
    from .baselines import write_baselines

    profile = profile if isinstance(profile, Profile) else load_profile(profile)
    device = resolve_device(device)
    start = time.perf_counter()
    folders = train_all(profile, device, jobs, threads, progress, only_stale)
    # on a GPU, one publishing process (several would share the one device)
    publish_jobs = jobs if device == "cpu" else 1
    report = publish_all(profile, folders, device, publish_jobs, threads, progress)
    report["wall_seconds_this_call"] = round(time.perf_counter() - start, 1)
    write_baselines(report)
    return report


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="train a profile's models from scratch and publish them")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=1, help="training runs in parallel (one thread each)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (0: torch's default)")
    parser.add_argument("--only-stale", action="store_true",
                        help="retrain only the published models that are missing, stale or corrupt")
    parser.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    report = make_models(args.profile, args.device, args.jobs, args.threads or None, only_stale=args.only_stale)
    print(json.dumps({k: v for k, v in report.items() if k != "controls"}, indent=2))
    print(f"published under {publish.models_root(report['profile'])}")
    return 0


__all__ = ["Run", "planned_runs", "train_run", "train_all", "publish_all", "make_models", "corpus_hash",
           "evaluate_published", "MixedCorpusError", "kept_corpus_record"]
