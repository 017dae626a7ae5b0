"""The mimicking schedule study: each schedule trains what it says, and the table reads the record."""

import pytest

from redundancy.mimic_schedule import run_schedule_study, schedule_table


def test_smoke_study_trains_each_schedule_and_tables_it(smoke):
    doc = run_schedule_study(smoke, "wav2vec2", [("linear", 1, 8)], ((1, 1, 4), (2, 1, None)), progress=False)
    assert [(r["stage1_epochs"], r["max_train_clips"]) for r in doc["rows"]] == [(1, 4), (2, None)]
    for row in doc["rows"]:
        assert [n["network"] for n in row["networks"]] == ["stage1-only", "mimicker", "head-only"]
        for net in row["networks"]:
            assert net["relative_accuracy"] == pytest.approx(net["accuracy"] / doc["teacher_accuracy"])
    table = schedule_table(doc)
    assert list(table.index.get_level_values(0)) == ["1 + 1 epochs, 4 clips", "2 + 1 epochs, all clips"]
    assert set(table.columns) == {"stage1-only linear 1x z=8", "mimicker linear 1x z=8", "head-only"}
    first = doc["rows"][0]["networks"][1]["relative_accuracy"]
    assert table.loc["1 + 1 epochs, 4 clips"]["mimicker linear 1x z=8"].iloc[0] == pytest.approx(first)


def test_a_schedule_without_epochs_is_refused(smoke):
    with pytest.raises(ValueError, match="at least 1 epoch per stage"):
        run_schedule_study(smoke, "wav2vec2", [("linear", 1, 8)], ((0, 1, None),), progress=False)
    with pytest.raises(ValueError, match="no schedules to study"):
        run_schedule_study(smoke, "wav2vec2", [("linear", 1, 8)], (), progress=False)
