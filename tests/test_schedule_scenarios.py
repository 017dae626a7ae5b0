"""A what-if scenario's epochs (``benchmarks/make_models_time.py --epochs``): one family's win over its task's."""

import importlib.util
import os
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


def _basis(words_seconds: float, speakers_seconds: float) -> dict:
    return {"label": f"words at {words_seconds:g} s", "published_epochs": {"words": 2.0, "speakers": 30.0},
            "seconds_per_run": {"words": {"wall": words_seconds}},
            "speakers_seconds": {"hubert": {"seconds": speakers_seconds}}, "work_seconds": 1.0,
            "estimated_wall_seconds": 1.0}


def test_a_scenario_is_filed_under_the_costs_it_scales_and_earlier_bases_keep_theirs():
    old = make_models_time.file_scenario([], _basis(846.0, 4630.0), "words=2", {"estimated_wall_seconds": 5.0})
    assert [b["label"] for b in old] == ["words at 846 s"] and list(old[0]["scenarios"]) == ["words=2"]
    both = make_models_time.file_scenario(old, _basis(517.0, 4630.0), "no sweep", {"estimated_wall_seconds": 4.0})
    assert [list(b["scenarios"]) for b in both] == [["words=2"], ["no sweep"]]
    # new speakers costs on the same words costs are another basis, not a silent mix
    three = make_models_time.file_scenario(both, _basis(517.0, 4300.0), "no sweep", {"estimated_wall_seconds": 3.0})
    assert len(three) == 3 and three[1]["scenarios"]["no sweep"]["estimated_wall_seconds"] == 4.0
    again = make_models_time.file_scenario(three, _basis(517.0, 4300.0), "speakers=20", {"estimated_wall_seconds": 2.0})
    assert len(again) == 3 and list(again[2]["scenarios"]) == ["no sweep", "speakers=20"]
    assert list(three[2]["scenarios"]) == ["no sweep"]  # the input is not changed in place


def test_a_run_returned_by_the_cache_is_told_from_one_trained_now(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "metrics.json").write_text("{}")
    os.utime(folder / "metrics.json", (1_000_000.0, 1_000_000.0))
    assert not make_models_time.trained_since(folder, 2_000_000.0)
    assert make_models_time.trained_since(folder, 999_999.0)
    assert not make_models_time.trained_since(tmp_path / "empty", 0.0)
