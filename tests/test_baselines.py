"""Baselines helpers that read training logs: convergence is judged from the validation passes."""

import numpy as np
import pytest

from redundancy.baselines import (convergence_table, front_end_projection_table, front_end_runs_table,
                                  front_end_step_table, paired_against_recorded, paired_prediction_difference,
                                  partial_freeze_table, pretraining_margins, recipe_label, recipe_study_table,
                                  recorded_family_recipe, recorded_set_differences, regularisation_study_table,
                                  scenario_epochs, schedule_scenario_table, schedule_trial_entry, set_change_table, bf16_step_table,
                                  short_schedule_table)


def _run(accs, losses=(3.0, 1.0)):
    return {"validation": [{"step": 10 * (i + 1), "epoch": 0.5 * (i + 1), "accuracy": a} for i, a in enumerate(accs)],
            "curve": [{"step": i, "loss": loss} for i, loss in enumerate(losses)]}


def test_a_run_still_rising_at_its_end_is_marked():
    table = convergence_table({"rising": _run([0.2, 0.5, 0.7]), "flat": _run([0.2, 0.6, 0.61]),
                               "peaked": _run([0.5, 0.8, 0.7]), "single": _run([0.4])}).set_index("run")
    assert table.loc["rising", "still rising"]
    assert not table.loc["flat", "still rising"] and not table.loc["peaked", "still rising"]
    assert table.loc["peaked", "best validation"] == 0.8 and table.loc["peaked", "best at epoch"] == 1.0
    assert table.loc["single", "still rising"] is None and table.loc["single", "passes"] == 1
    assert table.loc["rising", "final train loss"] == 1.0


def _folder(path, predictions, labels):
    path.mkdir(parents=True)
    np.savez(path / "test_predictions.npz", predictions=np.asarray(predictions), labels=np.asarray(labels))
    return str(path)


def test_pretraining_margin_is_paired_over_the_same_clips(tmp_path):
    labels = np.arange(400) % 4
    good = labels.copy()
    good[:40] = (good[:40] + 1) % 4  # 0.9 correct
    poor = labels.copy()
    poor[:200] = (poor[:200] + 1) % 4  # 0.5 correct
    folders = {"m/words-seed0": _folder(tmp_path / "a", good, labels),
               "m/words-random-frozen-cnn-seed0": _folder(tmp_path / "b", poor, labels),
               "m/words-random-trainable-cnn-seed0": _folder(tmp_path / "c", good, labels),
               "m/words-seed1": _folder(tmp_path / "d", poor, labels)}
    rows = {r["control"]: r for r in pretraining_margins(folders, n_boot=300)}
    frozen, trainable = rows["random-frozen-cnn"], rows["random-trainable-cnn"]
    assert frozen["margin"] == pytest.approx(0.4) and frozen["clearly above"]
    assert frozen["margin ci95"][0] < 0.4 < frozen["margin ci95"][1]
    assert trainable["margin"] == 0.0 and not trainable["clearly above"]
    folders["m/words-random-frozen-cnn-seed0"] = _folder(tmp_path / "e", poor[:300], labels[:300])
    with pytest.raises(ValueError, match="different clips"):
        pretraining_margins(folders)


def test_recipe_study_table_has_one_row_per_trial_and_a_column_per_evaluation():
    def trial(head, accs):
        return {"family": "wav2vec2", "task": "words", "learning_rate": 5e-4, "head_lr_multiplier": head,
                "batch_size": 32, "epochs": 1.0, "seconds": 180.0,
                "curve": [{"epoch": 0.5 * (i + 1), "validation_accuracy": a, "train_loss": 2.0} for i, a in enumerate(accs)]}

    table = recipe_study_table([trial(1.0, [0.1, 0.24]), trial(30.0, [0.3, 0.6])])
    assert len(table) == 2
    assert list(table.columns) == ["val @ 0.5 ep", "val @ 1 ep", "seconds"]
    assert table.xs(30.0, level="head x")["val @ 1 ep"].item() == 0.6
    assert table.index.get_level_values("backbone lr")[0] == "0.0005"


