"""The fine-tuned baselines of a profile, read from its published models (``make models``).

Later chapters measure pruning and mimicking against these numbers. ``results/<profile>/baselines.json``
keeps them: ``models`` -> model -> task -> {``accuracy`` (mean over the fine-tuning seeds), ``ci95``
(bootstrap interval of seed 0), ``n_test``, ``n_classes``, ``seeds`` (per-seed accuracies), ...}, and
``controls`` -> model -> control (random init, CNN frozen or trained) -> the same fields.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .cache import atomic_write_json
from .config import Profile, load_profile, task_seeds
from .paths import results_dir

KEPT = ("accuracy", "ci95", "n_test", "n_classes", "chance_uniform", "chance_majority",
        "train_seconds", "train_steps", "n_train", "best_validation_accuracy")


def baselines_report(profile: Profile) -> dict[str, Any]:
    """``baselines.json`` from the published folders: per model and task the mean over seeds with
    the seed-0 interval, the per-seed accuracies, and the controls."""
    from . import publish

    report: dict[str, Any] = {"profile": profile.name, "recipe_hash": publish.recipe_hash(profile),
                              "models": {}, "controls": {}}
    seeds = task_seeds(profile.finetune, "words")
    for family in (profile.model.hub_names or profile.model.families):
        for task in profile.finetune.tasks:
            per_seed = []
            first = None
            for seed in task_seeds(profile.finetune, task):
                path = publish.model_path(profile.name, family, task, seed) / "metrics.json"
                if path.is_file():
                    m = json.loads(path.read_text())
                    per_seed.append(m["accuracy"])
                    first = first or m
            if first is None:
                continue
            entry = {k: first[k] for k in KEPT if k in first}
            entry.update(accuracy=float(sum(per_seed) / len(per_seed)), ci95_seed0=first["ci95"],
                         seeds=per_seed, seed_ids=list(task_seeds(profile.finetune, task)[:len(per_seed)]),
                         seed_spread=float(max(per_seed) - min(per_seed)))
            report["models"].setdefault(family, {})[task] = entry
        for control in publish.CONTROLS:
            path = publish.model_path(profile.name, family, "words", seeds[0], control) / "metrics.json"
            if path.is_file():
                m = json.loads(path.read_text())
                report["controls"].setdefault(family, {})[control] = {k: m[k] for k in KEPT if k in m}
    return report


def published_report(profile: Profile | str | None = None) -> dict[str, Any]:
    """The baselines of every published model of a profile, each folder checked first (recipe and
    weights hash); ``report["folders"]`` maps ``family/folder`` to the published folder."""
    from . import publish
    from .make_models import planned_runs

    profile = profile if isinstance(profile, Profile) else load_profile(profile)
    folders = {}
    for run in planned_runs(profile):
        if run.state == "pretrained":
            continue
        folder = publish.model_path(profile.name, run.family, run.state, run.seed, run.control)
        publish.check_published(folder, profile)
        folders[run.label] = str(folder)
    report = baselines_report(profile)
    report["folders"] = folders
    report["pretraining_margins"] = pretraining_margins(folders)
    return report


def write_baselines(report: dict[str, Any]) -> Path:
    """Write ``results/<profile>/baselines.json`` (folders left out: they are machine-local)."""
    path = results_dir(report["profile"]) / "baselines.json"
    atomic_write_json(path, {k: v for k, v in report.items() if k != "folders"})
    return path


def baselines_table(report: dict[str, Any]):
    """One row per model x task (mean over seeds, spread; ``ci95`` is the bootstrap interval of the
    seed-0 model, around its ``seed 0`` accuracy) and per control."""
    import pandas as pd

    rows = []
    for name, tasks in report["models"].items():
        for task, m in tasks.items():
            rows.append({"model": name, "init": "pre-trained", "task": task, "accuracy": m["accuracy"],
                         "seed 0": m.get("seeds", [m["accuracy"]])[0],
                         "seeds": len(m.get("seeds", [m["accuracy"]])),
                         "min seed": min(m.get("seeds", [m["accuracy"]])),
                         "max seed": max(m.get("seeds", [m["accuracy"]])),
                         "ci95 low": m["ci95"][0], "ci95 high": m["ci95"][1],
                         "chance": m["chance_uniform"], "classes": m["n_classes"], "test clips": m["n_test"],
                         "train s": m.get("train_seconds", np.nan)})
    for name, controls in report.get("controls", {}).items():
        for control, m in controls.items():
            rows.append({"model": name, "init": control, "task": "words", "accuracy": m["accuracy"],
                         "seed 0": m["accuracy"], "seeds": 1, "min seed": m["accuracy"], "max seed": m["accuracy"],
                         "ci95 low": m["ci95"][0], "ci95 high": m["ci95"][1],
                         "chance": m["chance_uniform"], "classes": m["n_classes"], "test clips": m["n_test"],
                         "train s": m.get("train_seconds", np.nan)})
    return pd.DataFrame(rows).sort_values(["task", "model", "init"]).reset_index(drop=True)


def training_curves(report: dict[str, Any]) -> dict[str, dict[str, list[dict[str, float]]]]:
    """Per folder label: the training-loss ``curve`` and the ``validation`` evaluations."""
    curves = {}
    for label, folder in report["folders"].items():
        log = json.loads((Path(folder) / "train_log.json").read_text())
        curves[label] = {"curve": log["curve"], "validation": log.get("validation", [])}
    return curves


def paired_prediction_difference(predictions: np.ndarray, other_predictions: np.ndarray, labels: np.ndarray,
                                 n_boot: int = 1000) -> tuple[float, float, float, float, float]:
    """Accuracy of two models' predictions on the same test clips and their difference (first -
    other) with a paired bootstrap 95 % interval: the clips are resampled together.
    Returns (accuracy, other's accuracy, difference, low, high)."""
    from .stats import bootstrap_mean_ci

    predictions, other_predictions, labels = (np.asarray(x) for x in (predictions, other_predictions, labels))
    if not predictions.shape == other_predictions.shape == labels.shape:
        raise ValueError(f"predictions {predictions.shape}, {other_predictions.shape} and labels {labels.shape} "
                         "must be of the same test clips")
    correct, other_correct = ((p == labels).astype(np.float64) for p in (predictions, other_predictions))
    low, high = bootstrap_mean_ci(correct - other_correct, n_boot=n_boot)
    return float(correct.mean()), float(other_correct.mean()), float((correct - other_correct).mean()), low, high


def paired_accuracy_difference(folder: str | Path, other: str | Path,
                               n_boot: int = 1000) -> tuple[float, float, float, float, float]:
    """Test accuracy of two fine-tuned models and their difference (``folder`` - ``other``) with a
    paired bootstrap 95 % interval (:func:`paired_prediction_difference`).
    Returns (accuracy, other's accuracy, difference, low, high)."""
    a, b = (np.load(Path(f) / "test_predictions.npz") for f in (folder, other))
    if not np.array_equal(a["labels"], b["labels"]):
        raise ValueError(f"{folder} and {other} were tested on different clips")
    return paired_prediction_difference(a["predictions"], b["predictions"], a["labels"], n_boot)


def paired_against_recorded(folder: str | Path, recorded: dict[str, Any],
                            n_boot: int = 1000) -> tuple[float, float, float, float, float]:
    """A fine-tuned model against an earlier model whose test predictions were recorded
    (``recorded["test_predictions"]`` and ``["test_labels"]``, as speakers_recipe_history.py keeps
    them once its weights are replaced): (accuracy, earlier accuracy, difference, low, high)."""
    current = np.load(Path(folder) / "test_predictions.npz")
    if "test_predictions" not in recorded:
        raise ValueError("this record has no test predictions to pair with (recorded before they were kept)")
    if not np.array_equal(current["labels"], np.asarray(recorded["test_labels"])):
        raise ValueError(f"{folder} and the recorded model were tested on different clips")
    return paired_prediction_difference(current["predictions"], recorded["test_predictions"], current["labels"],
                                        n_boot)


def recorded_family_recipe(entry: dict[str, Any], family: str) -> dict[str, Any]:
    """The speakers recipe ``family`` had in one recorded set (an entry of speakers_recipe_history.json):
    its own, where the set held a recipe per family, else the set's shared one."""
    own = entry["families"].get(family, {}).get("recipe")
    if own is None and "recipe" not in entry:
        raise KeyError(f"the recorded set {entry.get('recipe_hash')} has no recipe for {family}")
    return own if own is not None else entry["recipe"]


def recorded_set_differences(history: list[dict[str, Any]], folders: dict[str, str],
                             n_boot: int = 1000) -> pd.DataFrame:
    """Today's published speakers models against each earlier set in ``history`` (entries of
    speakers_recipe_history.json) on the same test clips: per earlier recipe and family, both test
    accuracies and the paired difference with its 95 % interval. Families without recorded
    predictions, or not published today, are left out. ``folders``: ``published_report(...)["folders"]``."""
    import pandas as pd

    rows = []
    for earlier in history:
        for family, record in earlier["families"].items():
            folder = folders.get(f"{family}/speakers-seed0")
            if folder is None or "test_predictions" not in record:
                continue
            now, before, diff, low, high = paired_against_recorded(folder, record, n_boot)
            rows.append({"earlier recipe": recipe_label(recorded_family_recipe(earlier, family)), "family": family,
                         "earlier test": before, "published test": now,
                         "difference [95 % CI]": f"{diff:+.3f} [{low:+.3f}, {high:+.3f}]"})
    return pd.DataFrame(rows)


def pretraining_margins(folders: dict[str, str], n_boot: int = 1000) -> list[dict[str, Any]]:
    """What pre-training is worth on words: per family and control, the seed-0 pre-trained model's
    test accuracy minus the control's, with a paired bootstrap 95 % interval (both models saw the
    same test clips, so the clips are resampled together).

    ``folders`` maps ``family/folder`` (``published_report(...)["folders"]``) to published folders.
    """
    from . import publish

    rows = []
    for label in folders:
        family, name = label.split("/", 1)
        if name != publish.folder_name("words", 0):
            continue
        for control in publish.CONTROLS:
            other = folders.get(f"{family}/{publish.folder_name('words', 0, control)}")
            if other is None:
                continue
            pre, ctrl, margin, low, high = paired_accuracy_difference(folders[label], other, n_boot)
            rows.append({"model": family, "control": control, "pre-trained": pre, "control accuracy": ctrl,
                         "margin": margin, "margin ci95": [low, high], "clearly above": bool(low > 0)})
    return rows


def margin_sentence(row: dict[str, Any]) -> str:
    """One row of :func:`pretraining_margins` in words: above, below or indistinguishable from the
    control, by whether the 95 % interval of the margin excludes zero."""
    low, high = row["margin ci95"]
    verdict = "above" if low > 0 else "below" if high < 0 else "indistinguishable from"
    return (f"{row['model']}: pre-trained {row['pre-trained']:.3f} is {verdict} its {row['control']} control "
            f"({row['control accuracy']:.3f}): margin {row['margin']:+.3f} [{low:+.3f}, {high:+.3f}]")


def convergence_table(curves: dict[str, dict[str, list[dict[str, float]]]], rising: float = 0.02):
    """Per run: where validation accuracy peaked, and whether it was still rising at the end.

    ``still rising`` means the last validation pass gained more than ``rising`` over the one before:
    such a run stopped before converging, and more epochs would likely help. Runs with fewer than
    two validation passes say nothing about convergence (None).
    """
    import pandas as pd

    rows = []
    for label, data in curves.items():
        val = data["validation"]
        accs = [point["accuracy"] for point in val]
        last_gain = accs[-1] - accs[-2] if len(accs) >= 2 else None
        best = max(range(len(accs)), key=accs.__getitem__) if accs else None
        rows.append({"run": label, "passes": len(accs),
                     "best validation": accs[best] if accs else None,
                     "best at epoch": val[best]["epoch"] if accs else None,
                     "last gain": last_gain,
                     "still rising": None if last_gain is None else bool(last_gain > rising),
                     "final train loss": data["curve"][-1]["loss"] if data["curve"] else None})
    return pd.DataFrame(rows)


def recipe_study_table(rows: list[dict[str, Any]]):
    """The one-epoch recipe study (``benchmarks/finetune_head_rate.py``, ``head_rate_study.json``)
    as a table: one row per trial (family, task, backbone rate, head multiplier, batch size), the
    validation accuracy at each evaluated fraction of the epoch, and the seconds it took."""
    import pandas as pd

    records = []
    for row in rows:
        record = {"family": row["family"], "task": row["task"], "backbone lr": f"{row['learning_rate']:g}",
                  "head x": row["head_lr_multiplier"], "batch": row["batch_size"]}
        record.update({f"val @ {point['epoch']:g} ep": point["validation_accuracy"] for point in row["curve"]})
        record["seconds"] = row["seconds"]
        records.append(record)
    return pd.DataFrame(records).set_index(["family", "task", "backbone lr", "head x", "batch"])


def trainable_cnn_table(doc: dict[str, Any]):
    """The trainable-CNN study (``benchmarks/pretrained_trainable_cnn.py``): per family, words test
    accuracy of the pre-trained model with its CNN frozen (the seed-0 run published when the study
    ran, under the frozen-CNN recipe) and trainable,
    each published control, and the trainable run's paired margin over each control."""
    import pandas as pd

    records = []
    for row in doc["rows"]:
        record = {"family": row["family"], "backbone lr": f"{row['learning_rate']:g}",
                  "pre-trained, CNN frozen": row["frozen_cnn_accuracy"],
                  "pre-trained, CNN trained": row["accuracy"]}
        for margin in row["margins"]:
            low, high = margin["margin ci95"]
            record[f"{margin['control']} control"] = margin["control accuracy"]
            record[f"margin over {margin['control']}"] = f"{margin['margin']:+.3f} [{low:+.3f}, {high:+.3f}]"
        records.append(record)
    return pd.DataFrame(records).set_index("family")


def partial_freeze_table(study: dict[str, Any], steps: dict[str, Any] | None = None):
    """The partial-freeze study (``benchmarks/partial_cnn_freeze.py``): per family and number of
    frozen blocks, words test
    accuracy with the whole CNN trained (the published seed-0 model) and with its lowest blocks
    frozen, the paired difference on the same test clips, and, when the step profile
    (``benchmarks/finetune_step_profile.py``) is given, the seconds per training step of each."""
    import pandas as pd

    records = []
    for row in study["rows"]:
        blocks = row["frozen_cnn_blocks"]
        low, high = row["paired"]["ci95"]
        record = {"family": row["family"], "frozen blocks": blocks, "whole CNN trained": row["published_accuracy"],
                  "lowest blocks frozen": row["accuracy"],
                  "difference [95 % CI]": f"{row['paired']['difference']:+.3f} [{low:+.3f}, {high:+.3f}]",
                  "validation, whole / frozen": f"{row['published_best_validation_accuracy']:.3f} / "
                                                f"{row['best_validation_accuracy']:.3f}"}
        family_steps = (steps or {}).get("families", {}).get(row["family"], {}).get("variants_step_s", {})
        frozen_key = f"lowest {blocks} CNN blocks frozen"
        if "plain" in family_steps and frozen_key in family_steps:
            record["s per step, whole / frozen"] = f"{family_steps['plain']:.2f} / {family_steps[frozen_key]:.2f}"
            record["speed-up"] = round(family_steps["plain"] / family_steps[frozen_key], 2)
        records.append(record)
    return pd.DataFrame(records).set_index(["family", "frozen blocks"]).sort_index()


def regularisation_study_table(study: dict[str, Any], at_epochs: tuple[int, ...] = (5, 15)):
    """The speakers regularisation study (``benchmarks/speakers_regularisation.py``): per family and
    change (a regulariser, or training windows), test accuracy against the published model's on the same clips (paired difference
    with its 95 % interval), best validation accuracy of each, the validation accuracy at a few
    epochs (how fast it learned), the final training loss (how fully it fitted) and the training
    time (runs beside others on a shared CPU: compare with care)."""
    import pandas as pd

    records = []
    for run in study["runs"].values():
        low, high = run["paired_difference"]["ci95"]
        record = {"family": run["model"], "change": ", ".join(f"{k}={v}" for k, v in run["changes"].items()),
                  "test": run["test_accuracy"], "published test": run["published"]["test_accuracy"],
                  "difference [95 % CI]": f"{run['paired_difference']['difference']:+.3f} [{low:+.3f}, {high:+.3f}]",
                  "best validation": run["best_validation_accuracy"],
                  "published best validation": run["published"]["best_validation_accuracy"]}
        by_epoch = {round(point["epoch"]): point["accuracy"] for point in run["validation"]}
        record.update({f"validation @ {epoch} ep": by_epoch.get(epoch) for epoch in at_epochs})
        record["final train loss"] = run["final_train_loss"]
        record["training s"] = run.get("train_seconds")
        records.append(record)
    return pd.DataFrame(records).set_index(["family", "change"])


#: The test accuracy issue 12 asks of every mini model, per task (words: the mean over seeds).
ACCURACY_TARGETS = {"words": 0.90, "speakers": 0.80}


def schedule_trial_entry(folder: str | Path, published: str | Path, published_epochs: float) -> dict[str, Any]:
    """The measured part of a schedule trial's study entry, in the shape :func:`short_schedule_table`
    reads: the trial's test and best validation accuracy, final train loss, validation curve and
    training seconds, against the published model (``published_epochs`` long) on the same test
    clips (paired). One place for it, so the trials of different benchmarks stay comparable. A run
    that resumed (an interrupted run, or the chosen rate's run continuing its sweep prefix) counts
    only its last stretch in ``train_seconds``; ``resumed`` says so, and the table leaves it out."""
    from .finetune import read_metrics, read_validation_curve  # torch only when a trial is read

    new, old = read_metrics(Path(folder)), read_metrics(Path(published))
    accuracy, published_accuracy, difference, low, high = paired_accuracy_difference(folder, published)
    return {"test_accuracy": accuracy, "test_ci95": new["ci95"],
            "best_validation_accuracy": new["best_validation_accuracy"], "final_train_loss": new["final_train_loss"],
            "validation": read_validation_curve(Path(folder)), "train_seconds": new["train_seconds"],
            "resumed": bool(new.get("resumed")),
            "published": {"epochs": published_epochs, "test_accuracy": published_accuracy,
                          "best_validation_accuracy": old["best_validation_accuracy"],
                          "train_seconds": old["train_seconds"], "resumed": bool(old.get("resumed"))},
            "paired_difference": {"difference": difference, "ci95": [low, high]}}


def _whole_run_seconds(run: dict[str, Any]) -> float | None:
    """A run's training seconds, or None when it resumed and they cover only its last stretch."""
    return None if run.get("resumed") else run["train_seconds"]


def _seconds_label(seconds: float, resumed: bool | None) -> str:
    """Training seconds as text, or "resumed" when they cover only a resumed run's last stretch."""
    return "resumed" if resumed else f"{seconds:.0f}"


def _rate_label(rate: float | None) -> str | None:
    """A learning rate as text, so that rounding a table for display leaves it readable."""
    return None if rate is None else f"{rate:g}"


def short_schedule_table(study: dict[str, Any], targets: dict[str, float] | None = None):
    """The short-schedule study (``benchmarks/short_schedule.py``): per family, task and number of
    epochs, test accuracy against the published model's of the same seed (and control) on the same clips (paired difference
    with its 95 % interval), best validation accuracy of each, both training times (blank where a run
    resumed and its seconds cover only its last stretch), and, given
    ``targets`` (task -> the accuracy issue 12 asks for), whether the shorter run still reaches it.
    The warm-start study (``benchmarks/speakers_warm_start.py``) has the same shape; its runs say
    which backbone each run started from, and the table then shows it. Runs that record their batch
    size (``--batch-size``) are told apart by it, with their learning rate and the published ones; runs
    of other seeds (``--seed``) or of a random-init control (``--control``) by those."""
    import pandas as pd

    records = []
    runs = study["runs"].values()
    batched = any("batch_size" in run for run in runs)
    seeded = any(run.get("seed", 0) for run in runs)
    controlled = any(run.get("control") for run in runs)
    for run in runs:
        low, high = run["paired_difference"]["ci95"]
        published = run["published"]
        record = {"family": run["model"], "task": run["task"], "epochs": run["epochs"],
                  **({"model": run.get("control") or "pre-trained"} if controlled else {}),
                  **({"seed": run.get("seed", 0)} if seeded else {}),
                  **({"batch": run.get("batch_size"), "learning rate": _rate_label(run.get("learning_rate")),
                      "published batch": run.get("published_batch_size"),
                      "published learning rate": _rate_label(run.get("published_learning_rate"))} if batched else {}),
                  **({"started from": run["started_from"], "published started from": published["started_from"]}
                     if "started_from" in run else {}),
                  "published epochs": published["epochs"], "test": run["test_accuracy"],
                  "published test": published["test_accuracy"],
                  "difference [95 % CI]": f"{run['paired_difference']['difference']:+.3f} [{low:+.3f}, {high:+.3f}]",
                  "best validation": run["best_validation_accuracy"],
                  "published best validation": published["best_validation_accuracy"],
                  "training s": _whole_run_seconds(run), "published training s": _whole_run_seconds(published)}
        if targets and run["task"] in targets:
            record["reaches target"] = bool(run["test_accuracy"] >= targets[run["task"]])
        records.append(record)
    index = ["family", "task", *(["model"] if controlled else []), *(["seed"] if seeded else []), "epochs",
             *(["batch"] if batched else [])]
    return pd.DataFrame(records).set_index(index).sort_index()


def unknown_targets(changes: dict[str, float], profile: Profile) -> list[str]:
    """The ``[family:]task`` keys of a scenario's epoch ``changes`` that name a task or family the
    profile lacks."""
    unknown = []
    for target in changes:
        family, _, task = target.rpartition(":")
        if task not in profile.finetune.tasks or (family and family not in profile.model.families):
            unknown.append(target)
    return sorted(unknown)


def scaled_epochs(changes: dict[str, float], family: str, task: str) -> float | None:
    """The epochs a scenario's ``changes`` give ``family``'s ``task`` runs (its own entry first), or None."""
    return changes.get(f"{family}:{task}", changes.get(task))


def scenario_epochs(changes: dict[str, float], task: str, published: float) -> float | str:
    """A scenario's epochs for ``task``: one number when every family trains the same, else text
    such as ``"18 (wavlm 22)"`` (``changes`` keys are ``task`` or ``family:task``)."""
    common = changes.get(task, published)
    own = {key.partition(":")[0]: epochs for key, epochs in sorted(changes.items()) if key.endswith(f":{task}")}
    if not own:
        return common
    return f"{common:g} (" + ", ".join(f"{family} {epochs:g}" for family, epochs in own.items()) + ")"


def schedule_scenario_table(basis: dict[str, Any]):
    """`make models` laid out on its workers under recipes that were not run as a whole
    (``benchmarks/make_models_time.py --epochs ... --no-sweep``), for one basis of
    ``make_models_time_what_if.json``: first the recipe whose run costs the scenarios scale (with the
    learning rates swept, as published), then each scenario, longest first, with the epochs of each
    task (any family's own in brackets), whether the learning rates are swept again, one-thread
    work and estimated wall hours (lower bounds)."""
    import pandas as pd

    published = basis["published_epochs"]
    rows = [("published recipe", {}, True, basis)]
    rows += [(label, scenario["epochs"], scenario["sweep"], scenario)
             for label, scenario in sorted(basis["scenarios"].items(), key=lambda item: -item[1]["estimated_wall_seconds"])]
    records = [{"scenario": label,
                **{f"{task} epochs": scenario_epochs(epochs, task, published_epochs) for task, published_epochs in published.items()},
                "learning rates swept": sweep, "work h": totals["work_seconds"] / 3600,
                "wall h on 2 workers": totals["estimated_wall_seconds"] / 3600}
               for label, epochs, sweep, totals in rows]
    return pd.DataFrame(records).set_index("scenario")


def set_change_table(record: dict[str, Any]):
    """What a new published set changed (``benchmarks/published_set_change.py``): per model, the test
    accuracy before and after, the paired difference with its 95 % interval, and the training
    seconds before and after with their ratio (below 1: the new recipe trains faster)."""
    import pandas as pd

    rows = []
    for name, row in record["models"].items():
        family, _, model = name.partition("/")
        before_s, after_s = row["train_seconds_before"], row["train_seconds_after"]
        rows.append({"family": family, "model": model, "before": row["before"], "after": row["after"],
                     "difference [95 % CI]": f"{row['difference']:+.3f} [{row['ci95'][0]:+.3f}, {row['ci95'][1]:+.3f}]",
                     "train s before": before_s, "train s after": after_s,
                     "time ratio": after_s / before_s if before_s and after_s else None})
    return pd.DataFrame(rows).set_index(["family", "model"])


def bf16_step_table(study: dict[str, Any]):
    """One training step in float32 and under bfloat16 autocast (``benchmarks/bf16_step.py``), per
    CPU platform and family: seconds per step of each variant measured there and its speed-up over
    float32 (above 1: faster). A platform measured before a variant existed leaves it blank."""
    import pandas as pd

    rows = []
    for platform, report in study["platforms"].items():
        for family, result in report["families"].items():
            steps = result["step_s"]
            row = {"platform": platform, "family": family, "batch": report["batch_size"]}
            for variant, seconds in steps.items():
                row[f"{variant} s"] = seconds
                if variant != "float32":
                    row[f"{variant} x"] = steps["float32"] / seconds
            rows.append(row)
    return pd.DataFrame(rows).set_index(["platform", "family"])


def front_end_step_table(study: dict[str, Any]):
    """The cheap front-end study's step times (``benchmarks/cheap_front_end.py time``): per family
    and task, the clip length trained on, seconds per training step with the real 7-block CNN and
    with the cheap front end, and their ratio (below 1: the cheap one is faster)."""
    import pandas as pd

    records = [{"family": family, "task": task, "clip s": row["clip_seconds"], "real CNN s/step": row["real_s"],
                "cheap front end s/step": row["cheap_s"], "ratio": row["ratio"]}
               for family, tasks in study["step"]["families"].items() for task, row in tasks.items()]
    return pd.DataFrame(records).set_index(["family", "task"])


def front_end_projection_table(study: dict[str, Any]):
    """`make models`' measured one-thread work by kind of run, and the same with each run's cost
    scaled by the cheap front end's step ratio (``benchmarks/cheap_front_end.py time``), in hours,
    with a last row for the whole on 2 workers."""
    import pandas as pd

    projection = study["step"]["projection"]
    measured, cheap = projection["measured_work_s"], projection["cheap_work_s"]
    records = [{"runs": kind, "measured work h": measured[kind] / 3600, "cheap front end work h": cheap[kind] / 3600}
               for kind in measured]
    records.append({"runs": "all, on 2 workers (h)", "measured work h": projection["measured_total_s"] / 2 / 3600,
                    "cheap front end work h": projection["cheap_total_s"] / 2 / 3600})
    return pd.DataFrame(records).set_index("runs")


def front_end_runs_table(study: dict[str, Any], targets: dict[str, float] | None = None):
    """The cheap front end's trained runs (``benchmarks/cheap_front_end.py train``): per family and
    task, test accuracy against the published seed-0 model's on the same clips (paired difference
    with its 95 % interval), best validation accuracy of each, training seconds of each ("resumed"
    where a run resumed, its seconds then covering only its last stretch) and, given ``targets``,
    whether the run reaches issue 12's target."""
    import pandas as pd

    records = []
    for family, report in study.get("runs", {}).items():
        for task in ("words", "speakers"):
            if task not in report:
                continue
            row = report[task]
            low, high = row["paired"]["ci95"]
            record = {"family": family, "task": task, "published test": row["published_accuracy"],
                      "cheap front end test": row["accuracy"],
                      "difference [95 % CI]": f"{row['paired']['difference']:+.3f} [{low:+.3f}, {high:+.3f}]",
                      "best validation, published / cheap": f"{row['published_best_validation_accuracy']:.3f} / "
                                                            f"{row['best_validation_accuracy']:.3f}",
                      "training s, published / cheap": f"{_seconds_label(row['published_train_seconds'], row.get('published_resumed'))} / "
                                                       f"{row['train_seconds']:.0f}"}
            if targets and task in targets:
                record["reaches target"] = bool(row["accuracy"] >= targets[task])
            records.append(record)
    if not records:  # timed, not yet trained
        return pd.DataFrame(columns=["family", "task"]).set_index(["family", "task"])
    return pd.DataFrame(records).set_index(["family", "task"])


def confusion_matrix(folder: str | Path, n_classes: int) -> np.ndarray:
    """Row-normalised confusion matrix (true x predicted) of a fine-tuned model's test predictions."""
    data = np.load(Path(folder) / "test_predictions.npz")
    matrix = np.zeros((n_classes, n_classes))
    np.add.at(matrix, (data["labels"], data["predictions"]), 1)
    return matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)


def recipe_label(recipe: dict[str, Any]) -> str:
    """A fine-tuning recipe in a few words (schedule, backbone rate, regularisers), for legends that
    compare the speakers recipes published over time."""
    extras = [f"dropout {recipe['dropout']:g}"] if recipe.get("dropout") else []
    extras += [f"time masks p={recipe['mask_time_prob']:g}"] if recipe.get("mask_time_prob") else []
    extras += [f"{recipe['pooling']} pooling"] if recipe.get("pooling", "mean") != "mean" else []
    extras += [f"{recipe['train_crop_seconds']:g} s windows"] if recipe.get("train_crop_seconds") else []
    extras += ["bfloat16"] if recipe.get("mixed_precision", "no") == "bf16" else []
    return ", ".join([f"{recipe['epochs']:g} epochs", f"lr {recipe['learning_rate']:g}", *extras])
