"""Pruning sweeps: test accuracy of a fine-tuned model for every order and number of removed blocks.

For one fine-tuned model (one task, one fine-tuning seed), :func:`sweep_model`:

1. runs the full model once over validation clips (never the test clips) and derives the data-driven orders from them: ``bi``
   and ``knn-bi`` from the similarity of each block's input and output (centred, as in the
   similarity chapter), ``block-aware`` from the blocks of the k-NN map, ``greedy`` from the accuracy
   of each candidate removal on the first ``prune_greedy_clips`` of them;
2. scores every order at every depth 0 .. L-1 on the task's test clips, in batches, from cached
   block inputs (:mod:`redundancy.prune_eval`); the backward sweep costs no extra block at all.

The result is cached per model. :func:`pruning_results` aggregates the models of several seeds
into the document of ``results/<profile>/pruning.json``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import pruning
from .config import Profile, load_profile, resolve_device
from .models import load_classifier
from .prune_eval import BlockRunner, PrunedScorer, keep_freed_memory

STAGE = "pruning-sweep"
SWEEP_FILE = "sweep.json"


# --------------------------------------------------------------------------------------------
# data
def _fixed_subset(n_total: int, n: int, seed: int) -> np.ndarray:
    """A fixed random subset of ``n`` indices (all when ``n >= n_total``), in random order."""
    return np.random.default_rng(seed).permutation(n_total)[:min(n, n_total)]


def _clips(split: Any, indices: np.ndarray | None, normalize: bool, progress: bool) -> tuple[torch.Tensor, np.ndarray]:
    from .preprocess import prepare_inputs

    if indices is None:
        waveforms, labels = split.load_all(progress=progress), np.asarray(split.labels)
    else:
        waveforms = np.stack([split[int(i)][0] for i in indices]).astype(np.float32)
        labels = np.asarray(split.labels)[indices]
    return prepare_inputs(waveforms, normalize), labels


def _batches(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


# --------------------------------------------------------------------------------------------
# orders from the selection clips
def selection_orders(runner: BlockRunner, inputs: torch.Tensor, labels: np.ndarray, profile: Profile,
                     progress: bool = False) -> dict[str, Any]:
    """Block influences, k-NN blocks and the greedy order, all from selection clips."""
    from .blocks import block_structure
    from .similarity import block_numbers, similarity_matrices

    A = profile.analysis
    L = runner.n_blocks
    states = [torch.cat(parts) for parts in zip(*(runner.block_inputs(inputs[s])
                                                  for s in _batches(len(inputs), A.prune_batch_size)))]
    n = len(inputs)
    batch = min(A.batch_size, n)
    k = min(A.knn_k, batch - 1)
    sims = similarity_matrices([s.flatten(1) for s in states], ("cosine", "mutual_knn"), ks=(k,),
                               batch_size=batch)
    cos, knn = sims["cosine"], sims["mutual_knn"][k]
    adjacent_cos = [float(cos[b, b + 1]) for b in range(L)]
    adjacent_knn = [float(knn[b, b + 1]) for b in range(L)]
    test = block_structure(knn[1:, 1:]) if L >= 4 else None
    blocks = test.blocks if test is not None and test.significant else [(0, L)]
    n_greedy = min(A.prune_greedy_clips, n)
    scorers = [PrunedScorer(runner, [s[sl] for s in states]) for sl in _batches(n_greedy, A.prune_batch_size)]
    targets = [torch.as_tensor(labels[sl], device=runner.device) for sl in _batches(n_greedy, A.prune_batch_size)]

    def score(removed: tuple[int, ...]) -> tuple[float, float]:
        correct, logprob = 0.0, 0.0
        for scorer, y in zip(scorers, targets):
            scorer.retain_for(removed[:-1])
            logp = torch.log_softmax(scorer.logits(removed), -1)
            correct += float((logp.argmax(-1) == y).sum())
            logprob += float(logp.gather(1, y[:, None]).sum())
        return correct / n_greedy, logprob / n_greedy

    greedy, greedy_scores = pruning.greedy_order(L, score, progress=progress) if "greedy" in A.prune_orders \
        else ([], [])
    return {
        "n_clips": n, "n_greedy": n_greedy, "batch_size": batch, "knn_k": k,
        "adjacent_cosine": adjacent_cos, "adjacent_knn": adjacent_knn,
        "knn_map": knn[1:, 1:].tolist(),
        "blocks": [list(b) for b in block_numbers(blocks)],
        "blocks_significant": bool(test is not None and test.significant),
        "greedy": greedy, "greedy_validation": [list(s) for s in greedy_scores],
        "greedy_blocks_run": sum(s.blocks_run for s in scorers),
        "_blocks0": blocks,
    }


def all_orders(L: int, selection: Mapping[str, Any], profile: Profile) -> dict[str, list[list[int]]]:
    """Every order of the profile as a list of runs (0-based removal orders); random has several."""
    wanted = profile.analysis.prune_orders
    unknown = sorted(set(wanted) - set(pruning.ORDERS))
    if unknown:
        raise ValueError(f"unknown pruning orders {unknown}: expected some of {pruning.ORDERS}")
    makers: dict[str, Callable[[], list[list[int]]]] = {
        "forward": lambda: [pruning.forward_order(L)],
        "backward": lambda: [pruning.backward_sweep_order(L)],
        "bi": lambda: [pruning.influence_order(selection["adjacent_cosine"])],
        "knn-bi": lambda: [pruning.influence_order(selection["adjacent_knn"])],
        "random": lambda: [pruning.random_order(L, s) for s in range(profile.analysis.prune_random_orders)],
        "block-aware": lambda: [pruning.block_aware_order(selection["adjacent_knn"], selection["_blocks0"])],
        "greedy": lambda: [list(selection["greedy"])],
    }
    return {name: makers[name]() for name in pruning.ORDERS if name in wanted}


# --------------------------------------------------------------------------------------------
# the sweep of one model
def score_orders(runner: BlockRunner, inputs: torch.Tensor, labels: np.ndarray,
                 orders: Mapping[str, list[list[int]]], batch_size: int,
                 progress: bool = False) -> tuple[dict[str, list[list[int]]], dict[str, int]]:
    """Correct test predictions per order, run and depth (0 .. L-1 removed), and the work done.

    ``blocks_run``: blocks this evaluation ran (full passes included); ``blocks_rebuild``: blocks a
    rebuild-and-rerun evaluation (one pruned model per order, run and depth) would run.
    """
    from tqdm import tqdm

    L = runner.n_blocks
    correct = {name: [[0] * L for _ in runs] for name, runs in orders.items()}
    work = {"blocks_run": 0, "blocks_rebuild": 0}
    for sl in tqdm(_batches(len(inputs), batch_size), desc="pruned models", disable=not progress, unit="batch"):
        states = runner.block_inputs(inputs[sl])
        work["blocks_run"] += L
        scorer = PrunedScorer(runner, states)
        y = torch.as_tensor(labels[sl], device=runner.device)
        for name, runs in orders.items():
            for r, order in enumerate(runs):
                scorer.retain_for(())
                for m in range(L):
                    logits = scorer.backward_logits(m) if name == "backward" else scorer.logits(order[:m])
                    correct[name][r][m] += int((logits.argmax(-1) == y).sum())
                    scorer.retain_for(order[:m + 1])
                    work["blocks_rebuild"] += L - m
        work["blocks_run"] += scorer.blocks_run
    return correct, work


def sweep_model(model_path: Path | str, task: str, profile: Profile | str | None = None, *,
                corpus_root: Path, device: str = "auto", progress: bool = True) -> dict[str, Any]:
    """Every order's test accuracy at every depth for one fine-tuned model (cached)."""
    from . import cache
    from .commands import load_split
    from .publish import source_key
    from .preprocess import should_normalize

    profile = load_profile(profile) if not isinstance(profile, Profile) else profile
    device = resolve_device(device)
    A = profile.analysis
    settings = {name: getattr(A, name) for name in ("prune_orders", "prune_random_orders", "prune_select_clips",
                                                    "prune_greedy_clips", "prune_test_clips", "batch_size", "knn_k")}
    config = {"task": task, "analysis": settings,
              "speakers": [profile.corpus.speaker_min_utterances, profile.corpus.speaker_split_seed]}

    def build(out: Path) -> None:
        keep_freed_memory()
        start = time.perf_counter()
        split_kw = dict(min_utterances=profile.corpus.speaker_min_utterances,
                        seed=profile.corpus.speaker_split_seed)
        model = load_classifier(model_path)
        runner = BlockRunner(model, device)
        L = runner.n_blocks
        normalize = should_normalize(model_path)
        with torch.inference_mode():
            select = load_split(corpus_root, task, "validation", **split_kw)
            sel_x, sel_y = _clips(select, _fixed_subset(len(select), A.prune_select_clips, profile.corpus.seed),
                                  normalize, False)
            selection = selection_orders(runner, sel_x.to(device), sel_y, profile, progress)
            selection["split"] = select.split
            orders = all_orders(L, selection, profile)
            test = load_split(corpus_root, task, "test", **split_kw)
            subset = None if A.prune_test_clips is None else \
                np.sort(_fixed_subset(len(test), A.prune_test_clips, profile.corpus.seed))
            x, y = _clips(test, subset, normalize, progress)
            correct, work = score_orders(runner, x.to(device), y, orders, A.prune_batch_size, progress)
        n = len(y)
        counts = np.bincount(y, minlength=len(test.classes))
        selection.pop("_blocks0")
        result = {
            "task": task, "model": str(model_path), "n_layers": L, "n_test": int(n),
            "n_classes": len(test.classes), "chance_uniform": 1.0 / len(test.classes),
            "chance_majority": float(counts.max() / n),
            "unpruned_accuracy": correct["forward" if "forward" in correct else next(iter(correct))][0][0] / n,
            "selection": selection,
            "orders": {name: {"runs": [{"removed": pruning.to_block_numbers(order),
                                        "accuracy": [c / n for c in correct[name][r]]}
                                       for r, order in enumerate(runs)]}
                       for name, runs in orders.items()},
            "work": {**work, "greedy_blocks_run": selection["greedy_blocks_run"]},
            "seconds": time.perf_counter() - start, "device": device,
        }
        cache.atomic_write_json(out / SWEEP_FILE, result)

    folder = cache.build_artifact(STAGE, config, build, inputs=[source_key(model_path), cache.folder_key(corpus_root)])
    return cache.read_json(folder / SWEEP_FILE)