def test_trainable_cnn_table_shows_both_pretrained_runs_and_each_margin():
    from redundancy.baselines import trainable_cnn_table

    margins = [{"model": "wavlm", "control": "random-frozen-cnn", "pre-trained": 0.95, "control accuracy": 0.53,
                "margin": 0.42, "margin ci95": [0.40, 0.44], "clearly above": True},
               {"model": "wavlm", "control": "random-trainable-cnn", "pre-trained": 0.95, "control accuracy": 0.93,
                "margin": 0.02, "margin ci95": [-0.01, 0.05], "clearly above": False}]
    doc = {"rows": [{"family": "wavlm", "learning_rate": 5e-4, "accuracy": 0.95, "frozen_cnn_accuracy": 0.88,
                     "margins": margins}]}
    table = trainable_cnn_table(doc)
    assert table.loc["wavlm", "pre-trained, CNN trained"] == 0.95
    assert table.loc["wavlm", "pre-trained, CNN frozen"] == 0.88
    assert table.loc["wavlm", "random-trainable-cnn control"] == 0.93
    assert table.loc["wavlm", "margin over random-trainable-cnn"] == "+0.020 [-0.010, +0.050]"


def test_margin_sentence_says_above_below_or_indistinguishable_by_the_interval():
    from redundancy.baselines import margin_sentence

    row = {"model": "hubert", "control": "random-trainable-cnn", "pre-trained": 0.816, "control accuracy": 0.902,
           "margin": -0.086, "margin ci95": [-0.105, -0.068]}
    assert margin_sentence(row) == ("hubert: pre-trained 0.816 is below its random-trainable-cnn control (0.902): "
                                    "margin -0.086 [-0.105, -0.068]")
    assert " above " in margin_sentence(dict(row, **{"margin ci95": [0.01, 0.03]}))
    assert "indistinguishable from" in margin_sentence(dict(row, **{"margin ci95": [-0.01, 0.03]}))


def test_recipe_label_names_the_schedule_rate_and_only_the_regularisers_in_use():
    plain = {"epochs": 30.0, "learning_rate": 1e-3, "dropout": None, "mask_time_prob": 0.0}
    assert recipe_label(plain) == "30 epochs, lr 0.001"
    masked = plain | {"epochs": 20.0, "mask_time_prob": 0.05, "dropout": 0.1}
    assert recipe_label(masked) == "20 epochs, lr 0.001, dropout 0.1, time masks p=0.05"
    assert recipe_label(plain | {"pooling": "mean+std"}) == "30 epochs, lr 0.001, mean+std pooling"
    assert recipe_label(plain | {"pooling": "mean"}) == "30 epochs, lr 0.001"
    assert recipe_label(plain | {"train_crop_seconds": 0.5}) == "30 epochs, lr 0.001, 0.5 s windows"
    assert recipe_label(plain | {"train_crop_seconds": 0.0}) == "30 epochs, lr 0.001"
    assert recipe_label(plain | {"train_crop_seconds": 0.5, "mixed_precision": "bf16"}) == "30 epochs, lr 0.001, 0.5 s windows, bfloat16"
    assert recipe_label(plain | {"mixed_precision": "no"}) == "30 epochs, lr 0.001"


def test_paired_difference_of_two_models_on_the_same_clips():
    labels = np.arange(200) % 5
    better = labels.copy()
    better[:20] = (labels[:20] + 1) % 5  # 0.90
    worse = labels.copy()
    worse[:60] = (labels[:60] + 1) % 5  # 0.70, wrong on every clip the better one gets wrong
    acc, other, diff, low, high = paired_prediction_difference(better, worse, labels)
    assert (acc, other) == (0.9, 0.7) and diff == pytest.approx(0.2)
    assert 0.0 < low < diff < high  # paired: 40 clips differ, all one way
    with pytest.raises(ValueError, match="same test clips"):
        paired_prediction_difference(better[:10], worse, labels)


def test_a_model_pairs_with_recorded_predictions_of_the_same_clips_only(tmp_path):
    labels = np.arange(50) % 5
    np.savez(tmp_path / "test_predictions.npz", predictions=labels, labels=labels)
    recorded = {"test_predictions": ((labels + 1) % 5).tolist(), "test_labels": labels.tolist()}
    assert paired_against_recorded(tmp_path, recorded)[:3] == (1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="different clips"):
        paired_against_recorded(tmp_path, recorded | {"test_labels": ((labels + 2) % 5).tolist()})
    with pytest.raises(ValueError, match="no test predictions"):
        paired_against_recorded(tmp_path, {"test_accuracy": 0.5})


