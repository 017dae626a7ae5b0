"""How much does keeping freed memory in the process (``redundancy.allocator``) speed up CPU training?

Each measurement is a fresh process (the allocator is set once per process) that builds a
family's classifier on its published backbone, as fine-tuning builds
it, and times training steps (forward, backward, AdamW) on one thread on fixed random 1 s clips at
the recipe's batch size: with glibc's defaults (``REDUNDANCY_DEFAULT_MALLOC=1``) and with the
library's settings, in alternating order, each family alone and then two families at once (as
``make models`` runs them on 2 cores). It records the median step time, the minor page faults per
step, and checks that both settings give bit-identical losses (the allocator must not change the
arithmetic). Usage (alone on the machine; about three minutes):

    python benchmarks/allocator.py [--profile mini] [--steps 12] [--rounds 2]

Writes ``results/<profile>/allocator_study.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

SETTINGS = ("glibc default", "redundancy.allocator")


def child(family: str, profile: str, steps: int) -> dict[str, Any]:
    """Time ``steps`` training steps after one warm-up step in this process; losses included."""
    import resource
    import time

    import torch

    from redundancy import allocator, pipeline
    from redundancy.audio import SAMPLE_RATE
    from redundancy.commands import WORDS
    from redundancy.config import load_profile
    from redundancy.finetune import build_classifier
    from redundancy.models import quiet_loading

    allocator.keep_freed_memory()  # a no-op under REDUNDANCY_DEFAULT_MALLOC=1
    torch.set_num_threads(1)
    P = load_profile(profile)
    names = list(WORDS)
    torch.manual_seed(0)
    with quiet_loading():
        model = build_classifier(pipeline.published_dir(P, family, "pretrained"), len(names), names,
                                 False, 0.0, None)
    model.train()
    clips = torch.randn(P.finetune.batch_size, SAMPLE_RATE)
    labels = torch.randint(0, len(names), (len(clips),))
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-4)
    losses, times = [], []
    for i in range(steps + 1):
        start = time.perf_counter()
        if i == 1:
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        loss = model(input_values=clips, labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
        times.append(time.perf_counter() - start)
        losses.append(float(loss))
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {"family": family, "allocator": allocator.applied(), "step_s": statistics.median(times[1:]),
            "page_faults_per_step": faults / steps, "losses": losses}


def run_children(families: list[str], setting: str, profile: str, steps: int) -> list[dict[str, Any]]:
    """One process per family, all at once, under ``setting``."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("REDUNDANCY_DEFAULT_MALLOC", None)
    if setting == SETTINGS[0]:
        env["REDUNDANCY_DEFAULT_MALLOC"] = "1"
    procs = [subprocess.Popen([sys.executable, __file__, "--child", family, "--profile", profile,
                               "--steps", str(steps)], env=env, stdout=subprocess.PIPE, text=True)
             for family in families]
    results = []
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"measurement process failed (exit {proc.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.profile, args.steps)))
        return

    from redundancy.config import load_profile
    from redundancy.paths import display_path, results_dir

    families = list(load_profile(args.profile).model.families)
    layouts = {f"{family} alone": [family] for family in families}
    layouts[f"{families[0]} + {families[1]} at once"] = families[:2]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {name: {s: [] for s in SETTINGS} for name in layouts}
    for round_ in range(args.rounds):
        order = SETTINGS if round_ % 2 == 0 else SETTINGS[::-1]
        for name, members in layouts.items():
            for setting in order:
                runs[name][setting].append(run_children(members, setting, args.profile, args.steps))
                print(name, setting, [round(r["step_s"], 3) for r in runs[name][setting][-1]], flush=True)

    summary = {}
    for name, by_setting in runs.items():
        entry = {}
        for setting, rounds in by_setting.items():
            entry[setting] = {
                "step_s": statistics.median(r["step_s"] for one in rounds for r in one),
                "page_faults_per_step": statistics.median(r["page_faults_per_step"] for one in rounds for r in one),
                "allocator": rounds[0][0]["allocator"],
            }
        default, tuned = (entry[s]["step_s"] for s in SETTINGS)
        entry["speed_up"] = default / tuned
        # the same losses, bit for bit, under both settings: the allocator changes no arithmetic
        entry["identical_losses"] = all(
            a["losses"] == b["losses"]
            for one_a, one_b in zip(by_setting[SETTINGS[0]], by_setting[SETTINGS[1]]) for a, b in zip(one_a, one_b))
        summary[name] = entry
        print(f"{name}: {default:.3f} s -> {tuned:.3f} s a step ({default / tuned:.2f}x), "
              f"identical losses: {entry['identical_losses']}")
    out = results_dir(args.profile) / "allocator_study.json"
    out.write_text(json.dumps({
        "profile": args.profile, "steps": args.steps, "rounds": args.rounds, "threads_per_process": 1,
        "machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
        "libc": platform.libc_ver(), "results": summary, "runs": runs}, indent=2))
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
