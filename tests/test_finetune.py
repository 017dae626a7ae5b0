"""Fine-tuning: the loss goes down, the saved model reloads with identical predictions, the paper
path (a folder of the real wav2vec2-base architecture) runs end to end, metrics are sane."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from redundancy.finetune import (DROPOUT_SETTINGS, accuracy_summary, build_classifier, checkpoint_dropouts, finetune,
                                 predict, read_curve, read_metrics)
from redundancy.models import tiny_config
from redundancy.preprocess import prepare_inputs, save_feature_extractor


def _random_backbone(folder, config):
    from transformers import AutoModel

    torch.manual_seed(0)
    model = AutoModel.from_config(config)
    model.save_pretrained(str(folder))
    save_feature_extractor(folder)
    return folder


def test_finetune_loss_goes_down_and_reload_is_identical(tmp_path, smoke, smoke_corpus, monkeypatch):
    """A smoke model pre-trained here, fine-tuned for 60 short steps on the 3 smoke speakers.

    The CNN encoder is left trainable here so that a clear drop shows within seconds; the frozen
    default is exercised by the paper-path test below and by every notebook run.
    """
    from transformers import AutoModelForAudioClassification

    from redundancy.commands import load_split
    from redundancy import pipeline

    backbone = pipeline.pretrained_dir(smoke, "wav2vec2", "cpu", progress=False)  # the shared smoke model (project cache)
    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "cache"))
    profile = dataclasses.replace(smoke, finetune=dataclasses.replace(
        smoke.finetune, max_steps=60, batch_size=8, learning_rate=3e-3, freeze_feature_encoder=False,
        head_lr_multiplier=1.0))  # this rate is already high for a trainable CNN; x30 makes the loss jumpy
    folder = finetune(backbone, "speakers", profile.finetune, corpus_root=smoke_corpus,
        speaker_min_utterances=profile.corpus.speaker_min_utterances, device="cpu", progress=False)

    curve = [point["loss"] for point in read_curve(folder)]
    assert len(curve) >= 10
    assert np.mean(curve[-5:]) < 0.85 * np.mean(curve[:3]), curve

    metrics = read_metrics(folder)
    assert metrics["n_classes"] == len(load_split(smoke_corpus, "speakers", "train",
                                                  min_utterances=smoke.corpus.speaker_min_utterances).classes)
    assert 0.0 <= metrics["ci95"][0] <= metrics["accuracy"] <= metrics["ci95"][1] <= 1.0

    stored = np.load(folder / "test_predictions.npz")
    reloaded = AutoModelForAudioClassification.from_pretrained(str(folder))
    test = load_split(smoke_corpus, "speakers", "test", min_utterances=smoke.corpus.speaker_min_utterances)
    again = predict(reloaded, prepare_inputs(test.load_all(progress=False)))
    np.testing.assert_array_equal(again, stored["predictions"])
    assert reloaded.config.layerdrop == 0.0

    # A second call is served from the cache, not retrained.
    assert finetune(backbone, "speakers", profile.finetune, corpus_root=smoke_corpus,
        speaker_min_utterances=profile.corpus.speaker_min_utterances, device="cpu", progress=False) == folder


def test_paper_path_runs_on_real_wav2vec2_base_architecture(tmp_path, smoke, smoke_corpus, monkeypatch):
    """A save_pretrained folder of the real wav2vec2-base configuration (random weights), two steps."""
    from transformers import Wav2Vec2Config

    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "cache"))
    backbone = _random_backbone(tmp_path / "wav2vec2-base", Wav2Vec2Config(layerdrop=0.0))
    # dropout is a training setting: the run trains with 0.2, the saved model keeps the checkpoint's
    profile = dataclasses.replace(smoke, finetune=dataclasses.replace(smoke.finetune, max_steps=2, batch_size=2,
                                                                      dropout=0.2))
    folder = finetune(backbone, "words", profile.finetune, corpus_root=smoke_corpus,
        speaker_min_utterances=profile.corpus.speaker_min_utterances, device="cpu", progress=False)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["n_classes"] == 35 and metrics["train_steps"] == 2
    config = json.loads((folder / "config.json").read_text())
    assert config["hidden_size"] == 768 and config["num_hidden_layers"] == 12
    assert config["classifier_proj_size"] == 256
    assert {name: config[name] for name in DROPOUT_SETTINGS} == checkpoint_dropouts(backbone)


@pytest.mark.parametrize("family", ["wav2vec2", "hubert", "wavlm"])
def test_dropout_setting_reaches_every_backbone_dropout(tmp_path, smoke, family):
    backbone = _random_backbone(tmp_path / "b", tiny_config(family, smoke.model))
    assert set(checkpoint_dropouts(backbone).values()) == {0.0}  # the mini architecture trains without
    model = build_classifier(backbone, 3, ["a", "b", "c"], random_init=False, dropout=0.1)
    assert all(getattr(model.config, name) == 0.1 for name in DROPOUT_SETTINGS)
    rates = {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}
    assert rates == {0.1}, rates
    unchanged = build_classifier(backbone, 3, ["a", "b", "c"], random_init=False)
    assert {m.p for m in unchanged.modules() if isinstance(m, torch.nn.Dropout)} == {0.0}
    with pytest.raises(ValueError, match="dropout"):
        build_classifier(backbone, 3, ["a", "b", "c"], random_init=False, dropout=1.5)


def test_random_init_control_differs_from_pretrained(tmp_path, smoke):
    backbone = _random_backbone(tmp_path / "b", tiny_config("hubert", smoke.model))
    names = [f"c{i}" for i in range(3)]
    loaded = build_classifier(backbone, 3, names, random_init=False)
    torch.manual_seed(123)
    fresh = build_classifier(backbone, 3, names, random_init=True)
    a = dict(loaded.named_parameters())["hubert.encoder.layers.0.attention.k_proj.weight"]
    b = dict(fresh.named_parameters())["hubert.encoder.layers.0.attention.k_proj.weight"]
    assert a.shape == b.shape and not torch.equal(a, b)
    assert fresh.config.id2label[2] == "c2"


def test_accuracy_summary():
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    preds = np.array([0, 1, 1, 1, 2, 2, 0, 2])
    summary = accuracy_summary(preds, labels, n_classes=3, n_boot=500)
    assert summary["accuracy"] == pytest.approx(6 / 8)
    assert summary["chance_uniform"] == pytest.approx(1 / 3)
    assert summary["chance_majority"] == pytest.approx(4 / 8)
    low, high = summary["ci95"]
    assert low < 0.75 < high


def test_unknown_task_is_refused(tmp_path, smoke):
    with pytest.raises(ValueError, match="unknown task"):
        finetune("x", "emotions", smoke.finetune, corpus_root=tmp_path,
            speaker_min_utterances=smoke.corpus.speaker_min_utterances, device="cpu")


@pytest.mark.parametrize("family", ["wav2vec2", "hubert", "wavlm"])
def test_precomputed_cnn_features_give_the_same_logits(tmp_path, smoke, family):
    """Fine-tuning with the frozen encoder's outputs computed once is the same computation."""
    from redundancy.finetune import PrecomputedFeatures, encode_clips
    from redundancy.models import base_model

    backbone = _random_backbone(tmp_path / family, tiny_config(family, smoke.model))
    model = build_classifier(backbone, 5, [f"c{i}" for i in range(5)], random_init=False).eval()
    clips = prepare_inputs(torch.randn(3, 16000).numpy())
    with torch.no_grad():
        expected = model(input_values=clips).logits
        inner = base_model(model)
        encoder = inner.feature_extractor
        features = encode_clips(encoder, clips)
        inner.feature_extractor = PrecomputedFeatures()
        got = model(input_values=features).logits
        inner.feature_extractor = encoder
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_head_trains_at_its_own_learning_rate(tmp_path, smoke):
    """The randomly initialised head gets learning_rate x head_lr_multiplier in the Trainer's
    optimizer; every trainable backbone parameter keeps the base rate; frozen ones are left out."""
    from transformers import TrainingArguments

    from redundancy.finetune import HEAD_PREFIXES, _trainer_class, optimizer_groups

    backbone = _random_backbone(tmp_path / "w", tiny_config("wav2vec2", smoke.model))
    model = build_classifier(backbone, 4, [f"c{i}" for i in range(4)], random_init=False)
    model.freeze_feature_encoder()
    args = TrainingArguments(output_dir=str(tmp_path / "out"), learning_rate=1e-3, weight_decay=0.01,
                             report_to=[], use_cpu=True)
    trainer = _trainer_class(10.0)(model=model, args=args)
    optimizer = trainer.create_optimizer()
    rate_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert set(rate_of) == {id(p) for p in trainable.values()}
    for name, param in trainable.items():
        assert rate_of[id(param)] == pytest.approx(1e-2 if name.startswith(HEAD_PREFIXES) else 1e-3), name
    assert any(n.startswith("classifier.") for n in trainable) and any(n.startswith("projector.") for n in trainable)
    # multiplier 1: the plain Trainer, and one rate throughout
    assert _trainer_class(1.0).__name__ == "Trainer"
    groups = optimizer_groups(model, 1e-3, 1.0, 0.0, set())
    assert {g["lr"] for g in groups} == {1e-3}