def test_partial_freeze_table_pairs_each_family_with_its_step_times_when_measured():
    row = {"family": "hubert", "frozen_cnn_blocks": 3, "accuracy": 0.93, "published_accuracy": 0.926,
           "best_validation_accuracy": 0.93, "published_best_validation_accuracy": 0.929,
           "paired": {"difference": 0.004, "ci95": [-0.01, 0.018]}}
    steps = {"families": {"hubert": {"variants_step_s": {"plain": 0.66, "lowest 3 CNN blocks frozen": 0.44}}}}
    with_steps = partial_freeze_table({"rows": [row]}, steps)
    assert with_steps.loc[("hubert", 3), "lowest blocks frozen"] == 0.93
    assert with_steps.loc[("hubert", 3), "difference [95 % CI]"] == "+0.004 [-0.010, +0.018]"
    assert with_steps.loc[("hubert", 3), "speed-up"] == 1.5
    assert "speed-up" not in partial_freeze_table({"rows": [row]}).columns
    # studies of several block counts: one row each, the step times of their own count
    two = row | {"frozen_cnn_blocks": 2, "accuracy": 0.92}
    steps["families"]["hubert"]["variants_step_s"]["lowest 2 CNN blocks frozen"] = 0.55
    both = partial_freeze_table({"rows": [row, two]}, steps)
    assert both.loc[("hubert", 2), "lowest blocks frozen"] == 0.92
    assert both.loc[("hubert", 2), "speed-up"] == 1.2
    assert both.loc[("hubert", 3), "speed-up"] == 1.5


def test_recorded_sets_are_compared_with_todays_models_clip_by_clip(tmp_path):
    labels = np.arange(40) % 4
    np.savez(tmp_path / "test_predictions.npz", predictions=labels, labels=labels)
    recipe = {"epochs": 30.0, "learning_rate": 1e-3}
    history = [{"recipe": recipe, "families": {
        "hubert": {"test_predictions": ((labels + 1) % 4).tolist(), "test_labels": labels.tolist()},
        "wavlm": {"test_accuracy": 0.5},  # recorded before predictions were kept: left out
        "wav2vec2": {"test_predictions": labels.tolist(), "test_labels": labels.tolist()}}}]
    table = recorded_set_differences(history, {"hubert/speakers-seed0": str(tmp_path)})
    assert list(table["family"]) == ["hubert"]  # wav2vec2 is not published today
    row = table.iloc[0]
    assert (row["earlier recipe"], row["earlier test"], row["published test"]) == ("30 epochs, lr 0.001", 0.0, 1.0)
    assert row["difference [95 % CI]"].startswith("+1.000")
    assert recorded_set_differences([], {}).empty
    # a set with a recipe per family (no shared one) labels each family with its own
    masked = recipe | {"mask_time_prob": 0.05}
    per_family = [{"recipe_hash": "mixed", "families": {
        "hubert": {"recipe": masked, "test_predictions": labels.tolist(), "test_labels": labels.tolist()}}}]
    table = recorded_set_differences(per_family, {"hubert/speakers-seed0": str(tmp_path)})
    assert table.iloc[0]["earlier recipe"] == "30 epochs, lr 0.001, time masks p=0.05"
    assert recorded_family_recipe(history[0], "wavlm") == recipe  # the set's shared recipe
    assert recorded_family_recipe(per_family[0], "hubert") == masked
    with pytest.raises(KeyError, match="no recipe for wavlm"):
        recorded_family_recipe(per_family[0], "wavlm")


def test_regularisation_study_table_lines_each_run_up_with_its_published_model():
    run = {"model": "hubert", "changes": {"mask_time_prob": 0.05}, "test_accuracy": 0.81,
           "published": {"test_accuracy": 0.776, "best_validation_accuracy": 0.802},
           "paired_difference": {"difference": 0.034, "ci95": [0.01, 0.058]}, "best_validation_accuracy": 0.82,
           "validation": [{"epoch": float(e), "accuracy": 0.02 * e} for e in range(1, 31)],
           "final_train_loss": 0.01, "train_seconds": 5400.0}
    table = regularisation_study_table({"runs": {"hubert: mask_time_prob=0.05": run}})
    row = table.loc[("hubert", "mask_time_prob=0.05")]
    assert row["test"] == 0.81 and row["published test"] == 0.776
    assert row["difference [95 % CI]"] == "+0.034 [+0.010, +0.058]"
    assert row["validation @ 5 ep"] == pytest.approx(0.1) and row["validation @ 15 ep"] == pytest.approx(0.3)
    assert row["final train loss"] == 0.01 and row["training s"] == 5400.0


