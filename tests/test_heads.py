"""Statistics pooling (mean+std) heads: the pooling itself, the classifier class that saves and
loads with it, and every place that runs a fine-tuned head (pruning scorer, mimicking) pooling the
same way as the model does."""

import dataclasses

import pytest
import torch

from redundancy.config import FinetuneConfig, load_profile
from redundancy.finetune import build_classifier
from redundancy.heads import POOLINGS, classifier_class, pool_frames, pooled_size, pooling_of
from redundancy.mimic import MimicModel, mimic_model, teacher_head
from redundancy.models import base_model, load_classifier, tiny_config
from redundancy.preprocess import save_feature_extractor
from redundancy.prune_eval import BlockRunner, PrunedScorer
from redundancy.publish import recipe_hash

P = load_profile("smoke")


def _backbone(folder, family):
    from transformers import AutoModel

    torch.manual_seed(0)
    AutoModel.from_config(tiny_config(family, P.model)).save_pretrained(str(folder))
    save_feature_extractor(folder)
    return folder


def _stats_classifier(tmp_path, family):
    model = build_classifier(_backbone(tmp_path / "backbone", family), 4, list("abcd"), random_init=False,
                             pooling="mean+std").eval()
    with torch.no_grad():  # a trained-looking head: the std half of the classifier matters
        model.classifier.weight.normal_()
    return model


def test_pool_frames_mean_and_std_and_padding():
    frames = torch.randn(2, 7, 3)
    torch.testing.assert_close(pool_frames(frames, "mean"), frames.mean(1))
    both = pool_frames(frames, "mean+std")
    assert both.shape == (2, pooled_size(3, "mean+std")) == (2, 6)
    torch.testing.assert_close(both[:, 3:], frames.std(1, unbiased=False))
    # padded frames are left out: the same as pooling the real frames alone
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    masked = pool_frames(frames, "mean+std", mask)
    torch.testing.assert_close(masked[1], pool_frames(frames[1:, :4], "mean+std")[0])
    torch.testing.assert_close(masked[0], both[0])
    with pytest.raises(ValueError, match="unknown pooling"):
        pool_frames(frames, "max")


@pytest.mark.parametrize("family", ["wav2vec2", "hubert", "wavlm"])
def test_stats_classifier_pools_mean_and_std_and_reloads_identically(tmp_path, family):
    model = _stats_classifier(tmp_path, family)
    assert pooling_of(model) == "mean+std" and model.classifier.in_features == 2 * model.projector.out_features
    audio = torch.randn(2, 16000, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        logits = model(audio).logits
        frames = model.projector(base_model(model)(audio).last_hidden_state)
        expected = model.classifier(torch.cat([frames.mean(1), frames.std(1, unbiased=False)], -1))
    torch.testing.assert_close(logits, expected)
    # a loss for training, and a padding mask that changes nothing when nothing is padded
    out = model(audio, attention_mask=torch.ones_like(audio, dtype=torch.long), labels=torch.tensor([0, 3]))
    torch.testing.assert_close(out.logits.detach(), logits)
    assert out.loss is not None and out.loss.requires_grad

    model.save_pretrained(str(tmp_path / "saved"))
    reloaded = load_classifier(tmp_path / "saved")
    assert type(reloaded) is type(model) and pooling_of(reloaded) == "mean+std"
    with torch.inference_mode():
        torch.testing.assert_close(reloaded(audio).logits, logits)


def test_mean_pooling_is_transformers_own_head(tmp_path):
    from transformers import HubertForSequenceClassification

    model = build_classifier(_backbone(tmp_path / "b", "hubert"), 3, list("abc"), random_init=True)
    assert type(model) is HubertForSequenceClassification and pooling_of(model) == "mean"
    assert classifier_class(model.config, "mean+std") is not HubertForSequenceClassification
    # a model saved before the setting existed (no "pooling" in its config) pools by mean
    del model.config.pooling
    assert pooling_of(model) == "mean"


@pytest.mark.parametrize("family", ["wav2vec2", "wavlm"])
def test_pruning_scorer_pools_like_the_model(tmp_path, family):
    model = _stats_classifier(tmp_path, family)
    audio = torch.randn(3, 8000, generator=torch.Generator().manual_seed(2))
    runner = BlockRunner(model)
    scorer = PrunedScorer(runner, runner.block_inputs(audio))
    with torch.inference_mode():
        torch.testing.assert_close(scorer.logits([]), model(audio).logits)


def test_mimicking_keeps_the_teachers_pooling(tmp_path):
    model = _stats_classifier(tmp_path, "hubert")
    audio = torch.randn(2, 16000, generator=torch.Generator().manual_seed(3))
    head = teacher_head(model)
    assert head.pooling == "mean+std"
    with torch.inference_mode():
        last = base_model(model)(audio).last_hidden_state
        torch.testing.assert_close(head(last), model(audio).logits)
    mimic = mimic_model(model, hidden=8, stages=1)
    assert mimic.pooling == "mean+std"
    with torch.inference_mode():
        frames = mimic.mimicker(mimic.project(audio))
        torch.testing.assert_close(mimic(audio), head(frames))


def test_mimic_model_saves_and_reloads_its_pooling(tmp_path):
    from redundancy.mimic import build_standalone

    model = _stats_classifier(tmp_path, "wav2vec2")
    built = build_standalone(model, None, teacher_head(model), normalize=False)
    built.save_pretrained(tmp_path / "mimic")
    again = MimicModel.from_pretrained(tmp_path / "mimic")
    assert again.pooling == "mean+std"
    audio = torch.randn(2, 16000, generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        torch.testing.assert_close(again(audio), built(audio))


def test_pooling_setting_is_checked_and_mean_leaves_the_recipe_hash_alone():
    assert POOLINGS == ("mean", "mean+std")
    with pytest.raises(ValueError, match="unknown pooling"):
        FinetuneConfig(pooling="attention")
    mini = load_profile("mini")
    same = dataclasses.replace(mini, finetune=dataclasses.replace(mini.finetune, pooling="mean"))
    assert recipe_hash(same) == recipe_hash(mini)
    other = dataclasses.replace(mini, finetune=dataclasses.replace(mini.finetune, pooling="mean+std"))
    assert recipe_hash(other) != recipe_hash(mini)


def test_finetune_trains_saves_and_reloads_a_statistics_pooling_head(tmp_path, smoke, smoke_corpus, monkeypatch):
    """The whole fine-tuning path with mean+std pooling: the Trainer trains it, the saved folder
    reloads with the same head, and the reloaded model reproduces the stored test predictions."""
    import numpy as np

    from redundancy import pipeline
    from redundancy.commands import load_split
    from redundancy.finetune import finetune, predict
    from redundancy.preprocess import prepare_inputs, should_normalize

    backbone = pipeline.pretrained_dir(smoke, "hubert", "cpu", progress=False)  # the shared smoke model
    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "cache"))
    cfg = dataclasses.replace(smoke.finetune, max_steps=6, batch_size=8, pooling="mean+std")
    folder = finetune(backbone, "speakers", cfg, corpus_root=smoke_corpus,
                      speaker_min_utterances=smoke.corpus.speaker_min_utterances, device="cpu", progress=False)
    model = load_classifier(folder)
    assert pooling_of(model) == "mean+std"
    test = load_split(smoke_corpus, "speakers", "test", min_utterances=smoke.corpus.speaker_min_utterances)
    stored = np.load(folder / "test_predictions.npz")
    inputs = prepare_inputs(test.load_all(progress=False), should_normalize(backbone))
    np.testing.assert_array_equal(predict(model, inputs), stored["predictions"])
