"""The per-layer linear probe: it finds a linearly separable signal and does not invent one."""

import numpy as np

from redundancy.probe import probe_accuracy


def _data(n: int, d: int, classes: int, signal: float, seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centres = rng.normal(size=(classes, d))
    return rng.normal(size=(n, d)) + signal * centres[labels], labels


def test_probe_separates_separable_classes():
    x, y = _data(600, 16, 5, signal=3.0, seed=0)
    assert probe_accuracy(x[:400], y[:400], x[400:], y[400:], 5) > 0.9


def test_probe_stays_near_chance_without_signal():
    x, y = _data(600, 16, 5, signal=0.0, seed=1)
    assert abs(probe_accuracy(x[:400], y[:400], x[400:], y[400:], 5) - 0.2) < 0.1


def test_pooling_appends_the_standard_deviation_over_frames():
    import pytest
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    from redundancy.probe import pooled_layers

    torch.manual_seed(0)
    model = Wav2Vec2Model(Wav2Vec2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                         intermediate_size=32, conv_dim=(8,) * 7, num_conv_pos_embeddings=4,
                                         num_conv_pos_embedding_groups=2))
    waves = np.random.default_rng(0).normal(size=(3, 4000)).astype(np.float32)
    mean = pooled_layers(model, waves, normalize=True)
    stats = pooled_layers(model, waves, normalize=True, pooling="mean+std")
    assert mean.shape == (3, 3, 16) and stats.shape == (3, 3, 32)
    np.testing.assert_allclose(stats[..., :16], mean, atol=1e-6)
    assert (stats[..., 16:] > 0).all()
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        pooled_layers(model, waves, normalize=True, pooling="max")


def test_speakers_probe_reads_the_speakers_split(smoke, smoke_corpus):
    import torch
    from transformers import AutoModel

    from redundancy.models import tiny_config
    from redundancy.probe import layer_probe

    torch.manual_seed(0)
    model = AutoModel.from_config(tiny_config("wav2vec2", smoke.model))
    kw = dict(min_utterances=smoke.corpus.speaker_min_utterances, seed=smoke.corpus.speaker_split_seed)
    result = layer_probe(model, smoke_corpus, True, n_train=40, task="speakers", pooling="mean+std", split_kw=kw)
    assert result["layers"] == list(range(smoke.model.num_hidden_layers + 1))
    from redundancy.commands import load_split

    speakers = load_split(smoke_corpus, "speakers", "validation", **kw)
    assert result["chance"] == 1 / len(speakers.classes) and result["n_eval"] == len(speakers)
    assert result["n_train"] == 40
    assert all(0.0 <= a <= 1.0 for a in result["accuracy"])


def test_probe_summary_reads_one_pooling_per_backbone():
    import pytest

    from redundancy.probe import probe_summary

    def probe(accuracy):
        return {"layers": list(range(len(accuracy))), "accuracy": accuracy, "chance": 0.25}

    doc = {"models": {"wavlm": {"pretrained/mean": probe([0.3, 0.9, 0.2]), "pretrained/mean+std": probe([0.4, 0.5, 0.6]),
                                "random_init/mean+std": probe([0.3, 0.2, 0.1])}}}
    table = probe_summary(doc)
    assert list(table.index) == [("wavlm", "pretrained"), ("wavlm", "random_init")]
    assert table["best layer"].dtype.kind == "i"
    assert table.loc[("wavlm", "pretrained"), "best layer"] == 2 and table.loc[("wavlm", "pretrained"), "best"] == 0.6
    assert probe_summary(doc, "mean").loc[("wavlm", "pretrained"), "best"] == 0.9
    with pytest.raises(ValueError, match="no probe with pooling 'max'"):
        probe_summary(doc, "max")


def test_probe_sentence_names_layer_zero_the_best_layer_and_the_twin():
    from redundancy.probe import probe_sentence

    probe = {"pretrained": {"accuracy": [0.15, 0.39, 0.30], "chance": 1 / 35},
             "random_init": {"accuracy": [0.11, 0.10, 0.12], "chance": 1 / 35}}
    assert probe_sentence(probe) == ("words probe 0.15 at layer 0, best 0.39 at layer 1; "
                                     "random-init twin at most 0.12 (chance 0.029)")
