"""Profiles: names, the environment variable, the error for an unknown name."""

import dataclasses
import subprocess
import sys

import pytest
import torch

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


def test_a_task_can_change_its_fine_tuning_recipe():
    from redundancy import publish

    mini = dataclasses.replace(load_profile("mini"), task_finetune=(), family_task_finetune=())  # one recipe
    longer = dataclasses.replace(mini, task_finetune=(("speakers", (("epochs", 30.0),)),))
    assert longer.finetune_for("speakers").epochs == 30.0
    assert longer.finetune_for("speakers").learning_rate == mini.finetune.learning_rate
    assert longer.finetune_for("words") == mini.finetune == mini.finetune_for("speakers")
    # no per-task change leaves the recipe (and every published model) as it was; one changes it
    assert "task_finetune" not in publish.recipe(mini)
    assert publish.recipe_hash(longer) != publish.recipe_hash(mini)
    # each published model has its own task's recipe: only the speakers models change
    assert publish.recipe_hash(longer, "speakers") != publish.recipe_hash(mini, "speakers")
    for state in ("pretrained", "words"):
        assert publish.recipe_hash(longer, state) == publish.recipe_hash(mini, state) == publish.recipe_hash(mini)
    with pytest.raises(ValueError, match="unknown task 'digits'"):
        dataclasses.replace(mini, task_finetune=(("digits", (("epochs", 3.0),)),))
    with pytest.raises(ValueError, match=r"\['epoch'\] are not FinetuneConfig settings"):
        dataclasses.replace(mini, task_finetune=(("speakers", (("epoch", 3.0),)),))


def test_the_mini_profile_gives_each_task_its_own_schedule():
    """Speakers (our extension) learns far more slowly than words: 30 epochs of batch 32, one
    validation pass each, and one backbone rate (1e-3) for every family. Words: 2 epochs of batch 8,
    two passes each, at the swept rate. The CNN and head rate are shared."""
    mini = load_profile("mini")
    words, speakers = mini.finetune_for("words"), mini.finetune_for("speakers")
    assert (words.epochs, words.batch_size, words.evaluations) == (2.0, 8, 4)
    assert (speakers.epochs, speakers.batch_size, speakers.evaluations) == (30.0, 32, 30)
    assert words == dataclasses.replace(mini.finetune, epochs=2.0, batch_size=8, evaluations=4)
    assert words.mixed_precision == speakers.mixed_precision == "no"  # float32 (bfloat16: chapter 02's study)
    assert "learning_rate" not in mini.task_changes("words") and mini.finetune.lr_candidates
    assert speakers.learning_rate == 1e-3
    assert not speakers.freeze_feature_encoder and speakers.head_lr_multiplier == words.head_lr_multiplier
    # every family trains speakers on random windows (the length that won on validation), without
    # time masks; words keeps whole clips
    recipes = {family: mini.finetune_for("speakers", family) for family in mini.model.families}
    assert {family: r.train_crop_seconds for family, r in recipes.items()} == {
        "wav2vec2": 0.5, "hubert": 0.75, "wavlm": 0.5}
    assert all(r.mask_time_prob == speakers.mask_time_prob == 0.0 for r in recipes.values())
    assert speakers.train_crop_seconds == 0.0
    assert all(mini.finetune_for("words", family) == words for family in mini.model.families)


def test_a_run_trains_with_its_tasks_recipe():
    from redundancy.make_models import Run, run_profile

    mini = load_profile("mini")
    longer = dataclasses.replace(mini, task_finetune=(("speakers", (("epochs", 30.0),)),))
    speakers = run_profile(longer, Run("wavlm", "speakers", 0, learning_rate=5e-4))
    assert (speakers.finetune.epochs, speakers.finetune.learning_rate) == (30.0, 5e-4)
    assert speakers.task_finetune == () and speakers.finetune_for("speakers") == speakers.finetune
    words = run_profile(longer, Run("wavlm", "words", 0, learning_rate=5e-4, sweep=True))
    assert words.finetune.epochs == mini.finetune.epochs
    assert words.finetune.stop_after_evaluations == mini.finetune.lr_sweep_evaluations


def test_a_task_s_own_learning_rate_wins_over_the_family_s_swept_rate():
    """The sweep picks each family's rate on words; a task whose recipe sets its own rate trains
    with it, and the other task keeps the family's rate."""
    from redundancy.make_models import Run, run_profile

    mini = load_profile("mini")
    own = dataclasses.replace(mini, task_finetune=(("speakers", (("epochs", 20.0), ("learning_rate", 1e-3))),))
    speakers = run_profile(own, Run("hubert", "speakers", 0, learning_rate=5e-4))
    assert (speakers.finetune.epochs, speakers.finetune.learning_rate) == (20.0, 1e-3)
    words = run_profile(own, Run("hubert", "words", 0, learning_rate=5e-4))
    assert words.finetune.learning_rate == 5e-4


