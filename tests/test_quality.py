"""One model-quality rule for every chapter: failed below twice chance, weak below 0.5, else strong."""

import pytest

from redundancy import quality
from redundancy.quality import chance_level, model_quality, quality_note


def test_the_three_levels_on_the_words_task():
    assert chance_level(35) == pytest.approx(1 / 35)
    assert model_quality(0.05, 35) == "failed"  # 0.05 < 2/35 = 0.057
    assert model_quality(0.06, 35) == "weak"
    assert model_quality(0.49, 35) == "weak"
    assert model_quality(0.5, 35) == "strong"
    assert model_quality(0.97, 35) == "strong"


def test_the_failure_line_follows_the_number_of_classes():
    assert model_quality(0.02, 128) == "weak"  # twice chance is 0.016 for 128 speakers
    assert model_quality(0.015, 128) == "failed"
    # twice chance would be 1.0 for two classes: the line stops halfway between chance and perfect
    assert model_quality(0.9, 2) == "strong" and model_quality(0.7, 2) == "failed"


def test_notes_say_why():
    assert quality_note(0.05, 35).startswith("failed its task")
    assert quality_note(0.3, 35) == "weak: accuracy 0.30 < 0.5"
    assert quality_note(0.9, 35) == "strong: accuracy 0.90"


def test_the_scorecard_and_mimicking_apply_the_same_rule(monkeypatch):
    from redundancy.mimicking import is_near_chance
    from redundancy.scorecard import usable_models

    results = {"baselines": {"models": {"a": {"words": {"accuracy": 0.3}}, "b": {"words": {"accuracy": 0.8}}}}}
    usable, flagged = usable_models(results, ["a", "b"])
    assert usable == ["b"] and flagged["a"].startswith("words weak")
    assert is_near_chance({"accuracy": 0.05, "n_classes": 35}) and not is_near_chance({"accuracy": 0.3, "n_classes": 35})
    monkeypatch.setattr(quality, "STRONG_ACCURACY", 0.2)  # the notebook's exercise: one constant moves every chapter
    assert usable_models(results, ["a", "b"])[0] == ["a", "b"]


@pytest.mark.parametrize("accuracy, n_classes", [(1.5, 35), (-0.1, 35), (0.5, 1)])
def test_impossible_inputs_are_refused(accuracy, n_classes):
    with pytest.raises(ValueError):
        model_quality(accuracy, n_classes)
