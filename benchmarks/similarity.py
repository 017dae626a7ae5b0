"""Benchmark: all metrics over all pairs of layers, the library against a per-pair implementation.

The library (``similarity_matrices``) computes each layer's Gram matrices and unit rows once; the
reference calls the per-pair functions (``cosine``, ``linear_cka``, ``mutual_knn``) for every pair
i < j, which recompute both layers' Gram matrices and neighbour sets for each pair, as a direct
implementation would. Both run in the same process on the same data; the values must agree.

    .venv/bin/python benchmarks/similarity.py                 # 2,560 utterances, 13 layers, mini width
    .venv/bin/python benchmarks/similarity.py --ref-pairs 0   # time every reference pair (slow)
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch

from redundancy import similarity as S
from redundancy.config import load_profile, resolve_device


def make_layers(n: int, n_layers: int, frames: int, width: int, seed: int) -> list[np.ndarray]:
    """(n, frames*width) float32 layers drifting away from each other (a random walk of maps)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, frames, width)).astype(np.float32)
    layers = []
    for _ in range(n_layers):
        mix = (np.eye(width) + 0.3 * rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
        x = x @ mix + 0.3 * rng.standard_normal(x.shape).astype(np.float32)
        layers.append(x.reshape(n, -1).copy())
    return layers


def reference_pair(a, b, batch_size, k, device) -> dict[str, float]:
    return {
        "cosine": S.cosine(a, b, batch_size=batch_size, device=device),
        "cka": S.linear_cka(a, b, batch_size=batch_size, device=device),
        "cka_debiased": S.linear_cka(a, b, debiased=True, batch_size=batch_size, device=device),
        "mutual_knn": S.mutual_knn(a, b, k, batch_size=batch_size, device=device),
    }


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> int:
    mini = load_profile("mini")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2560, help="utterances (the authors: 20 x 128)")
    parser.add_argument("--layers", type=int, default=mini.model.num_hidden_layers + 1)
    parser.add_argument("--frames", type=int, default=49, help="frames per 1 s clip")
    parser.add_argument("--width", type=int, default=mini.model.hidden_size)
    parser.add_argument("--batch-size", type=int, default=mini.analysis.batch_size, help="0: all at once")
    parser.add_argument("--k", type=int, default=mini.analysis.knn_k)
    parser.add_argument("--ref-pairs", type=int, default=8,
                        help="reference pairs to time, then extrapolate linearly (0: all pairs)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    batch_size = args.batch_size or None

    print(f"data: {args.n} utterances x {args.layers} layers x ({args.frames} frames x {args.width}) "
          f"= {args.frames * args.width} features; batch_size={batch_size}; k={args.k}; device={device}; "
          f"torch threads={torch.get_num_threads()}")
    layers = make_layers(args.n, args.layers, args.frames, args.width, args.seed)

    _sync(device)
    start = time.perf_counter()
    lib = S.similarity_matrices(layers, S.METRICS, ks=(args.k,), batch_size=batch_size, device=device)
    _sync(device)
    t_lib = time.perf_counter() - start
    lib["mutual_knn"] = lib["mutual_knn"][args.k]
    print(f"library   : all {args.layers * (args.layers - 1) // 2} pairs, 4 metrics  {t_lib:8.2f} s")

    pairs = list(itertools.combinations(range(args.layers), 2))
    rng = np.random.default_rng(args.seed)
    timed = pairs if args.ref_pairs <= 0 or args.ref_pairs >= len(pairs) else \
        [pairs[i] for i in sorted(rng.choice(len(pairs), args.ref_pairs, replace=False))]
    worst = 0.0
    _sync(device)
    start = time.perf_counter()
    for i, j in timed:
        values = reference_pair(layers[i], layers[j], batch_size, args.k, device)
        worst = max(worst, max(abs(values[m] - lib[m][i, j]) for m in S.METRICS))
    _sync(device)
    t_timed = time.perf_counter() - start
    t_ref = t_timed * len(pairs) / len(timed)
    how = "measured" if len(timed) == len(pairs) else \
        f"extrapolated linearly from {len(timed)} of {len(pairs)} pairs ({t_timed:.2f} s measured)"
    print(f"per-pair  : all {len(pairs)} pairs, 4 metrics  {t_ref:8.2f} s  [{how}]")
    print(f"max |library - per-pair| over the timed pairs and metrics: {worst:.2e}")
    print(f"speed-up (per-pair / library): {t_ref / t_lib:.1f}x")
    if worst > 1e-6:
        raise SystemExit(f"library and per-pair results disagree (max difference {worst:.2e})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
