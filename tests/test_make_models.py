"""`make models` from scratch on the smoke profile: train, publish, reload, and refuse stale or
corrupt models; fine-tuning stopped midway resumes to the same result as an uninterrupted run."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from redundancy import publish
from redundancy.config import with_model_source
from redundancy.baselines import baselines_report
from redundancy.make_models import (Run, choose_learning_rate, evaluate_published, make_models, planned_runs,
                                    start_order)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def swept(smoke):
    """The smoke profile with a two-rate learning-rate sweep per family (each trial: its run up to the first validation)."""
    return dataclasses.replace(smoke, finetune=dataclasses.replace(
        smoke.finetune, lr_candidates=(2e-3, 5e-4)))


@pytest.fixture(scope="module")
def published(tmp_path_factory, swept):
    """The smoke models trained from scratch and published into a temporary models root."""
    root = tmp_path_factory.mktemp("published")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REDUNDANCY_MODELS", str(root / "models"))
        patch.setenv("REDUNDANCY_RESULTS", str(root / "results"))
        # two workers: training and publishing both take the parallel path
        report = make_models(swept, device="cpu", jobs=2, progress=False)
    return root, report


def test_the_learning_rate_sweep_picks_each_family_s_rate(published, swept):
    root, _ = published
    sweep = json.loads((root / "models" / "smoke" / "lr_sweep.json").read_text())
    assert set(sweep) == set(swept.model.families)
    for family, trial in sweep.items():
        scores = {float(lr): acc for lr, acc in trial["validation_accuracy"].items()}
        assert set(scores) == set(swept.finetune.lr_candidates)
        assert trial["chosen"] == choose_learning_rate(scores)
        provenance = json.loads((root / "models" / "smoke" / family / "words-seed0" / "provenance.json").read_text())
        assert provenance["finetune"]["learning_rate"] == trial["chosen"]
    assert choose_learning_rate({2e-3: 0.5, 5e-4: 0.5, 1e-4: 0.2}) == 5e-4  # ties: the smaller rate


def test_every_planned_model_is_published_with_provenance(published, swept, monkeypatch):
    smoke = swept
    root, report = published
    monkeypatch.setenv("REDUNDANCY_MODELS", str(root / "models"))
    runs = planned_runs(smoke)
    assert {r.state for r in runs} == {"pretrained", "words", "speakers"}
    for run in runs:
        folder = publish.model_path("smoke", run.family, run.state, run.seed, run.control)
        provenance = publish.check_published(folder, smoke)
        assert provenance["recipe_hash"] == publish.recipe_hash(smoke, run.state)
        assert provenance["family"] == run.family and provenance["seed"] == run.seed
        if run.state != "pretrained":  # the worker's threads, as its log recorded them, not the publisher's
            log = json.loads((folder / "train_log.json").read_text())
            assert provenance["torch_threads"] == log["summary"]["torch_threads"]
        for key in ("git_commit", "versions", "corpus_hash", "device", "train_seconds"):
            assert key in provenance
        assert (folder / "model.safetensors").is_file() == (run.control is None)
        assert (folder / "metrics.json").is_file()
    index = json.loads((root / "models" / "smoke" / "index.json").read_text())
    assert index["recipe_hash"] == publish.recipe_hash(smoke)
    # results/<profile>/baselines.json keeps its shape and adds seeds and both controls
    baselines = json.loads((root / "results" / "smoke" / "baselines.json").read_text())
    words = baselines["models"]["wav2vec2"]["words"]
    assert {"accuracy", "ci95", "n_test", "n_classes", "seeds"} <= set(words)
    assert words["accuracy"] == pytest.approx(np.mean(words["seeds"]))
    assert set(baselines["controls"]["wav2vec2"]) == set(publish.CONTROLS)
    baselines.pop("wall_seconds_this_call")
    assert baselines == json.loads(json.dumps(baselines_report(smoke)))


def test_published_metrics_come_from_the_stored_weights(published, swept, smoke_corpus, monkeypatch):
    smoke = swept
    root, _ = published
    monkeypatch.setenv("REDUNDANCY_MODELS", str(root / "models"))
    folder = publish.model_path("smoke", "wavlm", "words", 0)
    stored = json.loads((folder / "metrics.json").read_text())
    again = evaluate_published(folder, smoke, smoke_corpus)
    assert again["accuracy"] == stored["accuracy"]
    from safetensors.torch import load_file

    assert {t.dtype for t in load_file(str(folder / "model.safetensors")).values()} == {torch.float16}


def test_the_pipeline_reads_published_models_and_refuses_stale_or_corrupt_ones(published, swept, monkeypatch):
    smoke = swept
    from redundancy import pipeline

    root, _ = published
    monkeypatch.setenv("REDUNDANCY_MODELS", str(root / "models"))
    reading = with_model_source(smoke, "published")
    folder = pipeline.model_dir(reading, "hubert", "words", device="cpu", seed=0)
    assert folder == publish.model_path("smoke", "hubert", "words", 0)

    stale = dataclasses.replace(reading, finetune=dataclasses.replace(reading.finetune, learning_rate=0.5))
    with pytest.raises(publish.ModelsUnavailableError, match=r"stale.*make models PROFILE=smoke"):
        pipeline.model_dir(stale, "hubert", "words", device="cpu", seed=0)
    with pytest.raises(publish.ModelsUnavailableError, match="missing.*make models PROFILE=smoke"):
        pipeline.model_dir(reading, "hubert", "words", device="cpu", seed=7)

    weights = folder / "model.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(original[:-4] + b"\0\0\0\0")
    try:
        with pytest.raises(publish.ModelsUnavailableError, match="corrupt"):
            pipeline.model_dir(reading, "hubert", "words", device="cpu", seed=0)
    finally:
        weights.write_bytes(original)


def test_the_corpus_is_checked_against_the_one_the_published_models_saw(published, swept, smoke_corpus, tmp_path,
                                                                       monkeypatch):
    """With published models the pipeline's corpus is checked against their index.json: the same
    corpus passes silently, one flipped bit in one clip warns naming both hashes, and a profile
    with nothing published has nothing to check."""
    import shutil
    import warnings

    from redundancy import pipeline

    root, _ = published
    monkeypatch.setenv("REDUNDANCY_MODELS", str(root / "models"))
    reading = with_model_source(swept, "published")
    with warnings.catch_warnings():
        warnings.simplefilter("error", publish.CorpusMismatchWarning)
        assert pipeline.corpus_root(reading, progress=False) == smoke_corpus
    assert publish.check_corpus("smoke", smoke_corpus)

    changed = tmp_path / "corpus"
    shutil.copytree(smoke_corpus, changed)
    clip = sorted(changed.glob("*/*.wav"))[0]
    data = bytearray(clip.read_bytes())
    data[-1] ^= 1
    clip.write_bytes(bytes(data))
    recorded = json.loads((root / "models" / "smoke" / publish.INDEX_FILE).read_text())["corpus_hash"]
    with pytest.warns(publish.CorpusMismatchWarning, match=f"{publish.corpus_hash(changed)}.*{recorded}"):
        assert not publish.check_corpus("smoke", changed)

    # the index records the CPU code path that built its corpus; recorded as another one, the same
    # mismatch is put down to that path (MKL's rounding) instead of to the packages
    from redundancy.cpu_platform import corpus_platform

    index_file = root / "models" / "smoke" / publish.INDEX_FILE
    original = index_file.read_text()
    assert json.loads(original)["corpus_platform"] == corpus_platform()
    assert not publish.corpus_difference_explained(corpus_platform())
    assert not publish.corpus_difference_explained(None)
    try:
        index_file.write_text(json.dumps(dict(json.loads(original), corpus_platform="OtherCPU/SSE2")))
        assert publish.corpus_difference_explained("OtherCPU/SSE2")
        with pytest.warns(publish.CorpusMismatchWarning, match="another CPU code path .OtherCPU/SSE2"):
            assert not publish.check_corpus("smoke", changed)
    finally:
        index_file.write_text(original)

    monkeypatch.setenv("REDUNDANCY_MODELS", str(tmp_path / "nothing-published"))
    assert publish.check_corpus("smoke", changed)


def test_a_rebuild_on_another_cpu_code_path_is_recorded_once_the_models_score_the_same_on_it(
        published, smoke, smoke_corpus, tmp_path, monkeypatch):
    """record-corpus-rebuild refuses the training build itself and a different corpus on the same
    code path (changed data), refuses a build on which a model scores more than one clip
    differently, and otherwise records the build for this path (the training build stays the
    index's corpus hash), after which the corpus warning names it as that recorded rebuild."""
    import shutil

    from redundancy import corpus_rebuild, make_models
    from redundancy.cpu_platform import corpus_platform

    root, _ = published
    monkeypatch.setenv("REDUNDANCY_MODELS", str(root / "models"))
    index_file = root / "models" / "smoke" / publish.INDEX_FILE
    original = index_file.read_text()
    rebuilt = tmp_path / "corpus"  # the same speech with one sample's last bit flipped: another rounding
    shutil.copytree(smoke_corpus, rebuilt)
    clip = sorted(rebuilt.glob("*/*.wav"))[0]
    data = bytearray(clip.read_bytes())
    data[-1] ^= 1
    clip.write_bytes(bytes(data))
    try:
        with pytest.raises(corpus_rebuild.CorpusRebuildError, match="training build itself"):
            corpus_rebuild.record_corpus_rebuild(smoke, smoke_corpus)
        with pytest.raises(corpus_rebuild.CorpusRebuildError, match="same CPU code path"):
            corpus_rebuild.record_corpus_rebuild(smoke, rebuilt)

        index_file.write_text(json.dumps(dict(json.loads(original), corpus_platform="OtherCPU/SSE2")))
        real_evaluate = make_models.evaluate_published
        monkeypatch.setattr(make_models, "evaluate_published", lambda *a, **k: {
            **real_evaluate(*a, **k), "accuracy": -1.0})
        with pytest.raises(corpus_rebuild.CorpusRebuildError, match="more than one test clip"):
            corpus_rebuild.record_corpus_rebuild(smoke, rebuilt)
        monkeypatch.setattr(make_models, "evaluate_published", real_evaluate)

        entry = corpus_rebuild.record_corpus_rebuild(smoke, rebuilt)
        assert entry["corpus_hash"] == publish.corpus_hash(rebuilt)
        assert entry["models_checked"] == len([r for r in make_models.planned_runs(smoke)
                                               if r.state != "pretrained" and r.control is None]) > 0
        assert entry["clips_changed_in_accuracy"] <= entry["models_checked"]  # at most one clip each
        index = json.loads(index_file.read_text())
        assert publish.recorded_rebuild(index) == entry
        assert publish.recorded_rebuild(index, "YetAnotherCPU/AVX2") == {}
        # a record without MKL's branch (kept before the branch was) covers its vendor and width; an exact one wins
        legacy = {publish.REBUILDS_KEY: {"SomeCPU/AVX512": {"corpus_hash": "a"}, "SomeCPU/AVX512/mkl9": {"corpus_hash": "b"}}}
        assert publish.recorded_rebuild(legacy, "SomeCPU/AVX512/mkl7") == {"corpus_hash": "a"}
        assert publish.recorded_rebuild(legacy, "SomeCPU/AVX512/mkl9") == {"corpus_hash": "b"}
        assert publish.recorded_rebuild(legacy, "SomeCPU/AVX2/mkl9") == {}
        assert index["corpus_hash"] == json.loads(original)["corpus_hash"]  # the training build stays
        publish._corpus_matches.cache_clear()
        with pytest.warns(publish.CorpusMismatchWarning, match=f"rebuild recorded for this CPU code path .{corpus_platform()}"):
            assert not publish.check_corpus("smoke", rebuilt)
    finally:
        index_file.write_text(original)
        publish._corpus_matches.cache_clear()


def test_finetuning_resumes_after_an_interruption(tmp_path, smoke, smoke_corpus, monkeypatch):
    """A run killed after its first checkpoint continues from it and ends where an uninterrupted
    run ends: same weights, same test predictions."""
    from transformers import AutoModelForAudioClassification, Trainer

    from redundancy.finetune import finetune
    from redundancy import pipeline

    backbone = pipeline.pretrained_dir(smoke, "wavlm", "cpu", progress=False)  # the shared smoke model (project cache)
    profile = dataclasses.replace(smoke, finetune=dataclasses.replace(smoke.finetune, max_steps=6, evaluations=3))

    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "straight"))
    straight = finetune(backbone, "words", profile.finetune, corpus_root=smoke_corpus,
        speaker_min_utterances=profile.corpus.speaker_min_utterances, device="cpu", progress=False)

    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "resumed"))
    real_step = Trainer.training_step
    calls = {"n": 0}

    def dies_at_step_four(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # after the checkpoint of step 2 (3 evaluations over 6 steps)
            raise KeyboardInterrupt("simulated kill")
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "training_step", dies_at_step_four)
    with pytest.raises(KeyboardInterrupt):
        finetune(backbone, "words", profile.finetune, corpus_root=smoke_corpus,
            speaker_min_utterances=profile.corpus.speaker_min_utterances, device="cpu", progress=False)
    monkeypatch.setattr(Trainer, "training_step", real_step)
    # the training time up to the checkpoint was recorded when the checkpoint was saved, so it
    # survives a kill that runs no clean-up code
    timer, = (tmp_path / "resumed").rglob("seconds_before_resume.json")
    at_checkpoint = json.loads(timer.read_text())
    assert at_checkpoint["step"] == 2 and at_checkpoint["seconds"] > 0
    resumed = finetune(backbone, "words", profile.finetune, corpus_root=smoke_corpus,
        speaker_min_utterances=profile.corpus.speaker_min_utterances, device="cpu", progress=False)

    log = json.loads((resumed / "train_log.json").read_text())
    assert log["summary"]["resumed"] is True and log["summary"]["train_steps"] == 6
    assert log["summary"]["train_seconds"] > at_checkpoint["seconds"]  # both parts of the run
    a = AutoModelForAudioClassification.from_pretrained(str(straight)).state_dict()
    b = AutoModelForAudioClassification.from_pretrained(str(resumed)).state_dict()
    for name, tensor in a.items():
        torch.testing.assert_close(b[name], tensor, rtol=0, atol=1e-6, msg=name)
    np.testing.assert_array_equal(np.load(straight / "test_predictions.npz")["predictions"],
                                  np.load(resumed / "test_predictions.npz")["predictions"])


