"""The scorecard: each claim of the paper, its number, this run's number and a verdict by a stated rule.

The paper's numbers are constants cited by section or table (PAPER.md); this run's numbers are read
from ``results/<profile>/*.json`` and never typed in. A claim whose results file does not exist yet
is "not yet measured". A fine-tuned model that is not ``strong`` on the words (:mod:`redundancy.quality`:
below ``STRONG_ACCURACY``) is flagged and never counts as support for a claim about redundancy: pruning or mimicking a
model that does not work says nothing about a transformer stack that does.

Verdicts aggregate one pass/fail check per model (or per real architecture):
all pass -> ``holds``, some -> ``partly``, none -> ``does not hold``; no usable model ->
``not testable in this profile``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import quality
from .commands import WORDS

HOLDS = "holds"
PARTLY = "partly"
FAILS = "does not hold"
NOT_TESTABLE = "not testable in this profile"
NOT_MEASURED = "not yet measured"
VERDICTS = (HOLDS, PARTLY, FAILS, NOT_TESTABLE, NOT_MEASURED)

TASK = "words"  # the paper's only task; speakers is this book's extension and is not scored
WORDS_CLASSES = len(WORDS)
BLOCK_MIN_LAYERS = 2  # a "main block" spans at least this many transformer layers
PRUNE_FRACTION_AT_95 = 0.25  # the paper's lower end: BI / kNN-BI prune 25-42 % at 95 % (§3.2)
PAPER_ORDERS = ("bi", "knn-bi")
SIZE_REDUCTION_MIN = 0.94  # the paper's smallest mimickers: 94.9 % (base) .. 98.4 % (large)
TIME_REDUCTION_MIN = 0.80  # the paper's smallest mimickers save 87-94 % of the time, on a GPU
RELATIVE_ACCURACY_MIN = 0.95  # "most mimickers keep > 95 % of the original accuracy" (Tables 1-4)

CLAIMS: dict[str, str] = {
    "C1": "Layer similarity shows a block-like structure: two main blocks.",
    "C2": "Pruning without post-training removes up to 40 % of the layers keeping over 95 % of the accuracy.",
    "C3": "Mimicking layers cut the network size by 95-98 %.",
    "C4": "Mimicking layers cut the inference time by up to 94 %.",
    "C5": "Mimicking layers keep the performance (most keep over 95 % of the accuracy).",
}

PAPER: dict[str, str] = {
    "C1": "two main blocks in every fine-tuned model; the first holds about 2/3 to 3/4 of the layers, "
          "the second the last 4-5 (§3.1, Fig. 1)",
    "C2": "25-42 % of the layers removable at 95 % of the accuracy with the BI or kNN-BI order "
          "(§3.2, Fig. 2; abstract: up to 40 %)",
    "C3": "smallest mimicker (1 linear layer, z = 32): -94.9 % parameters for the base, -98.4 % for the "
          "large models (Tables 1-4)",
    "C4": "smallest mimicker's normalised time 0.064-0.13, i.e. -87 % to -94 % (Tables 1-4, GPU)",
    "C5": "most mimickers keep over 95 % of the original accuracy; wavLM-large over 90 % only; "
          "the head on the CNN features alone: 79 % (Tables 1-4, §3.3)",
}

RULES: dict[str, str] = {
    "C1": f"per usable fine-tuned words model, in the CKA map over the transformer layers: exactly two blocks "
          f"of at least {BLOCK_MIN_LAYERS} layers, the first holding between min(2L/3, L-5) and 3L/4 of the L "
          "layers (the paper's shape), passes; two blocks of other sizes count as partial; all models pass: "
          "holds, some pass or partial: partly, none: does not hold",
    "C2": f"per usable words model: the best of the orders {', '.join(PAPER_ORDERS)} removes at least "
          f"{PRUNE_FRACTION_AT_95:.0%} of the layers while keeping 95 % of the accuracy (mean over seeds); "
          "all models: holds, some: partly, none: does not hold",
    "C3": f"per real architecture (random weights: size does not depend on them): the smallest mimicker "
          f"removes at least {SIZE_REDUCTION_MIN:.0%} of the parameters; all: holds, some: partly, none: does "
          "not hold. The mini models' reduction is reported, not scored (their CNN is a larger share)",
    "C4": f"per real architecture: the smallest mimicker saves at least {TIME_REDUCTION_MIN:.0%} of the "
          "per-clip time of the full model (GPU results when present, else this CPU); all: holds, some: "
          "partly, none: does not hold",
    "C5": f"per usable words model: the best mimicker keeps at least {RELATIVE_ACCURACY_MIN:.0%} of the full "
          "model's accuracy; all models: holds, some: partly, none: does not hold",
}


@dataclass
class Evidence:
    """Per-model (or per-architecture) checks behind one verdict, and what was left out and why."""

    passed: dict[str, bool] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)  # failed the check but met part of it (C1: two blocks)
    numbers: dict[str, str] = field(default_factory=dict)
    flagged: dict[str, str] = field(default_factory=dict)
    real: dict[str, str] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)  # the scored number per model or architecture
    mini_values: dict[str, float] = field(default_factory=dict)  # C3, C4: the mini models, not scored


def aggregate(passed: dict[str, bool], partial: set[str] | None = None) -> str:
    """All pass: holds; some pass (or partly pass): partly; none: does not hold; nothing: not testable."""
    if not passed:
        return NOT_TESTABLE
    hits = sum(passed.values())
    if hits == len(passed):
        return HOLDS
    return PARTLY if hits or partial else FAILS


def paper_like_first_block(first: int, n_layers: int) -> bool:
    """The paper's §3.1 shape: the first block holds 2/3 to 3/4 of the layers (the second the last 4-5)."""
    return min(2 * n_layers / 3, n_layers - 5) <= first <= 3 * n_layers / 4