def test_finetuned_dir_hands_each_task_its_recipe(monkeypatch):
    from redundancy import finetune, pipeline

    longer = dataclasses.replace(load_profile("mini"), task_finetune=(("speakers", (("epochs", 30.0),)),))
    seen = {}
    monkeypatch.setattr(pipeline, "pretrained_dir", lambda *args, **kwargs: "backbone")
    monkeypatch.setattr(pipeline, "corpus_root", lambda *args, **kwargs: "root")
    monkeypatch.setattr(finetune, "finetune", lambda source, task, cfg, **kwargs: seen.setdefault(task, cfg))
    for task in ("words", "speakers"):
        pipeline.finetuned_dir(longer, "wavlm", task)
    assert (seen["words"].epochs, seen["speakers"].epochs) == (longer.finetune.epochs, 30.0)


def test_a_family_can_change_its_task_recipe_and_only_its_models_go_stale(monkeypatch):
    """``family_task_finetune`` applies after the task's changes, for one family's models of one
    task: that family's recipe hash for that task changes, every other model keeps its hash (so
    the published set stays current when the field is empty), and runs and the cache path train
    with it."""
    from redundancy import finetune, pipeline, publish
    from redundancy.make_models import Run, run_profile

    mini = dataclasses.replace(load_profile("mini"), family_task_finetune=())  # every family on the task recipe
    masked = dataclasses.replace(mini, family_task_finetune=(("hubert", "speakers", (("mask_time_prob", 0.05),)),))
    assert masked.finetune_for("speakers", "hubert").mask_time_prob == 0.05
    assert masked.finetune_for("speakers", "hubert").epochs == mini.finetune_for("speakers").epochs == 30.0
    assert masked.finetune_for("speakers", "wavlm") == mini.finetune_for("speakers") == masked.finetune_for("speakers")
    assert masked.finetune_for("words", "hubert") == mini.finetune_for("words")
    assert "family_task_finetune" not in publish.recipe(mini)
    assert publish.recipe_hash(masked) != publish.recipe_hash(mini)
    assert publish.recipe_hash(masked, "speakers", "hubert") != publish.recipe_hash(mini, "speakers", "hubert")
    for family in mini.model.families:
        for state in ("pretrained", "words", "speakers"):
            if (family, state) != ("hubert", "speakers"):
                assert publish.recipe_hash(masked, state, family) == publish.recipe_hash(mini, state, family)
        assert publish.recipe_hash(mini, "speakers", family) == publish.recipe_hash(mini, "speakers")
    # a set of speakers models is named by its families' hashes; one shared recipe keeps that recipe's hash
    assert publish.task_set_hash(mini, "speakers") == publish.recipe_hash(mini, "speakers")
    mixed = publish.task_set_hash(masked, "speakers")
    assert mixed not in {publish.recipe_hash(masked, "speakers", family) for family in mini.model.families}
    assert publish.set_hash({"wavlm": "b", "hubert": "a"}) == publish.set_hash({"hubert": "a", "wavlm": "b"}) != \
        publish.set_hash({"hubert": "b", "wavlm": "a"})
    with pytest.raises(ValueError, match="at least one"):
        publish.set_hash({})
    run = run_profile(masked, Run("hubert", "speakers", 0, learning_rate=5e-4))
    assert run.finetune.mask_time_prob == 0.05 and run.finetune.learning_rate == 1e-3  # the task's own rate
    assert run.family_task_finetune == () and run.finetune_for("speakers", "hubert") == run.finetune
    seen = {}
    monkeypatch.setattr(pipeline, "pretrained_dir", lambda *args, **kwargs: "backbone")
    monkeypatch.setattr(pipeline, "corpus_root", lambda *args, **kwargs: "root")
    monkeypatch.setattr(finetune, "finetune", lambda source, task, cfg, **kwargs: seen.setdefault(cfg.mask_time_prob, cfg))
    pipeline.finetuned_dir(masked, "hubert", "speakers")
    pipeline.finetuned_dir(masked, "wavlm", "speakers")
    assert set(seen) == {0.05, mini.finetune.mask_time_prob}
    with pytest.raises(ValueError, match=r"unknown families \['whisper'\]"):
        dataclasses.replace(mini, family_task_finetune=(("whisper", "speakers", (("mask_time_prob", 0.05),)),))
    with pytest.raises(ValueError, match=r"\['masks'\] are not FinetuneConfig settings"):
        dataclasses.replace(mini, family_task_finetune=(("hubert", "speakers", (("masks", 0.05),)),))


