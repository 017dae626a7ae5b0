"""Is it the schedule? The same mimickers of one teacher trained on longer schedules and more clips.

The mini profile trains its mimickers for 3 + 2 epochs on 2,000 train clips (the paper: 50 + 30 on
all of them), so that chapter 05 runs in minutes. When its mimickers keep far less of the teacher's
accuracy than the paper's, this study says whether a longer schedule closes the gap, or whether
the gap belongs to the mini world. ``benchmarks/mimic_schedule.py`` runs it and writes
``results/<profile>/mimic_schedule_study.json``; chapter 05 shows :func:`schedule_table`.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from .config import Profile, Variant, load_profile

#: (stage-1 epochs, stage-2 epochs, train clips or None for all): the mini schedule, the same on
#: every train clip, and five times the epochs on every clip.
DEFAULT_SCHEDULES: tuple[tuple[int, int, int | None], ...] = ((3, 2, 2000), (3, 2, None), (15, 10, None))


def run_schedule_study(profile: Profile | str | None, name: str, variants: list[Variant],
                       schedules: tuple[tuple[int, int, int | None], ...] = DEFAULT_SCHEDULES, *,
                       task: str = "words", seed: int = 0, device: str = "cpu", progress: bool = True
                       ) -> dict[str, Any]:
    """Train ``variants`` (and the head-only control) of one teacher on each schedule; returns the
    study's record (each schedule's networks with their accuracy relative to the teacher)."""
    from .mimicking import train_teacher

    P = profile if isinstance(profile, Profile) else load_profile(profile)
    if not schedules:
        raise ValueError("no schedules to study: give at least one (stage-1 epochs, stage-2 epochs, train clips)")
    rows = []
    for stage1, stage2, clips in schedules:
        if stage1 < 1 or stage2 < 1 or (clips is not None and clips < 1):
            raise ValueError(f"a schedule needs at least 1 epoch per stage and 1 clip, got {(stage1, stage2, clips)}")
        mimic = dataclasses.replace(P.mimic, stage1_epochs=stage1, stage2_epochs=stage2, max_train_clips=clips)
        started = time.perf_counter()
        run = train_teacher(dataclasses.replace(P, mimic=mimic), name, task=task, seed=seed, device=device,
                            variants=variants, non_mimicker=[], progress=progress)
        networks = [{key: net.record[key] for key in ("network", "type", "layers", "z", "accuracy", "relative_accuracy")}
                    for net in run.networks]
        rows.append({"stage1_epochs": stage1, "stage2_epochs": stage2, "max_train_clips": clips,
                     "seconds": time.perf_counter() - started, "networks": networks})
    return {"profile": P.name, "model": name, "task": task, "seed": seed, "device": device,
            "teacher_accuracy": run.teacher_accuracy, "rows": rows}


def schedule_table(doc: dict[str, Any]):
    """One row per schedule, one column per network: the accuracy relative to the teacher."""
    import pandas as pd

    records = []
    for row in doc["rows"]:
        clips = "all" if row["max_train_clips"] is None else row["max_train_clips"]
        for net in row["networks"]:
            label = net["network"] if net["network"] == "head-only" else \
                f"{net['network']} {net['type']} {net['layers']}x z={net['z']}"
            records.append({"schedule": f"{row['stage1_epochs']} + {row['stage2_epochs']} epochs, {clips} clips",
                            "seconds": round(row["seconds"]), "network": label, "relative": net["relative_accuracy"]})
    frame = pd.DataFrame(records)
    order = list(dict.fromkeys(frame["schedule"]))
    table = frame.pivot_table(index=["schedule", "seconds"], columns="network", values="relative", sort=False)
    return table.reindex(order, level=0)