def test_a_sweep_prefix_is_continued_by_the_whole_run(tmp_path, smoke, smoke_corpus, monkeypatch):
    """A learning-rate trial stops after its first validation, as its own artifact; the whole run
    with that rate then continues from the trial's checkpoint (it does not train those steps again)
    and ends where an uninterrupted run ends."""
    from transformers import AutoModelForAudioClassification

    from redundancy.finetune import finetune
    from redundancy import pipeline

    backbone = pipeline.pretrained_dir(smoke, "wavlm", "cpu", progress=False)  # the shared smoke model (project cache)
    whole = dataclasses.replace(smoke.finetune, max_steps=6, evaluations=3)
    kw = dict(corpus_root=smoke_corpus, speaker_min_utterances=smoke.corpus.speaker_min_utterances,
              device="cpu", progress=False)

    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "straight"))
    straight = finetune(backbone, "words", whole, **kw)

    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "swept"))
    trial = finetune(backbone, "words", dataclasses.replace(whole, stop_after_evaluations=1), **kw)
    trial_log = json.loads((trial / "train_log.json").read_text())
    assert trial_log["summary"]["train_steps"] == 2 and len(trial_log["validation"]) == 1
    continued = finetune(backbone, "words", whole, **kw)
    assert continued != trial
    log = json.loads((continued / "train_log.json").read_text())
    assert log["summary"]["resumed"] is True and log["summary"]["train_steps"] == 6
    assert [v["step"] for v in log["validation"]] == [2, 4, 6]
    a = AutoModelForAudioClassification.from_pretrained(str(straight)).state_dict()
    b = AutoModelForAudioClassification.from_pretrained(str(continued)).state_dict()
    for name, tensor in a.items():
        torch.testing.assert_close(b[name], tensor, rtol=0, atol=1e-6, msg=name)