def test_short_schedule_table_pairs_each_shorter_run_with_the_published_one_and_checks_the_target():
    run = {"model": "hubert", "task": "words", "epochs": 2.0, "test_accuracy": 0.863,
           "published": {"epochs": 3.0, "test_accuracy": 0.926, "best_validation_accuracy": 0.929,
                         "train_seconds": 1103.0},
           "paired_difference": {"difference": -0.062, "ci95": [-0.076, -0.046]},
           "best_validation_accuracy": 0.861, "train_seconds": 492.0}
    table = short_schedule_table({"runs": {"hubert words: 2 epochs": run}}, {"words": 0.90, "speakers": 0.80})
    row = table.loc[("hubert", "words", 2.0)]
    assert (row["test"], row["published test"], row["published epochs"]) == (0.863, 0.926, 3.0)
    assert row["difference [95 % CI]"] == "-0.062 [-0.076, -0.046]"
    assert (row["training s"], row["published training s"]) == (492.0, 1103.0)
    assert not row["reaches target"]
    assert "reaches target" not in short_schedule_table({"runs": {"r": run}}).columns
    assert "started from" not in table.columns


def test_short_schedule_table_tells_runs_apart_by_batch_size_when_they_record_it():
    published = {"epochs": 30.0, "test_accuracy": 0.876, "best_validation_accuracy": 0.88, "train_seconds": 4630.0}
    common = {"model": "hubert", "task": "speakers", "epochs": 12.0, "published": published,
              "paired_difference": {"difference": -0.1, "ci95": [-0.12, -0.08]}, "best_validation_accuracy": 0.7,
              "train_seconds": 2000.0, "published_batch_size": 32, "published_learning_rate": 0.001}
    study = {"runs": {"a": {**common, "test_accuracy": 0.70, "batch_size": 32, "learning_rate": 0.001},
                      "b": {**common, "test_accuracy": 0.81, "batch_size": 8, "learning_rate": 0.0005}}}
    table = short_schedule_table(study, {"speakers": 0.80})
    small = table.loc[("hubert", "speakers", 12.0, 8)]
    assert (small["test"], small["learning rate"], small["published batch"]) == (0.81, "0.0005", 32)
    assert table.round(3).loc[("hubert", "speakers", 12.0, 8), "published learning rate"] == "0.001"
    assert small["reaches target"] and not table.loc[("hubert", "speakers", 12.0, 32), "reaches target"]


def test_short_schedule_table_tells_runs_apart_by_seed_and_control_when_any_run_has_them():
    published = {"epochs": 3.0, "test_accuracy": 0.93, "best_validation_accuracy": 0.93, "train_seconds": 800.0}
    common = {"model": "hubert", "task": "words", "epochs": 2.0, "published": published,
              "paired_difference": {"difference": 0.0, "ci95": [-0.01, 0.01]}, "best_validation_accuracy": 0.9,
              "train_seconds": 500.0}
    study = {"runs": {"a": {**common, "test_accuracy": 0.91, "seed": 0, "control": None},
                      "b": {**common, "test_accuracy": 0.92, "seed": 1, "control": None},
                      "c": {**common, "test_accuracy": 0.89, "seed": 0, "control": "random-trainable-cnn"},
                      "d": {**common, "test_accuracy": 0.90}}}  # recorded before seeds and controls were
    table = short_schedule_table(study, {"words": 0.90})
    assert table.index.names == ["family", "task", "model", "seed", "epochs"]
    assert table.loc[("hubert", "words", "pre-trained", 1, 2.0), "test"] == 0.92
    assert table.loc[("hubert", "words", "random-trainable-cnn", 0, 2.0), "test"] == 0.89
    assert len(table.loc[("hubert", "words", "pre-trained", 0, 2.0)]) == 2  # a and d
    assert short_schedule_table({"runs": {"d": study["runs"]["d"]}}).index.names == ["family", "task", "epochs"]


