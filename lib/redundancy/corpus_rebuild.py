"""Recording a rebuild of the published corpus made on another CPU code path.

The synthetic corpus is byte-identical only on one CPU code path (:mod:`redundancy.cpu_platform`):
built on another one, a few samples round to the other int16 neighbour, so its hash differs from
the one in the published ``index.json`` and "the rebuilt corpus is the one the models saw" cannot
be checked byte for byte there. Retraining every model for such a machine takes hours; instead this
records the rebuild under ``corpus_rebuilds`` (by platform) once every published classifier scores
on it what it scored on its training corpus, within one test clip (the published-models tests'
bound). From then on a build on that path is checked against the recorded hash, so a change of the
data is caught there too. A new ``make models`` writes a fresh index, without rebuilds.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path
from typing import Any

from . import publish
from .config import Profile, load_profile
from .cpu_platform import corpus_platform


class CorpusRebuildError(RuntimeError):
    """The corpus built here cannot stand for the published one (see the message for why)."""


def accuracy_checks(profile: Profile, corpus_root: Path, device: str = "cpu") -> list[dict[str, Any]]:
    """Every published classifier (not the controls, which keep no weights) re-scored on
    ``corpus_root``, next to its committed test accuracy."""
    from .make_models import evaluate_published, planned_runs

    checks = []
    for run in planned_runs(profile):
        if run.state == "pretrained" or run.control is not None:
            continue
        folder = publish.model_path(profile.name, run.family, run.state, run.seed, run.control)
        committed = json.loads((folder / "metrics.json").read_text())
        again = evaluate_published(folder, profile, corpus_root, device)
        checks.append({"model": run.label, "n_test": committed["n_test"], "committed": committed["accuracy"],
                       "rebuilt": again["accuracy"], "change": again["accuracy"] - committed["accuracy"]})
    return checks


def record_corpus_rebuild(profile: Profile | str, corpus_root: Path | None = None, device: str = "cpu",
                          progress: bool = True) -> dict[str, Any]:
    """Check the corpus built here (or at ``corpus_root``) against the published models and record
    it in their index; returns the entry. Raises :class:`CorpusRebuildError` when the corpus is
    the training build itself, when it was built on the training build's own code path (then the
    data changed: retrain), or when any model scores more than one clip differently on it."""
    from .corpus import build_corpus

    profile = profile if isinstance(profile, Profile) else load_profile(profile)
    index_file = publish.models_root(profile.name) / publish.INDEX_FILE
    index = publish.read_index(profile.name)
    if not index:
        raise CorpusRebuildError(f"nothing is published for the {profile.name} profile ({index_file} is missing)")
    root = Path(corpus_root) if corpus_root is not None else build_corpus(profile, progress=progress)
    actual, here = publish.corpus_hash(root), corpus_platform()
    if actual == index["corpus_hash"]:
        raise CorpusRebuildError(f"the corpus built here ({actual}) is the training build itself: nothing to record")
    if not publish.corpus_difference_explained(index.get("corpus_platform")):
        raise CorpusRebuildError(
            f"the corpus built here ({actual}) differs from the published one ({index['corpus_hash']}) on the same "
            f"CPU code path ({here}; recorded: {index.get('corpus_platform')}): the data changed, not its rounding. "
            f"`{publish.retrain_command(profile.name)}` retrains the models on it.")
    checks = accuracy_checks(profile, root, device)
    off = [c for c in checks if abs(c["change"]) > 1.0 / c["n_test"] + 1e-12]
    if off:
        raise CorpusRebuildError("on the corpus built here these published models score more than one test clip "
                                 "differently: " + ", ".join(f"{c['model']} {c['committed']:.4f} -> {c['rebuilt']:.4f}"
                                                             for c in off))
    entry = {"corpus_hash": actual, "recorded_on": datetime.date.today().isoformat(),
             "models_checked": len(checks), "max_abs_accuracy_change": max(abs(c["change"]) for c in checks),
             "clips_changed_in_accuracy": sum(round(abs(c["change"]) * c["n_test"]) for c in checks)}
    index.setdefault(publish.REBUILDS_KEY, {})[here] = entry
    index_file.write_text(json.dumps(index, indent=2, sort_keys=True))
    return entry


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "record-corpus-rebuild",
        help="record this CPU's build of the published corpus, once the published models score the same on it")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--device", default="cpu")
    parser.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    try:
        entry = record_corpus_rebuild(profile, device=args.device)
    except CorpusRebuildError as error:
        print(f"not recorded: {error}")
        return 1
    print(json.dumps({corpus_platform(): entry}, indent=2))
    print(f"recorded in {publish.models_root(profile.name) / publish.INDEX_FILE}")
    return 0


__all__ = ["CorpusRebuildError", "accuracy_checks", "record_corpus_rebuild"]
