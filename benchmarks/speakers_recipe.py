"""Which speakers schedule reaches 0.80? Candidate recipes side by side, chosen on validation.

Speakers is our extension (the authors' sister paper). With 20 epochs at each family's words-chosen
rate the published models reached 0.795 / 0.743 / 0.824 (wav2vec2 / HuBERT / WavLM) and overfit
(train loss about 0.005); the published recipe is now 30 epochs at rate 1e-3 for every family
(chapter 02). The candidates vary that recipe: backbone dropout (``FinetuneConfig.dropout``) and a
longer schedule. Each candidate fine-tunes every family's published backbone with the family's
recorded learning rate, unless the candidate sets its own, exactly the runs
``make models ONLY_STALE=1`` makes for a new speakers recipe (same cache keys), all at once in one
process per run. The recipe with the best mean *validation* accuracy over the families is
chosen; test accuracy is recorded for each but plays no part in the choice. ``--publish`` then
publishes the chosen recipe's models (``make_models.publish_all``: the same export, provenance and
test re-measurement from the stored weights); the profile's ``task_finetune`` must then be set to
the chosen recipe, or the models read as stale.

On a 2-core CPU a 30-epoch run takes about 2.3 hours (three at once). A GPU helps less than one
would hope, since these tiny models are bound by kernel launches: on one H200, nine runs side by side
took about 28 s per epoch each. Note that the corpus is byte-identical only under the pinned torch
(``--publish`` refuses another one):

    python benchmarks/speakers_recipe.py --device cuda --publish

``--epochs-scale 0.02`` shrinks every schedule for a quick check of the script itself. Writes
``results/<profile>/speakers_recipe_study.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import platform
import time
from pathlib import Path
from typing import Any

from redundancy import publish
from redundancy.config import Profile, load_profile, resolve_device
from redundancy.make_models import MixedCorpusError, Run, kept_corpus_record, publish_all, train_run
from redundancy.publish import corpus_hash

#: name -> the speakers overrides (``Profile.task_finetune`` form); one validation pass per epoch.
CANDIDATES: dict[str, tuple[tuple[str, Any], ...]] = {
    "30 epochs, lr 1e-3": (("epochs", 30.0), ("evaluations", 30), ("learning_rate", 1e-3)),
    "30 epochs, lr 1e-3, dropout 0.1": (("epochs", 30.0), ("evaluations", 30), ("learning_rate", 1e-3),
                                        ("dropout", 0.1)),
    "40 epochs, lr 1e-3": (("epochs", 40.0), ("evaluations", 40), ("learning_rate", 1e-3)),
}


def candidate_profile(profile: Profile, overrides: tuple[tuple[str, Any], ...], scale: float = 1.0) -> Profile:
    """``profile`` with ``overrides`` as its speakers recipe (``scale`` shrinks the schedule for a check)."""
    if scale != 1.0:
        values = dict(overrides)
        values["epochs"] = values["epochs"] * scale
        values["evaluations"] = max(1, round(values["evaluations"] * scale))
        overrides = tuple(values.items())
    others = tuple(item for item in profile.task_finetune if item[0] != "speakers")
    return dataclasses.replace(profile, task_finetune=others + (("speakers", overrides),))


def speakers_runs(profile: Profile) -> list[Run]:
    """The speakers runs of ``make models ONLY_STALE=1``: first seed, the published backbone, the
    family's recorded learning rate."""
    from redundancy.config import task_seeds

    seed = task_seeds(profile.finetune, "speakers")[0]
    return [Run(family, "speakers", seed, learning_rate=publish.chosen_learning_rate(profile.name, family),
                backbone=str(publish.model_path(profile.name, family, "pretrained")))
            for family in profile.model.families]


def _train_one(profile: Profile, run: Run, device: str, log: str) -> str:
    """One run in a worker, its output (the Trainer's validation lines too) to its own ``log``."""
    import os

    handle = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(handle, 1)
    os.dup2(handle, 2)
    return train_run(profile, run, device, threads=1)


def logged_validation(log: Path) -> list[float]:
    """The validation accuracies a run's log shows so far (the Trainer's ``eval_accuracy`` lines):
    the curve of a run stopped by the deadline."""
    import re

    text = log.read_text(errors="replace") if log.is_file() else ""
    return [round(float(v), 4) for v in re.findall(r"'eval_accuracy': '?([0-9.eE+-]+)", text)]


def summarise(folder: Path) -> dict[str, Any]:
    """A finished run's validation curve, best validation accuracy, test accuracy and time."""
    from redundancy.finetune import read_metrics, read_validation_curve

    metrics = read_metrics(folder)
    curve = read_validation_curve(folder)
    return {"best_validation_accuracy": max(p["accuracy"] for p in curve),
            "validation": [round(p["accuracy"], 4) for p in curve],
            "test_accuracy": metrics["accuracy"], "test_ci95": metrics.get("ci95"),
            "final_train_loss": metrics.get("final_train_loss"),
            "train_seconds": metrics.get("train_seconds")}


