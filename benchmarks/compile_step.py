"""Would ``torch.compile`` speed up CPU fine-tuning enough to matter for `make models`?

`make models` is bound by fine-tuning steps on 2 cores (issue 12 asks for at most 2 hours; the mini
recipe takes about 3.4). ``torch.compile`` (the inductor backend) fuses the small elementwise
operations around the matrix products and convolutions, which can pay off when a model is made of
many small layers, as the mini models are. For each family's classifier on its published backbone
(built as fine-tuning builds it), this times one training step (forward, backward, AdamW) eagerly and
compiled, in alternating rounds in one process on one thread so the ratio is fair on a noisy
machine, and reports what the first compiled step costs (the compilation). Speed only: both run the
same arithmetic up to the order of floating-point operations. Usage (alone on the machine; about
five minutes, most of it compiling):

    python benchmarks/compile_step.py [--profile mini] [--families wav2vec2] [--repeats 5] [--rounds 2]

Writes ``results/<profile>/compile_step.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from finetune_step_profile import median_seconds, step_timer

from redundancy import pipeline
from redundancy.audio import SAMPLE_RATE
from redundancy.commands import WORDS
from redundancy.config import load_profile
from redundancy.cpu_platform import corpus_platform
from redundancy.finetune import build_classifier
from redundancy.models import quiet_loading
from redundancy.paths import display_path, results_dir


def time_family(backbone: Path, batch_size: int, repeats: int, rounds: int, mode: str) -> dict[str, Any]:
    """Seconds per training step eagerly and compiled (``mode``), and the first compiled step's."""
    names = list(WORDS)
    torch.manual_seed(0)
    clips = torch.randn(batch_size, SAMPLE_RATE)
    with quiet_loading():
        model = build_classifier(backbone, len(names), names, False, 0.0, None)
    eager_step, _ = step_timer(model, clips, len(names))
    compiled_step, _ = step_timer(torch.compile(model, mode=mode), clips, len(names))
    start = time.perf_counter()
    compiled_step()  # compiles the forward and the backward graphs
    first = time.perf_counter() - start
    seconds: dict[str, list[float]] = {"eager": [], "compiled": []}
    for _ in range(rounds):
        seconds["eager"].append(median_seconds(eager_step, repeats))
        seconds["compiled"].append(median_seconds(compiled_step, repeats))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    return {"step_s": medians, "rounds_s": seconds, "speedup": medians["eager"] / medians["compiled"],
            "first_compiled_step_s": first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--families", nargs="*", default=None, help="default: every family of the profile")
    parser.add_argument("--mode", default="default", help="torch.compile mode")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    P = load_profile(args.profile)
    families = args.families or list(P.model.families)
    unknown = sorted(set(families) - set(P.model.families))
    if unknown:
        raise SystemExit(f"unknown families {unknown}; the {P.name} profile has {list(P.model.families)}")
    batch = P.finetune_for("words").batch_size
    report = {"profile": P.name, "batch_size": batch, "clip_seconds": 1.0, "threads": 1, "mode": args.mode,
              "backend": "inductor", "platform": corpus_platform(), "cpu": platform.processor() or platform.machine(),
              "torch": torch.__version__, "families": {}}
    for family in families:
        result = time_family(pipeline.published_dir(P, family, "pretrained"), batch, args.repeats, args.rounds,
                             args.mode)
        report["families"][family] = result
        print(f"{family}: s per step of {batch} clips: eager {result['step_s']['eager']:.3f}, compiled "
              f"{result['step_s']['compiled']:.3f} (x{result['speedup']:.2f}); the first compiled step took "
              f"{result['first_compiled_step_s']:.0f} s", flush=True)
    out = results_dir(P.name) / "compile_step.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {display_path(out)}")


if __name__ == "__main__":
    main()