def test_paper_profile_runs_end_to_end_on_local_real_architecture(tmp_path, smoke_corpus, monkeypatch):
    """`make models PROFILE=paper` on a local folder of the real wav2vec2-base architecture (random
    weights) and a SynthCommands root in place of Speech Commands, with tiny step counts: the path
    users with a GPU run, exercised here first."""
    from transformers import AutoModel, Wav2Vec2Config

    from redundancy.config import load_profile
    from redundancy.preprocess import save_feature_extractor

    base = tmp_path / "wav2vec2-base-random"
    torch.manual_seed(0)
    AutoModel.from_config(Wav2Vec2Config(layerdrop=0.0)).save_pretrained(str(base))
    save_feature_extractor(base)
    paper = load_profile("paper")
    assert paper.finetune.learning_rate == 2e-5 and paper.finetune.max_steps == 10_000  # section 2.4
    profile = dataclasses.replace(
        paper,
        corpus=dataclasses.replace(paper.corpus, root=str(smoke_corpus), speaker_min_utterances=20),
        model=dataclasses.replace(paper.model, hub_names=(str(base),)),
        finetune=dataclasses.replace(paper.finetune, max_steps=2, batch_size=2, evaluations=1, seeds=(0,),
                                     tasks=("words",)),
    )
    monkeypatch.setenv("REDUNDANCY_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("REDUNDANCY_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "cache"))
    report = make_models(profile, device="cpu", jobs=1, progress=False)
    folder = publish.model_path("paper", str(base), "words", 0)
    assert folder.parent.name == str(base).replace("/", "--")
    provenance = publish.check_published(folder, profile)
    assert provenance["finetune"]["learning_rate"] == 2e-5
    config = json.loads((folder / "config.json").read_text())
    assert config["hidden_size"] == 768 and config["num_hidden_layers"] == 12
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["n_classes"] == 35 and metrics["train_steps"] == 2
    assert report["models"][str(base)]["words"]["seeds"] == [metrics["accuracy"]]