def sweep_published(profile: Profile, name: str, task: str, seed: int, device: str = "cpu") -> dict[str, Any]:
    """:func:`sweep_model` of a profile's model by name (picklable: what chapter 04 runs in worker
    processes, :mod:`redundancy.parallel`)."""
    from . import pipeline

    path = pipeline.model_dir(profile, name, task, device, seed=seed)
    return sweep_model(path, task, profile, corpus_root=pipeline.corpus_root(profile, progress=False),
                       device=device, progress=False)


def evaluate_order(model_path: Path | str, task: str, order: Sequence[int], profile: Profile | str | None = None, *,
                   corpus_root: Path, device: str = "auto") -> list[float]:
    """Test accuracy of one model for your own order (1-based block numbers, as in the paper), at
    every depth from 0 to ``len(order)`` removed blocks. Not cached: for exercises and trials."""
    from .commands import load_split
    from .preprocess import should_normalize

    profile = load_profile(profile) if not isinstance(profile, Profile) else profile
    device = resolve_device(device)
    model = load_classifier(model_path)
    runner = BlockRunner(model, device)
    zero_based = [int(b) - 1 for b in order]
    pruning._check_indices(zero_based, runner.n_blocks)
    test = load_split(corpus_root, task, "test", min_utterances=profile.corpus.speaker_min_utterances,
                      seed=profile.corpus.speaker_split_seed)
    x, y = _clips(test, None, should_normalize(model_path), False)
    keep_freed_memory()
    with torch.inference_mode():
        correct, _ = score_orders(runner, x.to(device), y, {"yours": [zero_based]}, profile.analysis.prune_batch_size)
    return [c / len(y) for c in correct["yours"][0][:len(zero_based) + 1]]


