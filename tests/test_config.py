"""Profiles: names, the environment variable, the error for an unknown name."""

import subprocess
import sys

import pytest

from redundancy.config import PROFILE_NAMES, load_profile, resolve_device


def test_three_profiles_load_by_name():
    for name in PROFILE_NAMES:
        assert load_profile(name).name == name
    assert set(PROFILE_NAMES) == {"smoke", "mini", "paper"}


def test_default_is_mini_and_env_var_chooses(monkeypatch):
    monkeypatch.delenv("REDUNDANCY_PROFILE", raising=False)
    assert load_profile().name == "mini"
    monkeypatch.setenv("REDUNDANCY_PROFILE", "smoke")
    assert load_profile().name == "smoke"
    assert load_profile(None).name == "smoke"


def test_unknown_profile_lists_valid_names():
    with pytest.raises(ValueError) as error:
        load_profile("nope")
    for name in ("smoke", "mini", "paper"):
        assert name in str(error.value)


def test_unknown_profile_from_a_fresh_interpreter():
    """The exact command of the issue fails and names the valid profiles."""
    run = subprocess.run(
        [sys.executable, "-c", "from redundancy.config import load_profile; load_profile('nope')"],
        capture_output=True, text=True,
    )
    assert run.returncode != 0
    assert all(name in run.stderr for name in ("smoke", "mini", "paper"))


def test_smoke_is_smaller_than_mini():
    smoke, mini = load_profile("smoke"), load_profile("mini")
    assert smoke.corpus.n_speakers < mini.corpus.n_speakers
    assert smoke.model.hidden_size < mini.model.hidden_size
    assert smoke.pretrain.steps < mini.pretrain.steps
    assert mini.model.num_hidden_layers >= 8  # never fewer than 8 blocks in the mini world


def test_resolve_device_refuses_cuda_without_gpu():
    import torch

    assert resolve_device("auto") in ("cpu", "cuda")
    assert resolve_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("tpu")