def test_a_setting_added_at_its_neutral_value_keeps_published_models_current(smoke):
    """Adding a recipe setting must not make every published model stale when the setting keeps the
    old behaviour; any other value is a new recipe."""
    neutral = dataclasses.replace(smoke, finetune=dataclasses.replace(smoke.finetune, head_lr_multiplier=1.0))
    other = dataclasses.replace(smoke, finetune=dataclasses.replace(smoke.finetune, head_lr_multiplier=30.0))
    assert "head_lr_multiplier" not in publish.recipe(neutral)["finetune"]
    assert publish.recipe(other)["finetune"]["head_lr_multiplier"] == 30.0
    assert publish.recipe_hash(neutral) != publish.recipe_hash(other)


def test_free_workers_take_what_others_wait_for_then_the_longest_runs():
    from redundancy.config import FinetuneConfig

    runs = [Run("wavlm", "speakers", 0), Run("wavlm", "words", 1), Run("wavlm", "words", 0, "random-frozen-cnn"),
            Run("wavlm", "words", 0, "random-trainable-cnn"), Run("hubert", "words", 0, learning_rate=1e-3, sweep=True),
            Run("hubert", "pretrained")]
    ordered = sorted(runs, key=start_order)
    assert [r.label for r in ordered] == ["hubert/pretrained", "hubert/words-seed0",
                                          "wavlm/words-random-trainable-cnn-seed0", "wavlm/words-seed1",
                                          "wavlm/words-random-frozen-cnn-seed0", "wavlm/speakers-seed0"]
    assert ordered[1].sweep
    # a recipe that trains the CNN: its own runs are as long as the trainable control, the frozen
    # control is now the shortest
    trained = FinetuneConfig(freeze_feature_encoder=False)
    ordered = sorted(runs, key=lambda run: start_order(run, trained))
    assert [r.label for r in ordered] == ["hubert/pretrained", "hubert/words-seed0", "wavlm/words-seed1",
                                          "wavlm/words-random-trainable-cnn-seed0", "wavlm/speakers-seed0",
                                          "wavlm/words-random-frozen-cnn-seed0"]
    # a speakers schedule of 20 epochs with a frozen CNN outlasts a 3-epoch words run that trains it
    long_speakers = FinetuneConfig(epochs=20.0)
    recipes = {"words": trained, "speakers": long_speakers}
    ordered = sorted(runs, key=lambda run: start_order(run, recipes.get(run.state)))
    assert [r.label for r in ordered][2] == "wavlm/speakers-seed0"
    # 5 speakers epochs training the CNN outlast 3 words epochs; on half-second training windows
    # their steps cost about half, so they start after the words runs
    five = FinetuneConfig(epochs=5.0, freeze_feature_encoder=False)
    for speakers, position in ((five, 2), (dataclasses.replace(five, train_crop_seconds=0.5), 4)):
        ordered = sorted(runs, key=lambda run: start_order(run, {"words": trained, "speakers": speakers}.get(run.state)))
        assert [r.label for r in ordered][position] == "wavlm/speakers-seed0"


