"""Cost of training one mimicking variant, to plan a profile's schedule (seconds per epoch, side by side).

Random data of the profile's size (train clips x 49 frames x width D), one CPU thread: the cost of
training does not depend on the values. Usage:

    python benchmarks/mimicking_cost.py --profile mini [--clips 3990] [--full-grid]

Prints, per variant, the seconds of one stage-1 epoch and one stage-2 epoch, the ratio to the
cheapest variant, and the estimated total for the profile's epochs and grid (per teacher).
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

from redundancy.config import load_profile
from redundancy.distill import Schedule, train_stage1, train_stage2
from redundancy.mimic import Head, Mimicker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="mini")
    parser.add_argument("--clips", type=int, default=None, help="train clips (default: max_train_clips or 4000)")
    parser.add_argument("--full-grid", action="store_true")
    args = parser.parse_args()
    P = load_profile(args.profile)
    M = P.mimic if not args.full_grid else dataclasses.replace(P.mimic, variants=())
    torch.set_num_threads(1)
    n, d, frames = args.clips or M.max_train_clips or 4000, P.model.hidden_size, 49
    n_val = min(M.val_clips, 500)
    x, xv = torch.randn(n, frames, d), torch.randn(n_val, frames, d)
    y, yv = torch.randint(0, 35, (n,)), torch.randint(0, 35, (n_val,))
    one = Schedule(1, M.batch_size, M.learning_rate)
    rows = []
    for kind, layers, z in M.grid():
        m = Mimicker(d, z, layers, kind)
        head = Head(torch.nn.Linear(d, 256), torch.nn.Linear(256, 35))
        s1 = train_stage1(m, x, [x] * layers, xv, [xv] * layers, one, progress=False).seconds
        s2 = train_stage2(m, head, x, y, xv, yv, one, progress=False).seconds
        rows.append((f"{kind} x{layers} z={z}", s1, s2, M.stage1_epochs * s1 + M.stage2_epochs * s2))
    cheapest = min(r[3] for r in rows)
    print(f"profile {P.name}: {n} train clips x {frames} frames x D={d}, batch {M.batch_size}, one thread")
    print(f"{'variant':28s} {'stage1 s/epoch':>15s} {'stage2 s/epoch':>15s} {'total s':>9s} {'ratio':>6s}")
    for name, s1, s2, total in rows:
        print(f"{name:28s} {s1:15.2f} {s2:15.2f} {total:9.1f} {total / cheapest:6.1f}")
    print(f"all variants, one teacher, {M.stage1_epochs} + {M.stage2_epochs} epochs: {sum(r[3] for r in rows):.0f} s "
          "(plus the non-mimicker and head-only controls, stage 2 only)")


if __name__ == "__main__":
    main()