def test_short_schedule_table_shows_the_starting_backbone_of_a_warm_start_run():
    run = {"model": "hubert", "task": "speakers", "epochs": 6.0, "test_accuracy": 0.42,
           "started_from": "hubert/words-seed0",
           "published": {"epochs": 30.0, "test_accuracy": 0.876, "best_validation_accuracy": 0.88,
                         "train_seconds": 4630.0, "started_from": "hubert/pretrained"},
           "paired_difference": {"difference": -0.455, "ci95": [-0.484, -0.426]},
           "best_validation_accuracy": 0.434, "train_seconds": 893.0}
    row = short_schedule_table({"runs": {"hubert: 6 epochs": run}}, {"speakers": 0.80}).loc[("hubert", "speakers", 6.0)]
    assert (row["started from"], row["published started from"]) == ("hubert/words-seed0", "hubert/pretrained")
    assert not row["reaches target"]


def test_schedule_scenario_table_lists_the_basis_first_then_each_scenario_longest_first():
    basis = {"published_epochs": {"words": 3.0, "speakers": 30.0}, "work_seconds": 10800.0, "estimated_wall_seconds": 5400.0,
             "scenarios": {"speakers=8 no sweep": {"epochs": {"speakers": 8.0}, "sweep": False,
                                                   "work_seconds": 3600.0, "estimated_wall_seconds": 1800.0},
                           "no sweep": {"epochs": {}, "sweep": False, "work_seconds": 7200.0,
                                        "estimated_wall_seconds": 3600.0}}}
    table = schedule_scenario_table(basis)
    assert list(table.index) == ["published recipe", "no sweep", "speakers=8 no sweep"]
    assert table.loc["published recipe", "wall h on 2 workers"] == 1.5 and table.loc["published recipe", "learning rates swept"]
    assert table.loc["published recipe", "speakers epochs"] == 30.0
    assert table.loc["speakers=8 no sweep", "speakers epochs"] == 8.0 and table.loc["speakers=8 no sweep", "words epochs"] == 3.0
    assert table.loc["no sweep", "work h"] == 2.0 and not table.loc["no sweep", "learning rates swept"]


def test_a_scenario_with_one_familys_own_epochs_shows_them_beside_the_common_ones():
    assert scenario_epochs({"speakers": 18.0, "wavlm:speakers": 22.0}, "speakers", 30.0) == "18 (wavlm 22)"
    assert scenario_epochs({"wavlm:speakers": 22.0}, "speakers", 30.0) == "30 (wavlm 22)"
    assert scenario_epochs({"wavlm:speakers": 22.0}, "words", 3.0) == 3.0
    assert scenario_epochs({}, "words", 3.0) == 3.0


def test_the_front_end_tables_show_step_ratios_the_projected_hours_and_each_run_against_its_published_one():
    study = {"step": {"families": {"hubert": {"words": {"clip_seconds": 1.0, "real_s": 0.5, "cheap_s": 0.3, "ratio": 0.6}}},
                      "projection": {"measured_work_s": {"words": 7200.0, "speakers": 3600.0},
                                     "cheap_work_s": {"words": 3600.0, "speakers": 1800.0},
                                     "measured_total_s": 10800.0, "cheap_total_s": 5400.0}},
             "runs": {"hubert": {"words": {"accuracy": 0.91, "ci95": [0.9, 0.92], "best_validation_accuracy": 0.92,
                                           "train_seconds": 500.0, "published_accuracy": 0.926,
                                           "published_best_validation_accuracy": 0.929, "published_train_seconds": 800.0,
                                           "paired": {"difference": -0.016, "ci95": [-0.03, -0.002]}}}}}
    steps = front_end_step_table(study)
    assert steps.loc[("hubert", "words"), "ratio"] == 0.6
    hours = front_end_projection_table(study)
    assert hours.loc["words", "cheap front end work h"] == 1.0
    assert hours.loc["all, on 2 workers (h)", "measured work h"] == 1.5
    assert hours.loc["all, on 2 workers (h)", "cheap front end work h"] == 0.75
    runs = front_end_runs_table(study, {"words": 0.90})
    assert runs.loc[("hubert", "words"), "difference [95 % CI]"] == "-0.016 [-0.030, -0.002]"
    assert runs.loc[("hubert", "words"), "training s, published / cheap"] == "800 / 500"
    study["runs"]["hubert"]["words"]["published_resumed"] = True  # its 800 s are only its last stretch
    assert front_end_runs_table(study).loc[("hubert", "words"), "training s, published / cheap"] == "resumed / 500"
    assert bool(runs.loc[("hubert", "words"), "reaches target"]) is True
    assert "reaches target" not in front_end_runs_table(study).columns
    assert front_end_runs_table({"step": study["step"]}).empty  # timed, not yet trained