def choose(results: dict[str, dict[str, dict[str, Any]]], families: list[str]) -> str | None:
    """The finished candidate with the best mean validation accuracy (ties: the one listed first,
    the shorter schedule); None when none finished for every family."""
    finished = [name for name in results if all(f in results[name] for f in families)]
    if not finished:
        return None
    mean = {name: sum(results[name][f]["best_validation_accuracy"] for f in families) / len(families)
            for name in finished}
    return max(finished, key=lambda name: (mean[name], -finished.index(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--candidates", nargs="*", default=list(CANDIDATES), help="names from CANDIDATES")
    parser.add_argument("--epochs-scale", type=float, default=1.0, help="shrink every schedule (a check)")
    parser.add_argument("--deadline-s", type=float, default=0.0,
                        help="stop the runs still going after this many seconds (0: none); they are left out")
    parser.add_argument("--publish", action="store_true", help="publish the chosen recipe's models")
    parser.add_argument("--logs", default=None, help="folder for one log per run (default: in the cache)")
    args = parser.parse_args()
    unknown = [c for c in args.candidates if c not in CANDIDATES]
    if unknown:
        parser.error(f"unknown candidates {unknown}; choose from {list(CANDIDATES)}")
    device = resolve_device(args.device)
    base = load_profile(args.profile)
    from redundancy.corpus import build_corpus
    from redundancy.paths import results_dir

    started = time.perf_counter()
    root = build_corpus(base, progress=True)  # once here: the workers find it in the cache
    data_hash = corpus_hash(root)
    index = json.loads((publish.models_root(base.name) / publish.INDEX_FILE).read_text())
    try:  # the published models' own corpus, or its rebuild recorded for this CPU: models trained on it may join them
        same_corpus = bool(kept_corpus_record(base, data_hash))
    except MixedCorpusError:
        same_corpus = False
    print(f"corpus {data_hash} ({time.perf_counter() - started:.0f} s); the published models' {index['corpus_hash']}: "
          + ("same or a recorded rebuild" if same_corpus else "DIFFERENT"), flush=True)

    # the published speakers models (before --publish replaces them): the reference the candidates beat or not
    published = {}
    for family in base.model.families:
        folder = publish.model_path(base.name, family, "speakers", 0)
        published[family] = summarise(folder) | {"recipe": base.task_changes("speakers", family),
                                                 "device": publish.read_provenance(folder)["device"]}
    profiles = {name: candidate_profile(base, CANDIDATES[name], args.epochs_scale) for name in args.candidates}
    jobs = [(name, run) for name in args.candidates for run in speakers_runs(base)]
    families = list(base.model.families)
    results: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in args.candidates}
    folders: dict[str, dict[Run, Path]] = {name: {} for name in args.candidates}
    from redundancy.paths import cache_root

    logs = Path(args.logs) if args.logs else cache_root() / "speakers_recipe_logs"
    logs.mkdir(parents=True, exist_ok=True)

    def log_of(name: str, run: Run) -> Path:
        return logs / f"{name.replace(' ', '').replace(',', '_')}-{run.family}.log"

    pool = multiprocessing.get_context("spawn").Pool(len(jobs))
    pending = {(name, run): pool.apply_async(_train_one, (profiles[name], run, device, str(log_of(name, run))))
               for name, run in jobs}
    stopped: dict[str, dict[str, list[float]]] = {}
    train_start = time.perf_counter()
    while pending:
        for key in [k for k, r in pending.items() if r.ready()]:
            name, run = key
            folder = Path(pending.pop(key).get())
            folders[name][run] = folder
            results[name][run.family] = summarise(folder)
            r = results[name][run.family]
            print(f"[{time.perf_counter() - train_start:5.0f} s] {name:24s} {run.family:9s} best validation "
                  f"{r['best_validation_accuracy']:.3f}, test {r['test_accuracy']:.3f}", flush=True)
        if args.deadline_s and time.perf_counter() - train_start > args.deadline_s and pending:
            for name, run in pending:
                stopped.setdefault(name, {})[run.family] = logged_validation(log_of(name, run))
            print("deadline: stopped (validation so far)", json.dumps(stopped), flush=True)
            pool.terminate()
            break
        time.sleep(2)
    else:
        pool.close()
    pool.join()

    chosen = choose(results, families)
    import torch

    record = {
        "profile": base.name, "task": "speakers", "device": device,
        "device_name": torch.cuda.get_device_name() if device.startswith("cuda") else platform.processor(),
        "epochs_scale": args.epochs_scale, "corpus_hash": data_hash, "same_corpus_as_published": same_corpus,
        "learning_rates": {run.family: run.learning_rate for run in speakers_runs(base)},
        "candidates": {name: dict(CANDIDATES[name]) for name in args.candidates},
        "published_before": published, "results": results, "stopped_at_deadline": stopped,
        "deadline_s": args.deadline_s, "chosen_by": "mean best validation accuracy over the families", "chosen": chosen,
        "versions": publish.package_versions(), "seconds": round(time.perf_counter() - started, 1),
    }
    out = results_dir(base.name) / "speakers_recipe_study.json"
    out.write_text(json.dumps(record, indent=2))
    print("wrote", out, "; chosen:", chosen, flush=True)
    if args.publish and chosen is not None:
        if not same_corpus:
            raise SystemExit("not publishing: this corpus differs from the one the published backbones saw")
        report = publish_all(profiles[chosen], folders[chosen], device, jobs=1)
        from redundancy.baselines import write_baselines

        write_baselines(report)
        print("published", chosen, "recipe hash", publish.task_set_hash(profiles[chosen], "speakers"), flush=True)


if __name__ == "__main__":
    main()