def test_a_shorter_schedule_changes_only_its_family_and_task_and_keeps_validations_per_epoch():
    """``with_task_epochs`` (benchmarks/short_schedule.py): one family's task trains for the given
    epochs with as many validation passes per epoch as its recipe (at least one); the rest of its
    recipe, its learning rate as a run resolves it, and every other model stay as published."""
    from redundancy import publish
    from redundancy.config import with_task_epochs
    from redundancy.make_models import Run, run_profile

    mini = load_profile("mini")
    short = with_task_epochs(mini, "hubert", "speakers", 16)
    recipe, published = short.finetune_for("speakers", "hubert"), mini.finetune_for("speakers", "hubert")
    assert (recipe.epochs, recipe.evaluations) == (16.0, 16) and (published.epochs, published.evaluations) == (30.0, 30)
    assert dataclasses.replace(recipe, epochs=30.0, evaluations=30) == published  # windows and rate kept
    assert short.finetune_for("speakers", "wavlm") == mini.finetune_for("speakers", "wavlm")
    assert short.finetune_for("words", "hubert") == mini.finetune_for("words", "hubert")
    assert publish.recipe_hash(short, "speakers", "hubert") != publish.recipe_hash(mini, "speakers", "hubert")
    assert publish.recipe_hash(short, "words", "hubert") == publish.recipe_hash(mini, "words", "hubert")
    words = with_task_epochs(mini, "wavlm", "words", 2)
    assert (words.finetune_for("words", "wavlm").epochs, words.finetune_for("words", "wavlm").evaluations) == (2.0, 4)
    assert with_task_epochs(mini, "wavlm", "words", 0.1).finetune_for("words", "wavlm").evaluations == 1
    run = run_profile(words, Run("wavlm", "words", 0, learning_rate=1e-3))
    assert (run.finetune.epochs, run.finetune.learning_rate) == (2.0, 1e-3)  # the swept rate, as make models
    with pytest.raises(ValueError, match="positive"):
        with_task_epochs(mini, "wavlm", "words", 0)
    with pytest.raises(ValueError, match="unknown families"):
        with_task_epochs(mini, "whisper", "words", 2)


CHEAP_FRONT_END = dict(conv_dim=(64, 64), conv_kernel=(240, 2), conv_stride=(160, 2))


def test_a_front_end_with_the_real_frames_is_accepted_and_counts_frames_as_transformers_does():
    from redundancy.config import FRAME_STRIDE, FRAME_WINDOW, encoder_frames
    from redundancy.models import tiny_config

    model = dataclasses.replace(load_profile("mini").model, **CHEAP_FRONT_END)
    config = tiny_config("hubert", model)
    assert tuple(config.conv_kernel) == (240, 2) and config.num_feat_extract_layers == 2
    from transformers import HubertModel

    lengths = HubertModel(config)._get_feat_extract_output_lengths(torch.tensor([400, 719, 720, 16000, 31999]))
    for n_samples, frames in zip([400, 719, 720, 16000, 31999], lengths.tolist()):
        assert frames == encoder_frames(n_samples, (240, 2), (160, 2)) == (n_samples - FRAME_WINDOW) // FRAME_STRIDE + 1


@pytest.mark.parametrize("change, message", [
    (dict(conv_kernel=(400, 2), conv_stride=(160, 2), conv_dim=(64, 64)), "makes 0 frames of 400 samples"),
    (dict(conv_kernel=(240, 2), conv_stride=(80, 2), conv_dim=(64, 64)), "product is 160"),
    (dict(conv_kernel=(240, 2), conv_stride=(160, 2)), "one entry per block"),
    (dict(conv_kernel=(240, 2), conv_stride=(160, 2), conv_dim=(64, 0)), "must be positive"),
])
def test_a_front_end_that_would_misalign_pre_training_targets_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(load_profile("mini").model, **change)


def test_the_front_end_settings_leave_the_published_recipes_and_cache_keys_as_they_were():
    from redundancy import publish
    from redundancy.pretrain import stage_config

    profile = load_profile("mini")
    cheap = dataclasses.replace(profile, model=dataclasses.replace(profile.model, **CHEAP_FRONT_END))
    assert "conv_kernel" not in publish.recipe(profile, "words", "hubert")["model"]
    assert "conv_stride" not in stage_config("hubert", profile.model, profile.pretrain)["model"]
    assert publish.recipe(cheap, "words", "hubert")["model"]["conv_kernel"] == [240, 2]
    assert publish.recipe_hash(cheap, "words", "hubert") != publish.recipe_hash(profile, "words", "hubert")
    assert stage_config("hubert", cheap.model, cheap.pretrain)["model"]["conv_stride"] == (160, 2)


def test_task_changes_change_one_recipe_and_a_rate_set_there_wins_over_the_runs():
    """``with_task_changes`` (benchmarks/short_schedule.py --batch-size/--learning-rate): the changes
    apply to one family's task, after those it has, and a rate set there is the one a run trains with."""
    from redundancy.config import with_task_changes
    from redundancy.make_models import Run, run_profile

    mini = load_profile("mini")
    assert with_task_changes(mini, "hubert", "words") is mini
    small = with_task_changes(mini, "hubert", "speakers", batch_size=8, learning_rate=5e-4)
    recipe = small.finetune_for("speakers", "hubert")
    assert (recipe.batch_size, recipe.learning_rate, recipe.train_crop_seconds) == (8, 5e-4, 0.75)
    assert small.finetune_for("speakers", "wavlm") == mini.finetune_for("speakers", "wavlm")
    assert run_profile(small, Run("hubert", "speakers", 0, learning_rate=1e-3)).finetune.learning_rate == 5e-4
