"""Do longer schedules close the mimickers' gap to the teacher? (redundancy.mimic_schedule)

Trains the given mimickers of one teacher (words, fine-tuning seed 0) with the mini schedule
(3 + 2 epochs, 2,000 clips), the same on every train clip, and 15 + 10 epochs on every clip, one
CPU thread. Usage (about 25 minutes on this 2-core machine):

    python benchmarks/mimic_schedule.py [--profile mini] [--model wav2vec2]

Writes ``results/<profile>/mimic_schedule_study.json``; chapter 05 shows it.
"""

from __future__ import annotations

import argparse
import json

import torch

from redundancy.mimic_schedule import run_schedule_study, schedule_table
from redundancy.paths import display_path, results_dir

VARIANTS = [("linear", 1, 512), ("transformer", 1, 32)]  # the best mimickers of the mini run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--model", default="wav2vec2")
    args = parser.parse_args()
    torch.set_num_threads(1)
    doc = run_schedule_study(args.profile, args.model, VARIANTS, device="cpu")
    doc["threads"] = 1
    out = results_dir(args.profile) / "mimic_schedule_study.json"
    out.write_text(json.dumps(doc, indent=2))
    print(schedule_table(doc).round(3).to_string())
    print("wrote", display_path(out))


if __name__ == "__main__":
    main()