def load_results(results: Path) -> dict[str, Any]:
    """The JSON files of one results folder by stem (``baselines``, ``pruning`` ...); absent ones omitted."""
    results = Path(results)
    if not results.is_dir():
        raise FileNotFoundError(f"no results folder {results}")
    return {path.stem: json.loads(path.read_text()) for path in sorted(results.glob("*.json"))
            if path.stem != "scorecard"}


def _mean_accuracy(entry: dict[str, Any]) -> float | None:
    """``accuracy``, else the mean of per-seed accuracies (multi-seed baselines)."""
    if "accuracy" in entry and entry["accuracy"] is not None:
        return float(entry["accuracy"])
    seeds = entry.get("seeds")
    if isinstance(seeds, dict):
        seeds = list(seeds.values())
    values = [s["accuracy"] if isinstance(s, dict) else s for s in seeds or []]
    return sum(values) / len(values) if values else None


def task_accuracy(results: dict[str, Any]) -> dict[str, float]:
    """Words test accuracy of each fine-tuned model from ``baselines.json`` (empty when absent)."""
    models = results.get("baselines", {}).get("models", {})
    out = {}
    for model, tasks in models.items():
        if TASK in tasks:
            acc = _mean_accuracy(tasks[TASK])
            if acc is not None:
                out[model] = acc
    return out