def test_recipe_decides_the_cnn_unless_the_run_says(tmp_path, smoke, smoke_corpus, monkeypatch):
    """``freeze_feature_encoder=False`` trains the pre-trained runs' CNN; a control that says
    ``train_cnn=False`` (the frozen-CNN control) keeps it frozen whatever the recipe."""
    from safetensors.torch import load_file

    from redundancy import pipeline

    backbone = pipeline.pretrained_dir(smoke, "wav2vec2", "cpu", progress=False)
    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "cache"))
    cfg = dataclasses.replace(smoke.finetune, max_steps=3, batch_size=8, freeze_feature_encoder=False)

    def cnn_weight(folder):
        weights = load_file(str(folder / "model.safetensors"))
        return next(v for k, v in weights.items() if "feature_extractor.conv_layers.0.conv.weight" in k)

    start = cnn_weight(backbone)
    runs = {train_cnn: finetune(backbone, "speakers", cfg, corpus_root=smoke_corpus, train_cnn=train_cnn,
                                speaker_min_utterances=smoke.corpus.speaker_min_utterances, device="cpu",
                                progress=False)
            for train_cnn in (None, False)}
    assert not torch.equal(cnn_weight(runs[None]), start)
    assert torch.equal(cnn_weight(runs[False]), start)
    assert read_metrics(runs[None])["train_cnn"] is True and read_metrics(runs[False])["train_cnn"] is False


