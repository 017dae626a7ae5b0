"""Inference time and size of full, pruned and mimic models (PAPER.md, "Timing"; claims C3 and C4).

Time and size do not depend on the weights, so every architecture is timed with random weights: the
paper's real configurations (built offline by :mod:`redundancy.architectures`) and the tiny mini
models. Latency is per utterance: one forward pass on a batch of ``seconds`` of 16 kHz audio, divided
by the batch size, under ``torch.inference_mode``; on CUDA timed with CUDA events after a
``torch.cuda.synchronize()`` as the authors did; reported as the median and interquartile range over
repeats, after warm-up passes. Ratios (reductions) are computed from measurements of the same run.
"""

from __future__ import annotations

import argparse
import gc
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import FAMILIES, Profile, load_profile, resolve_device

from .audio import SAMPLE_RATE
#: The words task of the paper (Speech Commands v0.02 without ``_silence_``): the head's classes.
NUM_LABELS = 35
#: The paper's claims (abstract, ICASSP version): size -95..98 %, inference time up to -94 %.
PAPER_SIZE_REDUCTION = (0.95, 0.98)
PAPER_TIME_REDUCTION = 0.94


def device_name(device: str) -> str:
    """A human-readable name of the processor behind ``device``."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "cpu"


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{name}: expected a positive value, got {value}")


def measure_latency(
    model: torch.nn.Module,
    *,
    batch_size: int,
    device: str,
    warmup: int,
    repeats: int,
    seconds: float = 1.0,
    threads: int | None = None,
) -> dict[str, Any]:
    """Per-utterance latency (ms) of ``model`` on a batch of ``seconds`` of audio.

    The model is moved to ``device`` (in place) and put in eval mode. ``threads`` sets torch's CPU
    thread count for the measurement (restored afterwards); ``None`` keeps the current one. Needs at
    least two repeats, so that a spread exists. A CUDA request without CUDA is a clear error.
    """
    return measure_latencies({"model": model}, batch_size=batch_size, device=device, warmup=warmup,
                             repeats=repeats, seconds=seconds, threads=threads)["model"]


def _time_once(model: torch.nn.Module, audio: torch.Tensor, cuda: bool, device: str) -> float:
    """Milliseconds of one forward pass (CUDA: events between synchronisations)."""
    if cuda:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(device)
        start.record()
        model(audio)
        end.record()
        torch.cuda.synchronize(device)
        return float(start.elapsed_time(end))
    t0 = time.perf_counter()
    model(audio)
    return (time.perf_counter() - t0) * 1000.0


def measure_latencies(
    models: dict[str, torch.nn.Module],
    *,
    batch_size: int,
    device: str,
    warmup: int,
    repeats: int,
    seconds: float = 1.0,
    threads: int | None = None,
) -> dict[str, dict[str, Any]]:
    """:func:`measure_latency` of several models on the same input, with interleaved repeats.

    Repeat r times every model once before repeat r + 1 starts, so that a slow spell of a shared
    machine hits all models alike and the ratios between them stay meaningful.
    """
    device = resolve_device(device)
    _check_positive(batch_size=batch_size, repeats=repeats, seconds=seconds)
    if repeats < 2:
        raise ValueError(f"repeats: at least 2 are needed to report a spread, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup: expected 0 or more passes, got {warmup}")
    if threads is not None:
        _check_positive(threads=threads)
    if not models:
        raise ValueError("models: nothing to time")
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        for model in models.values():
            model.to(device).eval()
        dtype = next(next(iter(models.values())).parameters()).dtype
        audio = torch.randn(batch_size, int(round(seconds * SAMPLE_RATE)), device=device, dtype=dtype)
        cuda = device.startswith("cuda")
        times_ms: dict[str, list[float]] = {name: [] for name in models}
        with torch.inference_mode():
            for model in models.values():
                for _ in range(warmup):
                    model(audio)
            if cuda:
                torch.cuda.synchronize(device)
            for _ in range(repeats):
                for name, model in models.items():
                    times_ms[name].append(_time_once(model, audio, cuda, device))
        used_threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(previous_threads)
    context = {
        "batch_size": int(batch_size),
        "warmup": int(warmup),
        "repeats": int(repeats),
        "seconds": float(seconds),
        "device": device,
        "device_name": device_name(device),
        "torch_version": torch.__version__,
        "threads": int(used_threads),
    }
    records = {}
    for name, times in times_ms.items():
        per_utterance = np.asarray(times) / batch_size
        q25, median, q75 = np.percentile(per_utterance, [25, 50, 75])
        records[name] = {
            "median_ms": float(median),
            "iqr_ms": float(q75 - q25),
            "q25_ms": float(q25),
            "q75_ms": float(q75),
            "per_utterance_ms": [float(t) for t in per_utterance],
            **context,
        }
    return records


def _variants(full: torch.nn.Module, prune_fraction: float, hidden: int) -> list[tuple[str, Any]]:
    """(label, builder) of the full model and the models compared with it."""
    from .mimic import mimic_model
    from .pruning import prune_backward

    pct = int(round(prune_fraction * 100))
    return [
        ("full", lambda: full),
        (f"pruned_{pct}pct", lambda: prune_backward(full, prune_fraction)),
        (f"mimic_1stage_h{hidden}", lambda: mimic_model(full, hidden=hidden, stages=1)),
        (f"mimic_2stage_h{hidden}", lambda: mimic_model(full, hidden=hidden, stages=2)),
    ]


def architecture_row(
    full: torch.nn.Module,
    *,
    batch_sizes: tuple[int, ...],
    device: str,
    warmup: int,
    repeats: int,
    prune_fraction: float = 0.4,
    hidden: int = 32,
    seconds: float = 1.0,
    threads: int | None = None,
    progress: bool = True,
    label: str = "",
) -> dict[str, Any]:
    """Size and latency of ``full`` and of its pruned and mimic variants, with reductions as ratios.

    Headline latencies are at the largest batch size (the paper's setting); every batch size is
    kept under ``latency`` and ``time_reduction_by_batch``.
    """
    from tqdm import tqdm

    from .models import encoder_layers
    from .size import macs_by_component, parameters_by_component

    row: dict[str, Any] = {"n_layers": len(encoder_layers(full)), "batch_sizes": list(batch_sizes)}
    params: dict[str, int] = {}
    macs: dict[str, int] = {}
    models = {name: build() for name, build in _variants(full, prune_fraction, hidden)}
    for name, model in models.items():
        sizes = parameters_by_component(model)
        params[name] = sizes["total"]
        macs[name] = macs_by_component(model.to(device), seconds)["total"]
        if name in ("full", f"mimic_1stage_h{hidden}"):
            row[f"params_by_component_{name}"] = sizes
        if name.startswith("pruned"):
            row["n_layers_pruned"] = len(encoder_layers(model))
    latency: dict[str, dict[str, Any]] = {name: {} for name in models}
    for batch_size in tqdm(batch_sizes, desc=label or "timing", disable=not progress, leave=False):
        records = measure_latencies(models, batch_size=batch_size, device=device, warmup=warmup,
                                    repeats=repeats, seconds=seconds, threads=threads)
        for name, record in records.items():
            latency[name][str(batch_size)] = record
    del models
    gc.collect()
    top = str(max(batch_sizes))
    first = latency["full"][top]
    row.update(device=first["device"], device_name=first["device_name"], torch_version=first["torch_version"],
               threads=first["threads"], headline_batch_size=int(top))
    for name in variants_names(prune_fraction, hidden):
        row[f"params_{name}"] = params[name]
        row[f"macs_{name}"] = macs[name]
        row[f"latency_{name}_ms"] = latency[name][top]["median_ms"]
        row[f"latency_{name}_iqr_ms"] = latency[name][top]["iqr_ms"]
        if name != "full":
            short = name.split("_")[0] if name.startswith("pruned") else name
            row[f"size_reduction_{short}"] = 1.0 - params[name] / params["full"]
            row[f"time_reduction_{short}"] = 1.0 - latency[name][top]["median_ms"] / latency["full"][top]["median_ms"]
            row[f"time_reduction_by_batch_{short}"] = {
                bs: 1.0 - latency[name][bs]["median_ms"] / latency["full"][bs]["median_ms"] for bs in latency["full"]
            }
    # the headline names: the paper's smallest mimic, one linear layer of width z = 32
    one = f"mimic_1stage_h{hidden}"
    row["size_reduction_mimic"] = row[f"size_reduction_{one}"]
    row["latency_mimic_ms"] = row[f"latency_{one}_ms"]
    row["time_reduction_mimic"] = row[f"time_reduction_{one}"]
    row["latency"] = latency
    return row


def variants_names(prune_fraction: float = 0.4, hidden: int = 32) -> list[str]:
    """Labels of the compared models, in report order."""
    pct = int(round(prune_fraction * 100))
    return ["full", f"pruned_{pct}pct", f"mimic_1stage_h{hidden}", f"mimic_2stage_h{hidden}"]


def settings_for(profile: Profile, device: str) -> dict[str, Any]:
    """Batch sizes, warm-up and repeats of a profile for a device (CUDA keeps the paper's 128)."""
    t = profile.timing
    cuda = device.startswith("cuda")
    return {
        "batch_sizes": tuple(t.cuda_batch_sizes if cuda else t.batch_sizes),
        "warmup": t.cuda_warmup if cuda else t.warmup,
        "repeats": t.cuda_repeats if cuda else t.repeats,
        "threads": None if cuda else t.threads,
    }


def mini_models(profile: Profile) -> dict[str, Any]:
    """name -> config of the book's tiny models (random init: timing does not depend on weights)."""
    from .models import tiny_config

    return {f"mini-{family}": tiny_config(family, profile.model) for family in FAMILIES}


def timing_report(
    profile: Profile | str | None = None,
    *,
    device: str = "auto",
    architectures: tuple[str, ...] | None = None,
    include_mini: bool = True,
    batch_sizes: tuple[int, ...] | None = None,
    warmup: int | None = None,
    repeats: int | None = None,
    threads: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """The full timing and size report of a profile: every real architecture and every mini model.

    Defaults come from ``profile.timing`` (see :func:`settings_for`; on CPU one thread unless the
    profile says otherwise); the keyword arguments override them. Returns
    ``{"meta": ..., "architectures": name -> row}`` (rows: :func:`architecture_row`).
    """
    from tqdm import tqdm

    from .architectures import build_random, real_config

    P = load_profile(profile)
    device = resolve_device(device)
    settings = settings_for(P, device)
    if batch_sizes is not None:
        settings["batch_sizes"] = tuple(batch_sizes)
    if warmup is not None:
        settings["warmup"] = warmup
    if repeats is not None:
        settings["repeats"] = repeats
    if threads is not None:
        settings["threads"] = threads
    names = tuple(P.timing.architectures if architectures is None else architectures)
    configs: dict[str, Any] = {name: None for name in names}
    if include_mini:
        configs.update(mini_models(P))
    t = P.timing
    rows: dict[str, Any] = {}
    # one bar over the architectures (the current one in its postfix): nested per-batch bars print a
    # line each in a notebook
    bar = tqdm(list(configs), desc="architectures", disable=not progress)
    for name in bar:
        bar.set_postfix_str(name)
        config = configs[name] if configs[name] is not None else real_config(name)
        torch.manual_seed(0)
        full = build_random(config, num_labels=NUM_LABELS)
        rows[name] = architecture_row(
            full, device=device, prune_fraction=t.prune_fraction, hidden=t.mimic_hidden, seconds=t.seconds,
            progress=False, label=name, **settings,
        )
        rows[name]["kind"] = "mini" if configs[name] is not None else "real"
        del full
        gc.collect()
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    first = next(iter(rows.values()), None)
    meta = {
        "profile": P.name,
        "device": device,
        "device_name": device_name(device),
        "torch_version": torch.__version__,
        "threads": first["threads"] if first else torch.get_num_threads(),
        "batch_sizes": list(settings["batch_sizes"]),
        "warmup": settings["warmup"],
        "repeats": settings["repeats"],
        "prune_fraction": t.prune_fraction,
        "mimic_hidden": t.mimic_hidden,
        "seconds": t.seconds,
        "num_labels": NUM_LABELS,
        "paper_size_reduction": list(PAPER_SIZE_REDUCTION),
        "paper_time_reduction": PAPER_TIME_REDUCTION,
    }
    if device.startswith("cuda"):
        meta["cuda_matmul_allow_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
        meta["cudnn_allow_tf32"] = bool(torch.backends.cudnn.allow_tf32)
    return {"meta": meta, "architectures": rows}


def report_table(report: dict[str, Any]) -> Any:
    """One row per architecture: sizes (M parameters), headline latencies (ms) and reductions."""
    import pandas as pd

    hidden = report["meta"]["mimic_hidden"]
    pct = int(round(report["meta"]["prune_fraction"] * 100))
    rows = []
    for name, row in report["architectures"].items():
        rows.append({
            "architecture": name,
            "kind": row.get("kind", ""),
            "layers": row["n_layers"],
            "params_full_M": row["params_full"] / 1e6,
            f"params_mimic_h{hidden}_M": row[f"params_mimic_1stage_h{hidden}"] / 1e6,
            "size_reduction_mimic": row["size_reduction_mimic"],
            f"size_reduction_pruned_{pct}pct": row["size_reduction_pruned"],
            "batch": row["headline_batch_size"],
            "latency_full_ms": row["latency_full_ms"],
            f"latency_pruned_{pct}pct_ms": row[f"latency_pruned_{pct}pct_ms"],
            "latency_mimic_ms": row["latency_mimic_ms"],
            "latency_mimic2_ms": row[f"latency_mimic_2stage_h{hidden}_ms"],
            "time_reduction_mimic": row["time_reduction_mimic"],
            f"time_reduction_pruned_{pct}pct": row["time_reduction_pruned"],
        })
    return pd.DataFrame(rows).set_index("architecture")


def latency_long(report: dict[str, Any]) -> Any:
    """Long table (architecture, model, batch, median_ms, iqr_ms) for plotting."""
    import pandas as pd

    records = []
    for name, row in report["architectures"].items():
        for variant, by_batch in row["latency"].items():
            for batch, rec in by_batch.items():
                records.append({"architecture": name, "model": variant, "batch": int(batch),
                                "median_ms": rec["median_ms"], "iqr_ms": rec["iqr_ms"],
                                "params": row[f"params_{variant}"]})
    return pd.DataFrame(records)


def add_cli(subparsers: Any) -> None:
    """``python -m redundancy timing --profile P --device D --out FILE``."""
    p = subparsers.add_parser("timing", help="time and size full, pruned and mimic models (random weights)")
    p.add_argument("--profile", default=None, help="smoke, mini (default) or paper")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--out", default=None, help="JSON file (default: results/<profile>/timing.json)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: the profile's)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=None, help="override the profile's")
    p.add_argument("--warmup", type=int, default=None, help="override the profile's warm-up passes")
    p.add_argument("--repeats", type=int, default=None, help="override the profile's repeats")
    p.add_argument("--architectures", nargs="*", default=None, help="hub names (default: the profile's)")
    p.add_argument("--no-mini", action="store_true", help="skip the tiny mini models")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    from .cache import atomic_write_json
    from .paths import results_dir

    P = load_profile(args.profile)
    report = timing_report(
        P, device=args.device,
        architectures=tuple(args.architectures) if args.architectures is not None else None,
        include_mini=not args.no_mini,
        batch_sizes=tuple(args.batch_sizes) if args.batch_sizes else None,
        warmup=args.warmup, repeats=args.repeats, threads=args.threads, progress=not args.no_progress,
    )
    out = Path(args.out) if args.out else results_dir(P.name) / "timing.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, report)
    for name, row in report["architectures"].items():
        small = row[f"params_mimic_1stage_h{report['meta']['mimic_hidden']}"]
        print(f"{name}: params {row['params_full'] / 1e6:.2f}M -> {small / 1e6:.2f}M "
              f"(-{100 * row['size_reduction_mimic']:.1f}%), latency {row['latency_full_ms']:.2f} -> "
              f"{row['latency_mimic_ms']:.2f} ms (-{100 * row['time_reduction_mimic']:.1f}%)")
    print(f"wrote {out}")
    return 0