# --------------------------------------------------------------------------------------------
# aggregation over seeds, and the results file
def max_removed(relative: Sequence[float], keep: float) -> int:
    """The most blocks removable with every depth up to it keeping ``keep`` of the accuracy."""
    m = 0
    while m + 1 < len(relative) and relative[m + 1] >= keep:
        m += 1
    return m


def aggregate(sweeps: Sequence[Mapping[str, Any]], quantiles: tuple[float, float] = (0.025, 0.975)) -> dict[str, Any]:
    """One model and task over fine-tuning seeds: mean curves, bands, relative accuracy, thresholds.

    Runs are (fine-tuning seed x order run): random orders contribute several runs per seed. The
    band is the quantile range over runs (the paper: 2.5-97.5 % of 5 runs); relative accuracy
    divides each run by its own model's unpruned accuracy.
    """
    if not sweeps:
        raise ValueError("no sweeps to aggregate")
    L = {s["n_layers"] for s in sweeps}
    if len(L) != 1:
        raise ValueError(f"sweeps of different depths cannot be aggregated: {sorted(L)}")
    unpruned = [s["unpruned_accuracy"] for s in sweeps]
    out: dict[str, Any] = {
        "n_layers": L.pop(), "n_seeds": len(sweeps), "unpruned_accuracy": float(np.mean(unpruned)),
        "unpruned_accuracy_seeds": unpruned, "n_test": sweeps[0]["n_test"],
        "chance_uniform": sweeps[0]["chance_uniform"], "chance_majority": sweeps[0]["chance_majority"],
        "selection_split": sweeps[0]["selection"]["split"],
        "knn_blocks_seeds": [s["selection"]["blocks"] if s["selection"]["blocks_significant"] else None
                             for s in sweeps],
        "orders": {},
    }
    for name in sweeps[0]["orders"]:
        runs = [(run, s["unpruned_accuracy"]) for s in sweeps for run in s["orders"][name]["runs"]]
        acc = np.array([run["accuracy"] for run, _ in runs])
        rel = np.array([np.asarray(run["accuracy"]) / max(u, 1e-12) for run, u in runs])
        mean_rel = acc.mean(0) / max(float(np.mean(unpruned)), 1e-12)
        out["orders"][name] = {
            "removed": runs[0][0]["removed"],
            "removed_runs": [run["removed"] for run, _ in runs],
            "accuracy": acc.mean(0).tolist(),
            "accuracy_seeds": acc.tolist(),
            "band": np.quantile(acc, quantiles, axis=0).tolist(),
            "relative": rel.mean(0).tolist(),
            "max_removed_at_95": max_removed(mean_rel, 0.95),
            "max_removed_at_50": max_removed(mean_rel, 0.50),
        }
    return out


def pruning_results(profile_name: str, sweeps: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]]) -> dict[str, Any]:
    """The document of ``results/<profile>/pruning.json``: ``models -> model -> task -> ...``."""
    return {
        "profile": profile_name,
        "layers": ("removed: 1-based transformer-block numbers in removal order (the paper's; block 1 "
                   "is never pruned); accuracy[m]: mean test accuracy with m blocks removed, m = 0 .. L-1"),
        "thresholds": "max_removed_at_X: most blocks removed with every smaller depth keeping X of the "
                      "mean unpruned accuracy",
        "models": {model: {task: aggregate(runs) for task, runs in tasks.items()} for model, tasks in sweeps.items()},
    }