def usable_models(results: dict[str, Any], models: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split models into those that did their task and those flagged (with the reason)."""
    accuracy = task_accuracy(results)
    usable, flagged = [], {}
    for model in models:
        acc = accuracy.get(model)
        if acc is None:
            flagged[model] = "no baseline accuracy"
        elif quality.model_quality(acc, WORDS_CLASSES) != "strong":
            flagged[model] = "words " + quality.quality_note(acc, WORDS_CLASSES)
        else:
            usable.append(model)
    return usable, flagged


def main_blocks(blocks: list[list[int]], min_layers: int = BLOCK_MIN_LAYERS) -> list[tuple[int, int]]:
    """Blocks ``[start, end)`` over transformer layers 1..L that span at least ``min_layers`` layers."""
    out = []
    for start, end in blocks:
        start = max(start, 1)  # layer 0 is the feature projection, not a transformer block
        if end - start >= min_layers:
            out.append((start, end))
    return out


def cka_blocks(entry: dict[str, Any]) -> tuple[list[tuple[int, int]], bool]:
    """The CKA blocks of one similarity entry as ``[start, stop)`` over transformer layers 1..L.

    Two forms of ``similarity.json`` are read: with ``block_tests`` (a block rule with a null, which
    can say "no block structure": its blocks are ``[start, stop)`` over the transformer blocks, 0-based),
    or the earlier ``blocks`` over layers 0..L (0 = the feature projection). Returns the blocks and
    whether a block structure was found at all.
    """
    test = entry.get("block_tests", {}).get("cka")
    if test is not None:
        if not test.get("significant", False):
            return [], False
        return [(int(a) + 1, int(b) + 1) for a, b in test["blocks"]], True
    blocks = main_blocks(entry["blocks"]["cka"])
    return blocks, bool(blocks)


def _words_models(results: dict[str, Any], source: str) -> tuple[dict[str, Any], list[str], dict[str, str]] | None:
    """The results file ``source`` with its words models split into usable and flagged ones (None:
    no such results)."""
    doc = results.get(source)
    if doc is None:
        return None
    return doc, *usable_models(results, [m for m, tasks in doc["models"].items() if TASK in tasks])


def _check_c1(results: dict[str, Any]) -> Evidence | None:
    if (words := _words_models(results, "similarity")) is None:
        return None
    similarity, usable, flagged = words
    ev = Evidence(flagged=flagged)
    for model in usable:
        blocks, found = cka_blocks(similarity["models"][model][TASK])
        blocks = [(a, b) for a, b in blocks if b - a >= BLOCK_MIN_LAYERS]
        n_layers = len(similarity["models"][model][TASK]["metrics"]["cka"]) - 1
        two = len(blocks) == 2
        ev.passed[model] = two and paper_like_first_block(blocks[0][1] - blocks[0][0], n_layers)
        if two and not ev.passed[model]:
            ev.partial.add(model)
        ev.values[model] = len(blocks)
        if not found:
            ev.numbers[model] = "no block structure"
            continue
        sizes = ", ".join(f"{a}-{b - 1}" for a, b in blocks) or "none"
        first = f", first block {(blocks[0][1] - blocks[0][0]) / n_layers:.0%} of the layers" if blocks else ""
        ev.numbers[model] = f"{len(blocks)} main block(s) ({sizes}{first})"
    return ev


def _check_c2(results: dict[str, Any]) -> Evidence | None:
    if (words := _words_models(results, "pruning")) is None:
        return None
    pruning, usable, flagged = words
    ev = Evidence(flagged=flagged)
    for model in usable:
        entry = pruning["models"][model][TASK]
        orders = {o: entry["orders"][o]["max_removed_at_95"] for o in PAPER_ORDERS if o in entry["orders"]}
        if not orders:
            flagged[model] = f"none of the orders {PAPER_ORDERS} was run"
            continue
        best = max(orders, key=orders.get)
        fraction = orders[best] / entry["n_layers"]
        ev.passed[model] = fraction >= PRUNE_FRACTION_AT_95
        ev.values[model] = fraction
        ev.numbers[model] = f"{orders[best]}/{entry['n_layers']} layers ({fraction:.0%}) by {best}"
    return ev


def _mimickers(results: dict[str, Any], model: str) -> list[dict[str, Any]]:
    rows = results["mimicking"]["models"].get(model, {}).get(TASK, [])
    return [r for r in rows if r.get("network") == "mimicker" and _is_mimicker(r)]


def _smallest(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return min(rows, key=lambda r: r["params"])


def _is_mimicker(row: dict[str, Any]) -> bool:
    """A row of a mimicking network (not the head-only control, whose type is ``none``)."""
    return row.get("type") not in (None, "none") and int(row.get("layers", 1)) >= 1


def _real_architecture_rows(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Smallest mimicker per real architecture: size and time reduction, with their source.

    Time: a GPU measurement (``results/gpu/mimicking_real.json`` or ``timing.json``) wins over CPU.
    """
    out: dict[str, dict[str, Any]] = {}
    for source in ("mimicking", "gpu_mimicking"):
        for name, rows in results.get(source, {}).get("real_architectures", {}).items():
            rows = [r for r in rows if _is_mimicker(r) and r.get("params") and r.get("params_full")]
            if not rows:
                continue
            row = _smallest(rows)
            label = f"{row['type']}, {row['layers']} layer(s), z = {row['z']}"
            entry = out.setdefault(name, {"size_reduction": 1 - row["params"] / row["params_full"],
                                          "time_reduction": None, "source": f"mimicking.json ({label})"})
            for device in ("gpu", "cpu"):
                time = row.get(f"time_normalised_{device}")
                if time is not None and (entry["time_reduction"] is None or device == "gpu"):
                    entry.update(time_reduction=1 - time, time_on_gpu=device == "gpu",
                                 time_source=f"{source.replace('gpu_', '')}.json ({label}, {device})")
                    break
    for source in ("timing", "gpu_timing"):
        timing = results.get(source)
        if not timing:
            continue
        width = timing.get("meta", {}).get("mimic_hidden")
        device = timing.get("meta", {}).get("device", "cpu")
        for name, row in timing.get("architectures", {}).items():
            if row.get("kind") != "real" or "size_reduction_mimic" not in row:
                continue
            entry = out.setdefault(name, {"size_reduction": row["size_reduction_mimic"], "time_reduction": None,
                                          "source": f"timing.json (mimic width {width})"})
            on_gpu = device != "cpu"
            if row.get("time_reduction_mimic") is not None and (
                    entry["time_reduction"] is None or (on_gpu and not entry.get("time_on_gpu"))):
                entry.update(time_reduction=row["time_reduction_mimic"], time_on_gpu=on_gpu,
                             time_source=f"{source.replace('gpu_', '')}.json ({device}, mimic width {width})")
    return out


def _mini_rows(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Smallest mimicker per mini model: size and time reduction (mimicking.json, else timing.json)."""
    out: dict[str, dict[str, Any]] = {}
    if "mimicking" in results:
        for model in results["mimicking"]["models"]:
            rows = _mimickers(results, model)
            if rows:
                row = _smallest(rows)
                time = row.get("time_normalised")
                out[model] = {"size_reduction": 1 - row["params"] / row["params_full"],
                              "time_reduction": None if time is None else 1 - time,
                              "source": f"{row['type']}, {row['layers']} layer(s), z = {row['z']}"}
        return out
    timing = results.get("timing", {})
    width = timing.get("meta", {}).get("mimic_hidden")
    for name, row in timing.get("architectures", {}).items():
        if row.get("kind") == "mini" and "size_reduction_mimic" in row:
            out[name] = {"size_reduction": row["size_reduction_mimic"], "time_reduction": row.get("time_reduction_mimic"),
                         "source": f"timing.json, mimic width {width}"}
    return out


def _check_cost(results: dict[str, Any], key: str, minimum: float) -> Evidence | None:
    """C3 (size) and C4 (time): verdict on the real architectures, the mini models reported beside."""
    real = {n: r for n, r in _real_architecture_rows(results).items() if r.get(key) is not None}
    if not real:
        return None
    ev = Evidence()
    for name, row in real.items():
        ev.passed[name] = row[key] >= minimum
        ev.values[name] = row[key]
        source = row.get("time_source", row["source"]) if key == "time_reduction" else row["source"]
        ev.real[name] = f"-{row[key]:.1%} ({source})"
    for name, row in _mini_rows(results).items():
        if row.get(key) is not None:
            ev.numbers[name] = f"-{row[key]:.1%} ({row['source']})"
            ev.mini_values[name] = row[key]
    return ev


def _check_c3(results: dict[str, Any]) -> Evidence | None:
    return _check_cost(results, "size_reduction", SIZE_REDUCTION_MIN)


def _check_c4(results: dict[str, Any]) -> Evidence | None:
    return _check_cost(results, "time_reduction", TIME_REDUCTION_MIN)


def _check_c5(results: dict[str, Any]) -> Evidence | None:
    if "mimicking" not in results:
        return None
    models = [m for m in results["mimicking"]["models"] if _mimickers(results, m)]
    usable, flagged = usable_models(results, models)
    ev = Evidence(flagged=flagged)
    for model in usable:
        best = max(_mimickers(results, model), key=lambda r: r["relative_accuracy"])
        ev.passed[model] = best["relative_accuracy"] >= RELATIVE_ACCURACY_MIN
        ev.values[model] = best["relative_accuracy"]
        ev.numbers[model] = (f"{best['relative_accuracy']:.0%} of the full model "
                             f"({best['type']}, {best['layers']} layer(s), z = {best['z']})")
    return ev


CHECKS: dict[str, Callable[[dict[str, Any]], Evidence | None]] = {
    "C1": _check_c1, "C2": _check_c2, "C3": _check_c3, "C4": _check_c4, "C5": _check_c5,
}
SOURCES = {"C1": "similarity.json", "C2": "pruning.json", "C3": "mimicking.json or timing.json",
           "C4": "mimicking.json or timing.json", "C5": "mimicking.json"}


PAPER_SHORT: dict[str, str] = {
    "C1": "two main blocks; the first 2/3-3/4 of the layers (§3.1)",
    "C2": "25-42 % of the layers at 95 % accuracy (§3.2, Fig. 2)",
    "C3": "-94.9 % to -98.4 % parameters (Tables 1-4)",
    "C4": "-87 % to -94 % time, GPU (Tables 1-4)",
    "C5": "most keep > 95 %; head alone 79 % (Tables 1-4)",
}


def _span(values: list[float], fmt: str) -> str:
    low, high = min(values), max(values)
    return fmt.format(low) if fmt.format(low) == fmt.format(high) else f"{fmt.format(low)} to {fmt.format(high)}"


def summarise(claim: str, ev: Evidence) -> str:
    """One short line for the landing page: the range of this run's numbers and how many passed."""
    values = list(ev.values.values())
    passes = f"{sum(ev.passed.values())} of {len(ev.passed)} pass"
    flagged = f"; {len(ev.flagged)} model(s) flagged" if ev.flagged else ""
    if not values:
        return "no usable model" + flagged
    if claim == "C1":
        text = (f"{sum(ev.passed.values())} of {len(ev.passed)} usable models show the paper's two blocks"
                + (f", {len(ev.partial)} two blocks of other sizes" if ev.partial else ""))
        return text + flagged
    if claim in ("C3", "C4"):
        what = "parameters" if claim == "C3" else "time (" + ("GPU" if any("cuda" in r or "gpu" in r for r in ev.real.values())
                                                              else "CPU") + ")"
        text = f"real architectures {_span(values, '-{:.1%}')} {what}, {passes}"
        if ev.mini_values:
            text += f"; mini models {_span(list(ev.mini_values.values()), '-{:.1%}')}"
        return text
    if claim == "C2":
        return f"{_span(values, '{:.0%}')} of the layers at 95 %, {passes}" + flagged
    return f"best mimicker keeps {_span(values, '{:.0%}')}, {passes}" + flagged


def _describe(numbers: dict[str, str], flagged: dict[str, str] | None = None) -> str:
    parts = [f"{name}: {text}" for name, text in numbers.items()]
    parts += [f"{name}: flagged, {why}" for name, why in (flagged or {}).items()]
    return "; ".join(parts) or "-"


def scorecard(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Claim id -> {claim, paper, this_run, verdict, rule, passed, flagged[, real_architectures]}."""
    card = {}
    for claim, check in CHECKS.items():
        ev = check(results)
        row: dict[str, Any] = {"claim": CLAIMS[claim], "paper": PAPER[claim]}
        if ev is None:
            row.update(this_run=f"not yet measured ({SOURCES[claim]} absent)", summary="not yet measured",
                       verdict=NOT_MEASURED, passed={},
                       flagged={})
        else:
            judged = (f"judged on {len(ev.passed)} of {len(ev.passed) + len(ev.flagged)} models; "
                      if ev.flagged else "")
            row.update(this_run=judged + _describe(ev.numbers, ev.flagged), summary=summarise(claim, ev),
                       verdict=aggregate(ev.passed, ev.partial),
                       passed=ev.passed, flagged=ev.flagged)
            if claim in ("C3", "C4"):
                row["real_architectures"] = _describe(ev.real)
        row["rule"] = RULES[claim]
        card[claim] = row
    return card


def scorecard_from_folder(results: Path, gpu_results: Path | None = None) -> dict[str, dict[str, Any]]:
    """The scorecard of one results folder (``results/<profile>``), GPU timing added when present."""
    loaded = load_results(results)
    for name, key in (("timing.json", "gpu_timing"), ("mimicking_real.json", "gpu_mimicking")):
        if gpu_results is not None and (Path(gpu_results) / name).is_file():
            loaded[key] = json.loads((Path(gpu_results) / name).read_text())
    return scorecard(loaded)


def scorecard_table(card: dict[str, dict[str, Any]]) -> Any:
    """A pandas table, one row per claim: claim, paper, this run, verdict."""
    import pandas as pd

    return pd.DataFrame([{"claim": f"{cid}: {row['claim']}", "paper": row["paper"], "this run": row["this_run"],
                          "real architectures": row.get("real_architectures", ""), "verdict": row["verdict"]}
                         for cid, row in card.items()]).set_index("claim")


def claims_markdown(card: dict[str, dict[str, Any]]) -> str:
    """Every claim in full: the paper, this run per model, real architectures, rule and verdict."""
    parts = []
    for cid, row in card.items():
        lines = [f"**{cid}: {row['claim']}** Verdict: **{row['verdict']}**.", "",
                 f"- *paper*: {row['paper']}", f"- *this run*: {row['this_run']}"]
        if row.get("real_architectures"):
            lines.append(f"- *real architectures*: {row['real_architectures']}")
        lines.append(f"- *rule*: {row['rule']}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def markdown_table(card: dict[str, dict[str, Any]]) -> str:
    """The scorecard as a short Markdown table for the landing page (details: the scorecard chapter)."""
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| claim | paper | this run | verdict |", "|---|---|---|---|"]
    for cid, row in card.items():
        lines.append(f"| **{cid}** {cell(row['claim'])} | {cell(PAPER_SHORT[cid])} | {cell(row['summary'])} "
                     f"| **{row['verdict']}** |")
    return "\n".join(lines) + "\n"
