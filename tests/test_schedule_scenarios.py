"""A what-if scenario's epochs (``benchmarks/make_models_time.py --epochs``): one family's win over its task's."""

import importlib.util
from pathlib import Path

import pytest

from redundancy.baselines import scaled_epochs, unknown_targets
from redundancy.config import load_profile

_SPEC = importlib.util.spec_from_file_location(
    "make_models_time", Path(__file__).resolve().parents[1] / "benchmarks" / "make_models_time.py")
make_models_time = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(make_models_time)


def test_a_familys_own_epochs_win_over_its_tasks_and_other_families_keep_the_tasks():
    changes = make_models_time.epoch_changes(["words=1.5", "speakers=20", "wavlm:speakers=22"])
    assert changes == {"words": 1.5, "speakers": 20.0, "wavlm:speakers": 22.0}
    assert scaled_epochs(changes, "wavlm", "speakers") == 22.0
    assert scaled_epochs(changes, "hubert", "speakers") == 20.0
    assert scaled_epochs({"wavlm:speakers": 22.0}, "hubert", "speakers") is None


def test_unknown_tasks_and_families_and_bad_numbers_are_refused():
    profile = load_profile("mini")
    assert unknown_targets({"words": 2.0, "hubert:speakers": 18.0}, profile) == []
    assert unknown_targets({"vowels": 2.0, "bert:speakers": 1.0, "hubert:vowels": 1.0},
                           profile) == ["bert:speakers", "hubert:vowels", "vowels"]
    with pytest.raises(SystemExit, match="TASK=EPOCHS"):
        make_models_time.epoch_changes(["speakers"])
    with pytest.raises(SystemExit, match="positive"):
        make_models_time.epoch_changes(["hubert:speakers=0"])
