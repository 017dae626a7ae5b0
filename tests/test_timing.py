"""Latency: medians and spreads, device records, a clear refusal of CUDA without CUDA; the report."""

import json

import pytest
import torch

from redundancy.config import load_profile
from redundancy.models import tiny_config
from redundancy.timing import measure_latency, settings_for, timing_report, variants_names

P = load_profile("smoke")


def _tiny():
    from transformers import AutoModelForAudioClassification

    config = tiny_config("wav2vec2", P.model)
    config.num_labels = 5
    return AutoModelForAudioClassification.from_config(config, attn_implementation="eager").eval()


def test_reports_median_and_spread_with_the_context_of_the_run():
    record = measure_latency(_tiny(), batch_size=2, device="cpu", warmup=1, repeats=5, seconds=0.5, threads=1)
    times = record["per_utterance_ms"]
    assert len(times) == 5 and all(t > 0 for t in times)
    assert record["q25_ms"] <= record["median_ms"] <= record["q75_ms"]
    assert record["iqr_ms"] == pytest.approx(record["q75_ms"] - record["q25_ms"])
    assert record["median_ms"] == pytest.approx(sorted(times)[2])
    assert record["device"] == "cpu" and record["device_name"]
    assert record["torch_version"] == torch.__version__
    assert record["threads"] == 1 and record["batch_size"] == 2


def test_thread_count_is_restored():
    before = torch.get_num_threads()
    measure_latency(_tiny(), batch_size=1, device="cpu", warmup=0, repeats=2, seconds=0.2, threads=1)
    assert torch.get_num_threads() == before


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="'cuda' was requested but CUDA is not available"):
        measure_latency(_tiny(), batch_size=1, device="cuda", warmup=0, repeats=2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(batch_size=0), "batch_size: expected a positive value"),
    (dict(repeats=1), "repeats: at least 2"),
    (dict(warmup=-1), "warmup: expected 0 or more"),
])
def test_bad_arguments_are_refused(kwargs, message):
    args = dict(batch_size=1, device="cpu", warmup=0, repeats=2, seconds=0.2) | kwargs
    with pytest.raises(ValueError, match=message):
        measure_latency(_tiny(), **args)


def test_cuda_keeps_the_papers_batch_of_128_and_cpu_uses_small_batches():
    assert 128 in settings_for(load_profile("paper"), "cuda")["batch_sizes"]
    assert 128 in settings_for(load_profile("mini"), "cuda")["batch_sizes"]
    assert max(settings_for(load_profile("mini"), "cpu")["batch_sizes"]) <= 16
    assert settings_for(load_profile("mini"), "cpu")["threads"] == 1
    assert settings_for(load_profile("mini"), "cuda")["threads"] is None


def test_report_rows_of_the_mini_models(tmp_path):
    report = timing_report(P, device="cpu", architectures=(), batch_sizes=(1, 2), warmup=0, repeats=2,
                           progress=False)
    assert set(report["architectures"]) == {"mini-wav2vec2", "mini-hubert", "mini-wavlm"}
    for row in report["architectures"].values():
        for key in ("params_full", "params_mimic_1stage_h32", "size_reduction_mimic", "latency_full_ms",
                    "latency_mimic_ms", "time_reduction_mimic", "device", "threads", "torch_version"):
            assert key in row, key
        assert row["size_reduction_mimic"] == pytest.approx(1 - row["params_mimic_1stage_h32"] / row["params_full"])
        assert row["time_reduction_mimic"] == pytest.approx(1 - row["latency_mimic_ms"] / row["latency_full_ms"])
        assert row["params_pruned_40pct"] < row["params_full"] and row["n_layers_pruned"] == 2
        assert row["params_mimic_2stage_h32"] > row["params_mimic_1stage_h32"]
        assert set(row["latency"]) == set(variants_names()) and set(row["latency"]["full"]) == {"1", "2"}
        assert row["headline_batch_size"] == 2 and row["latency_full_ms"] == row["latency"]["full"]["2"]["median_ms"]
    assert report["meta"]["device"] == "cpu" and report["meta"]["batch_sizes"] == [1, 2]
    json.dumps(report)  # JSON-ready


def test_cli_writes_the_report(tmp_path):
    from redundancy.cli import main

    out = tmp_path / "timing.json"
    assert main(["timing", "--profile", "smoke", "--device", "cpu", "--out", str(out), "--architectures",
                 "--batch-sizes", "1", "--warmup", "0", "--repeats", "2", "--no-progress"]) == 0
    report = json.loads(out.read_text())
    assert report["meta"]["profile"] == "smoke" and len(report["architectures"]) == 3