def test_a_task_recipe_change_retrains_only_that_task_s_models(published, swept, tmp_path, monkeypatch):
    """Each published model carries its own recipe's hash: a longer speakers schedule makes the
    speakers models stale and no others, and `make models ONLY_STALE=1` retrains just those, from the
    published backbones with each family's recorded rate."""
    import shutil

    from redundancy.make_models import is_current, stale_plan

    root, _ = published
    shutil.copytree(root / "models", tmp_path / "models")
    monkeypatch.setenv("REDUNDANCY_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("REDUNDANCY_RESULTS", str(tmp_path / "results"))
    assert stale_plan(swept, planned_runs(swept)) == ([], set())  # everything current: nothing to train

    longer = dataclasses.replace(swept, task_finetune=(("speakers", (("max_steps", 4),)),))
    runs = planned_runs(longer)
    assert {r.label for r in runs if not is_current(longer, r)} == {
        f"{family}/speakers-seed0" for family in longer.model.families}
    todo, sweeping = stale_plan(longer, runs)
    sweep = json.loads((tmp_path / "models" / "smoke" / "lr_sweep.json").read_text())
    assert not sweeping and {r.state for r in todo} == {"speakers"}
    for run in todo:
        assert run.backbone == str(publish.model_path("smoke", run.family, "pretrained"))
        assert run.learning_rate == sweep[run.family]["chosen"]

    before = {r.label: (tmp_path / "models" / "smoke" / r.family / publish.folder_name(r.state, r.seed, r.control)
                        / "provenance.json").read_bytes() for r in runs}
    # the set as if trained on another CPU code path, whose build here is a recorded rebuild: the
    # retrained models see this build, and the index keeps describing the others' corpus
    from redundancy.cpu_platform import corpus_platform
    from redundancy.make_models import MixedCorpusError

    index_file = tmp_path / "models" / "smoke" / publish.INDEX_FILE
    here = json.loads(index_file.read_text())["corpus_hash"]
    elsewhere = {"corpus_hash": "0123456789abcdef", "corpus_platform": "OtherCPU/SSE2"}
    index_file.write_text(json.dumps({**json.loads(index_file.read_text()), **elsewhere}))
    with pytest.raises(MixedCorpusError, match="neither the one the published models saw"):
        make_models(longer, device="cpu", jobs=1, progress=False, only_stale=True)
    assert all((tmp_path / "models" / "smoke" / r.family / publish.folder_name(r.state, r.seed, r.control)
                / "provenance.json").read_bytes() == before[r.label] for r in runs)  # refused before training
    rebuilds = {publish.REBUILDS_KEY: {corpus_platform(): {"corpus_hash": here, "recorded_on": "2026-12-04"}}}
    index_file.write_text(json.dumps({**json.loads(index_file.read_text()), **rebuilds}))
    make_models(longer, device="cpu", jobs=1, progress=False, only_stale=True)
    for run in runs:
        folder = publish.model_path("smoke", run.family, run.state, run.seed, run.control)
        provenance = publish.check_published(folder, longer)
        if run.state == "speakers":
            assert provenance["recipe_hash"] == publish.recipe_hash(longer, "speakers") != publish.recipe_hash(swept, "speakers")
            assert provenance["finetune"]["max_steps"] == 4
            backbone = publish.read_provenance(publish.model_path("smoke", run.family, "pretrained"))
            assert provenance["backbone"]["weights_sha256"] == backbone["weights_sha256"]
            with pytest.raises(publish.ModelsUnavailableError, match="stale.*ONLY_STALE=1"):
                publish.check_published(folder, swept)
        else:  # untouched, and still current for the old recipe too
            assert (folder / "provenance.json").read_bytes() == before[run.label]
            publish.check_published(folder, swept)
    assert json.loads((tmp_path / "models" / "smoke" / "lr_sweep.json").read_text()) == sweep
    index = json.loads((tmp_path / "models" / "smoke" / "index.json").read_text())
    assert index["recipe_hash"] == publish.recipe_hash(longer)
    assert index["models"] == sorted(r.label for r in runs)
    assert {k: index[k] for k in (*elsewhere, publish.REBUILDS_KEY)} == {**elsewhere, **rebuilds}
    for run in todo:
        assert publish.read_provenance(publish.model_path("smoke", run.family, run.state, run.seed))["corpus_hash"] == here


def test_the_stale_plan_retrains_a_family_whole_when_its_backbone_is_stale(published, swept, monkeypatch):
    """A new pre-training recipe stales every model: each family retrains whole, sweep included.
    A new words recipe keeps the backbones: the words runs fine-tune them and the sweep runs again."""
    from redundancy.make_models import stale_plan

    root, _ = published
    monkeypatch.setenv("REDUNDANCY_MODELS", str(root / "models"))
    pretraining = dataclasses.replace(swept, pretrain=dataclasses.replace(swept.pretrain, steps=swept.pretrain.steps + 1))
    runs = planned_runs(pretraining)
    todo, sweeping = stale_plan(pretraining, runs)
    assert set(todo) == set(runs) and sweeping == set(swept.model.families)

    words = dataclasses.replace(swept, task_finetune=(("words", (("max_steps", 4),)),))
    todo, sweeping = stale_plan(words, planned_runs(words))
    assert sweeping == set(swept.model.families)
    assert {r.state for r in todo} == {"words"} and all(r.backbone and r.learning_rate is None for r in todo)
    assert len(todo) == len([r for r in planned_runs(words) if r.state == "words"])  # controls included


def test_schedule_seconds_waits_for_backbones_and_fills_free_workers():
    """Two workers: two backbones of 1 s, then each family's 4 s and 2 s runs, the longer first.
    Worker 1 runs a's backbone, a's 4 s run, then b's 2 s run; worker 2 b's backbone, b's 4 s run,
    a's 2 s run: both end at 7 s. One worker: all 14 s in a row."""
    from redundancy.make_models import schedule_seconds

    backbones = {f: Run(f, "pretrained") for f in "ab"}
    runs = [(backbones[f], 1.0) for f in "ab"]
    runs += [(Run(f, "words", seed), cost) for f in "ab" for seed, cost in ((0, 2.0), (1, 4.0))]
    after = {run: backbones[run.family] for run, _ in runs if run.state != "pretrained"}
    order = lambda run: (0,) if run.state == "pretrained" else (2,)
    assert schedule_seconds(runs, 2, after, order) == 7.0
    assert schedule_seconds(runs, 1, after, order) == 14.0
    # a run waits for its backbone even when a worker is free
    late = [(backbones["a"], 5.0), (Run("a", "words", 0), 1.0)]
    assert schedule_seconds(late, 2, {late[1][0]: backbones["a"]}, order) == 6.0