@pytest.mark.parametrize("family", ["wav2vec2", "hubert", "wavlm"])
def test_lower_and_upper_cnn_blocks_compose_to_the_whole_encoder(tmp_path, smoke, family):
    """Fine-tuning with the lowest blocks' outputs computed once feeds the blocks above them the
    same numbers the whole encoder would (no block of these CNNs behaves differently in training)."""
    from redundancy.finetune import LowerCNNBlocks, UpperCNNBlocks
    from redundancy.models import base_model

    backbone = _random_backbone(tmp_path / family, tiny_config(family, smoke.model))
    model = build_classifier(backbone, 5, ["a", "b", "c", "d", "e"], random_init=False).train()
    encoder = base_model(model).feature_extractor
    clips = prepare_inputs(torch.randn(3, 16000).numpy())
    with torch.no_grad():
        whole = encoder(clips)
        for blocks in (1, 3, len(encoder.conv_layers) - 1):
            parts = UpperCNNBlocks(encoder, blocks)(LowerCNNBlocks(encoder, blocks)(clips))
            torch.testing.assert_close(parts, whole, rtol=1e-5, atol=1e-6)


def test_impossible_frozen_cnn_block_counts_are_refused(tmp_path, smoke):
    from redundancy.finetune import freeze_lower_cnn_blocks
    from redundancy.models import base_model

    backbone = _random_backbone(tmp_path / "w", tiny_config("wav2vec2", smoke.model))
    encoder = base_model(build_classifier(backbone, 2, ["a", "b"], random_init=False)).feature_extractor
    for blocks in (0, len(encoder.conv_layers), -1):
        with pytest.raises(ValueError, match="frozen_cnn_blocks must be between 1 and"):
            freeze_lower_cnn_blocks(encoder, blocks)