def _trained(path, predictions, labels, **metrics):
    import json
    folder = _folder(path, predictions, labels)
    (path / "metrics.json").write_text(json.dumps({"ci95": [0.0, 1.0], "final_train_loss": 0.5, **metrics}))
    (path / "train_log.json").write_text(json.dumps({"curve": [], "validation": [{"epoch": 1.0, "accuracy": 0.4}]}))
    return folder


def test_a_schedule_trial_entry_pairs_the_trial_with_the_published_model_and_feeds_the_table(tmp_path):
    labels = np.arange(200) % 4
    half = labels.copy()
    half[:100] = (half[:100] + 1) % 4
    trial = _trained(tmp_path / "trial", half, labels, best_validation_accuracy=0.4, train_seconds=90.0)
    published = _trained(tmp_path / "pub", labels, labels, best_validation_accuracy=0.9, train_seconds=900.0)
    entry = schedule_trial_entry(trial, published, 30.0)
    assert entry["test_accuracy"] == 0.5 and entry["published"]["test_accuracy"] == 1.0
    assert entry["paired_difference"]["difference"] == pytest.approx(-0.5)
    assert entry["published"]["epochs"] == 30.0 and entry["validation"] == [{"epoch": 1.0, "accuracy": 0.4}]
    row = short_schedule_table({"runs": {"t": {"model": "m", "task": "speakers", "epochs": 3.0, **entry}}}).iloc[0]
    assert (row["training s"], row["published training s"]) == (90.0, 900.0)
    assert entry["resumed"] is False and entry["published"]["resumed"] is False
    resumed = _trained(tmp_path / "resumed", labels, labels, best_validation_accuracy=0.9, train_seconds=190.0,
                       resumed=True)  # its seconds cover only the stretch after the resume
    entry = schedule_trial_entry(trial, resumed, 30.0)
    assert entry["published"]["resumed"] is True and entry["published"]["train_seconds"] == 190.0
    row = short_schedule_table({"runs": {"t": {"model": "m", "task": "speakers", "epochs": 3.0, **entry}}}).iloc[0]
    assert row["training s"] == 90.0 and row["published training s"] is None
    with pytest.raises(ValueError, match="different clips"):
        schedule_trial_entry(_trained(tmp_path / "other", labels[:100], labels[:100], best_validation_accuracy=0.1,
                                      train_seconds=1.0), published, 30.0)


def test_the_set_change_table_pairs_each_model_with_its_predecessor_and_its_time():
    record = {"label": "bfloat16 autocast", "models": {
        "hubert/words-seed0": {"before": 0.936, "after": 0.930, "difference": -0.006, "ci95": [-0.02, 0.008],
                               "train_seconds_before": 500.0, "train_seconds_after": 300.0},
        "wavlm/speakers-seed0": {"before": 0.863, "after": 0.871, "difference": 0.008, "ci95": [-0.01, 0.03],
                                 "train_seconds_before": 3600.0, "train_seconds_after": None}}}
    table = set_change_table(record)
    assert table.loc[("hubert", "words-seed0"), "time ratio"] == 0.6
    assert table.loc[("hubert", "words-seed0"), "difference [95 % CI]"] == "-0.006 [-0.020, +0.008]"
    assert np.isnan(table.loc[("wavlm", "speakers-seed0"), "time ratio"])  # a missing time leaves it blank


def test_the_bf16_step_table_shows_each_platforms_variants_and_leaves_missing_ones_blank():
    study = {"platforms": {
        "GenuineIntel/AVX512": {"batch_size": 32, "families": {"wavlm": {"step_s": {"float32": 0.5, "bfloat16 autocast": 0.3}}}},
        "AuthenticAMD/AVX512/mkl2": {"batch_size": 8, "families": {"wavlm": {"step_s": {
            "float32": 0.12, "bfloat16 autocast": 0.08, "bfloat16 autocast, eager attention": 0.06}}}}}}
    table = bf16_step_table(study)
    assert table.loc[("AuthenticAMD/AVX512/mkl2", "wavlm"), "bfloat16 autocast, eager attention x"] == pytest.approx(2.0)
    assert table.loc[("GenuineIntel/AVX512", "wavlm"), "bfloat16 autocast x"] == pytest.approx(5 / 3)
    assert np.isnan(table.loc[("GenuineIntel/AVX512", "wavlm"), "bfloat16 autocast, eager attention s"])
    assert table.loc[("GenuineIntel/AVX512", "wavlm"), "batch"] == 32