@pytest.mark.parametrize("precompute", [True, False])
def test_frozen_lower_cnn_blocks_keep_their_weights_while_the_blocks_above_train(tmp_path, smoke, smoke_corpus,
                                                                                monkeypatch, precompute):
    """``frozen_cnn_blocks=2`` with the CNN trained: blocks 0-1 leave fine-tuning unchanged, block 2
    changes, whether their outputs are computed once or every step; the random-init control whose
    CNN trains ignores the setting (it trains its whole CNN)."""
    from safetensors.torch import load_file

    from redundancy import pipeline

    backbone = pipeline.pretrained_dir(smoke, "wav2vec2", "cpu", progress=False)
    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "cache"))
    cfg = dataclasses.replace(smoke.finetune, max_steps=3, batch_size=8, freeze_feature_encoder=False,
                              frozen_cnn_blocks=2, precompute_cnn_features=precompute)

    def block_weight(folder, block):
        weights = load_file(str(folder / "model.safetensors"))
        return next(v for k, v in weights.items() if f"feature_extractor.conv_layers.{block}.conv.weight" in k)

    run = finetune(backbone, "speakers", cfg, corpus_root=smoke_corpus, device="cpu", progress=False,
                   speaker_min_utterances=smoke.corpus.speaker_min_utterances)
    for block in (0, 1):
        assert torch.equal(block_weight(run, block), block_weight(backbone, block))
    assert not torch.equal(block_weight(run, 2), block_weight(backbone, 2))
    control = finetune(backbone, "speakers", cfg, corpus_root=smoke_corpus, device="cpu", progress=False,
                       random_init=True, train_cnn=True, speaker_min_utterances=smoke.corpus.speaker_min_utterances)
    reference = finetune(backbone, "speakers", dataclasses.replace(cfg, frozen_cnn_blocks=0), corpus_root=smoke_corpus,
                         device="cpu", progress=False, random_init=True, train_cnn=True,
                         speaker_min_utterances=smoke.corpus.speaker_min_utterances)
    assert torch.equal(block_weight(control, 0), block_weight(reference, 0))


def test_training_windows_are_random_parts_of_each_clip_and_reproducible():
    """``crop_samples``: each draw is a contiguous window of the clip, the draws vary, the same
    torch seed gives the same windows; a window longer than the clips is refused."""
    from redundancy.finetune import ClipDataset

    waves = np.tile(np.arange(100, dtype=np.float32), (4, 1))
    data = ClipDataset(waves, np.arange(4), normalize=False, crop_samples=30)
    torch.manual_seed(0)
    windows = [data[1]["input_values"] for _ in range(20)]
    for window in windows:
        assert window.shape == (30,)
        assert torch.equal(window, torch.arange(int(window[0]), int(window[0]) + 30, dtype=torch.float32))
    assert len({int(w[0]) for w in windows}) > 5
    torch.manual_seed(0)
    assert all(torch.equal(data[1]["input_values"], w) for w in windows)
    assert ClipDataset(waves, np.arange(4), normalize=False)[2]["input_values"].shape == (100,)
    with pytest.raises(ValueError, match="does not fit"):
        ClipDataset(waves, np.arange(4), normalize=False, crop_samples=101)


def test_training_windows_train_on_the_waveform_only(tmp_path, smoke, smoke_corpus, monkeypatch):
    """A cropped run trains and is tested on whole clips; with precomputed CNN outputs it is refused."""
    from redundancy import pipeline

    backbone = pipeline.pretrained_dir(smoke, "wav2vec2", "cpu", progress=False)
    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "cache"))
    cfg = dataclasses.replace(smoke.finetune, max_steps=2, batch_size=8, freeze_feature_encoder=False,
                              train_crop_seconds=0.5)
    run = finetune(backbone, "speakers", cfg, corpus_root=smoke_corpus, device="cpu", progress=False,
                   speaker_min_utterances=smoke.corpus.speaker_min_utterances)
    assert read_metrics(run)["n_test"] > 0
    with pytest.raises(ValueError, match="precomputed"):
        finetune(backbone, "speakers", dataclasses.replace(cfg, freeze_feature_encoder=True), corpus_root=smoke_corpus,
                 device="cpu", progress=False, speaker_min_utterances=smoke.corpus.speaker_min_utterances)
    with pytest.raises(ValueError, match="train_crop_seconds"):
        dataclasses.replace(cfg, train_crop_seconds=-1.0)


def test_a_bfloat16_run_trains_under_autocast_with_eager_attention_and_saves_float32(tmp_path, smoke, smoke_corpus,
                                                                                     monkeypatch):
    """mixed_precision="bf16": the Trainer's bf16 (autocast on the CPU), attention computed eagerly
    there (torch's fused attention backward is slow in bfloat16 on a CPU), the saved weights float32."""
    from safetensors.torch import load_file

    from redundancy import finetune as finetune_module
    from redundancy import pipeline

    backbone = pipeline.pretrained_dir(smoke, "wav2vec2", "cpu", progress=False)
    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "cache"))
    cfg = dataclasses.replace(smoke.finetune, max_steps=2, batch_size=8, freeze_feature_encoder=False,
                              mixed_precision="bf16")
    assert finetune_module._training_args(cfg, tmp_path / "args", "cpu", 16, False, 0).bf16
    assert not finetune_module._training_args(smoke.finetune, tmp_path / "args", "cpu", 16, False, 0).bf16
    attention = []
    build = finetune_module.build_classifier

    def recording_build(*args, **kwargs):
        model = build(*args, **kwargs)
        original = model.set_attn_implementation

        def record(name, *rest, **more):
            attention.append(name)
            return original(name, *rest, **more)

        model.set_attn_implementation = record
        return model

    monkeypatch.setattr(finetune_module, "build_classifier", recording_build)
    run = finetune(backbone, "words", cfg, corpus_root=smoke_corpus, device="cpu", progress=False)
    assert read_metrics(run)["n_test"] > 0 and attention == ["eager"]
    weights = load_file(str(next(Path(run).glob("*.safetensors"))))
    assert {tensor.dtype for tensor in weights.values()} == {torch.float32}
    with pytest.raises(ValueError, match="mixed_precision"):
        dataclasses.replace(cfg, mixed_precision="fp8")


def test_most_frames_masked_follows_the_minimum_number_of_spans(smoke):
    """The hub setting (p = 0.05, spans of 10, at least 2) may mask 20 of a 1 s clip's 49 frames
    and 20 of a half-second window's 24; no masks, nothing masked."""
    from redundancy.finetune import most_frames_masked
    from redundancy.models import tiny_config

    config = tiny_config("wav2vec2", smoke.model)
    config.mask_time_prob, config.mask_time_length, config.mask_time_min_masks = 0.05, 10, 2
    assert most_frames_masked(config, 16000) == pytest.approx(20 / 49)
    assert most_frames_masked(config, 8000) == pytest.approx(20 / 24)
    config.mask_time_prob = 0.0
    assert most_frames_masked(config, 8000) == 0.0
