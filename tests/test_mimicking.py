"""Mimicking: layer types and sizes by hand, stage-1 training, the standalone model after save and
reload, the choice of the intermediate target layer, and the smoke pipeline end to end."""

import numpy as np
import pytest
import torch

from redundancy.distill import Schedule, logits_of, mimic_loss, train_stage1, train_stage2
from redundancy.mimic import Head, MimicModel, Mimicker, build_standalone, mimic_model, mimicker_parameters
from redundancy.mimicking import intermediate_layer
from redundancy.size import count_parameters


def test_wav2vec2_base_linear_z32_matches_the_paper_and_a_hand_count():
    from redundancy.architectures import build_random, real_config

    full = build_random(real_config("facebook/wav2vec2-base"), num_labels=35, device="meta")
    small = mimic_model(full, hidden=32, stages=1, kind="linear")
    cnn = 4_200_448  # 7 convs of 512 channels without bias (1x512x10 + 4x512x512x3 + 2x512x512x2) + group norm 1024
    assert cnn == 512 * 10 + 4 * 512 * 512 * 3 + 2 * 512 * 512 * 2 + 2 * 512
    projection = 2 * 512 + 512 * 768 + 768  # LayerNorm(512) + Linear(512 -> 768)
    mimicker = 768 * 32 + 32 + 2 * 32 + 32 * 768 + 768  # Linear, LayerNorm, Linear
    head = 768 * 256 + 256 + 256 * 35 + 35  # projector + classifier
    assert count_parameters(small) == cnn + projection + mimicker + head == 4_851_331  # paper, Table 1


@pytest.mark.parametrize("kind", ["linear", "transformer"])
@pytest.mark.parametrize("stages", [1, 2])
def test_mimicker_parameters_formula_and_shapes(kind, stages):
    m = Mimicker(32, hidden=24, stages=stages, kind=kind)
    assert count_parameters(m) == mimicker_parameters(32, 24, stages, kind)
    x = torch.randn(2, 49, 32)
    outs = m.eval()(x, all_stages=True)
    assert len(outs) == stages and all(o.shape == x.shape for o in outs)


def test_transformer_layer_is_the_pytorch_encoder_layer_with_8_heads():
    m = Mimicker(96, hidden=512, stages=1, kind="transformer")
    (layer,) = m.stages
    assert isinstance(layer, torch.nn.TransformerEncoderLayer)
    assert layer.self_attn.num_heads == 8 and layer.linear1.out_features == 512 and layer.self_attn.batch_first
    with pytest.raises(ValueError, match="unknown layer type"):
        Mimicker(32, kind="lstm")


def test_stage1_loss_falls_and_the_best_checkpoint_is_kept():
    torch.manual_seed(0)
    x = torch.randn(64, 10, 16)
    target = torch.tanh(x @ torch.randn(16, 16))  # a learnable frame-wise map
    m = Mimicker(16, hidden=32, stages=1)
    before = mimic_loss(m, x, [target])
    log = train_stage1(m, x[:48], [target[:48]], x[48:], [target[48:]], Schedule(epochs=40, batch_size=16, learning_rate=3e-3),
                       progress=False)
    assert log.best_score < 0.5 * before
    assert mimic_loss(m, x[48:], [target[48:]]) == pytest.approx(log.best_score, rel=1e-5)
    with pytest.raises(ValueError, match="target layers"):
        train_stage1(m, x, [target, target], x, [target], Schedule(1), progress=False)


def test_stage1_alone_recovers_a_known_teachers_decisions():
    """A teacher whose labels are its own predictions: distilling its last layer (stage 1 only) must
    bring the teacher's head from near chance to most of its decisions on held-out clips."""
    torch.manual_seed(0)
    teacher = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Tanh(), torch.nn.Linear(32, 16)).requires_grad_(False)
    head = Head(torch.nn.Linear(16, 8, bias=False), torch.nn.Linear(8, 4, bias=False)).requires_grad_(False)
    x = 2 * torch.randn(400, 1, 16) + 0.5 * torch.randn(400, 6, 16)  # clips differ, frames vary around them
    with torch.no_grad():
        last = teacher(x)
        labels = head(last).argmax(-1)
    majority = float(torch.bincount(labels[300:]).max()) / 100
    m = Mimicker(16, hidden=64, stages=1)
    before = float((logits_of(m, head, x[300:]).argmax(-1) == labels[300:]).float().mean())
    train_stage1(m, x[:250], [last[:250]], x[250:300], [last[250:300]],
                 Schedule(epochs=40, batch_size=32, learning_rate=3e-3), progress=False)
    after = float((logits_of(m, head, x[300:]).argmax(-1) == labels[300:]).float().mean())
    assert after > 0.75 and after > majority + 0.3 and after > before + 0.4


def test_stage2_trains_head_only_and_keeps_the_best_validation_accuracy():
    torch.manual_seed(0)
    y = torch.randint(0, 3, (90,))
    x = 0.5 * torch.randn(90, 5, 8) + torch.nn.functional.one_hot(y, 8)[:, None, :].float() * 3
    head = Head(torch.nn.Linear(8, 16), torch.nn.Linear(16, 3))
    log = train_stage2(None, head, x[:60], y[:60], x[60:], y[60:], Schedule(epochs=20, batch_size=16, learning_rate=1e-2),
                       progress=False)
    acc = float((logits_of(None, head, x[60:]).argmax(-1) == y[60:]).float().mean())
    assert acc == pytest.approx(log.best_score) and acc > 0.8 > log.history[0]["val_accuracy"]


@pytest.mark.parametrize(
    "blocks, expected",
    [([(0, 1), (1, 10), (10, 12), (12, 13)], 9), ([(0, 9), (9, 13)], 8), ([(0, 1), (1, 13)], 8), ([(0, 13)], 8)],
)
def test_intermediate_layer_is_the_end_of_the_first_block(blocks, expected):
    layer, note = intermediate_layer(blocks, 12)
    assert layer == expected
    assert ("2/3" in note) == (blocks[-1][1] - 1 == 12 and len([b for b in blocks if b[1] > 1]) == 1)


def test_layer_blocks_reads_both_forms_of_block_detection():
    from types import SimpleNamespace

    from redundancy.mimicking import layer_blocks

    ranges = SimpleNamespace(blocks={"cka": [(0, 1), (1, 10), (10, 13)]})
    assert layer_blocks(ranges, "cka") == [(0, 1), (1, 10), (10, 13)]
    tested = SimpleNamespace(blocks={"cka": [(1, 9), (10, 12)]},
                             block_tests={"cka": SimpleNamespace(significant=True)})
    assert layer_blocks(tested, "cka") == [(1, 10), (10, 13)]
    assert intermediate_layer(layer_blocks(tested, "cka"), 12)[0] == 9
    tested.block_tests["cka"].significant = False
    assert layer_blocks(tested, "cka") == []
    layer, note = intermediate_layer([], 12)
    assert layer == 8 and "no significant blocks" in note


def test_smoke_standalone_reproduces_the_pipeline_logits_after_save_and_reload(smoke, tmp_path):
    from transformers import AutoModelForAudioClassification

    from redundancy import pipeline
    from redundancy.commands import load_split
    from redundancy.mimic import teacher_head
    from redundancy.mimicking import teacher_data
    from redundancy.preprocess import should_normalize

    folder = pipeline.model_dir(smoke, "wavlm", "words", device="cpu")
    n_layers = smoke.model.num_hidden_layers
    data = teacher_data(smoke, "wavlm", (2, n_layers), device="cpu")
    assert data.x["train"].shape[1:] == (49, smoke.model.hidden_size)
    assert set(data.targets["train"]) == {2, n_layers}
    teacher = AutoModelForAudioClassification.from_pretrained(str(folder)).eval()
    torch.manual_seed(1)
    mimicker = Mimicker(smoke.model.hidden_size, hidden=8, stages=2, kind="transformer").eval()
    head = teacher_head(teacher)
    expected = logits_of(mimicker, head, data.x["test"])
    model = build_standalone(teacher, mimicker, head, should_normalize(folder))
    model.save_pretrained(tmp_path / "m")
    reloaded = MimicModel.from_pretrained(tmp_path / "m")
    waves = torch.from_numpy(load_split(pipeline.corpus_root(smoke), "words", "test").load_all(progress=False))
    with torch.no_grad():
        got = reloaded(waves)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    assert count_parameters(reloaded) == count_parameters(model)


def test_smoke_speakers_teacher_data_uses_the_speaker_split(smoke):
    from redundancy import pipeline
    from redundancy.commands import load_split
    from redundancy.mimicking import teacher_data

    data = teacher_data(smoke, "hubert", (smoke.model.num_hidden_layers,), task="speakers", device="cpu")
    kw = dict(min_utterances=smoke.corpus.speaker_min_utterances, seed=smoke.corpus.speaker_split_seed)
    test = load_split(pipeline.corpus_root(smoke), "speakers", "test", **kw)
    assert data.labels["test"].tolist() == list(test.labels)
    assert len(data.x["validation"]) > 0 and int(data.labels["train"].max()) < len(test.classes)


def test_smoke_run_writes_every_network(smoke):
    from redundancy.mimicking import NETWORKS, mimicking_results, run_teacher

    run = run_teacher(smoke, "wav2vec2", variants=[("linear", 1, 8)], non_mimicker=[("linear", 1, 8)],
                      device="cpu", progress=False)
    doc = mimicking_results(smoke, [run], {})
    rows = doc["models"]["wav2vec2"]["words"]
    assert sorted({r["network"] for r in rows}) == sorted(NETWORKS)
    for r in rows:
        assert 0.0 <= r["accuracy"] <= 1.0 and r["params"] < r["params_full"] and r["time_normalised"] > 0
        expected = r["accuracy"] / run.teacher_accuracy if run.teacher_accuracy > 0 else None
        assert r["relative_accuracy"] == pytest.approx(expected)
    stage1 = next(r for r in rows if r["network"] == "stage1-only")["stage1"]["history"]
    assert stage1[-1]["val_loss"] < stage1[0]["val_loss"]  # the smoke run's stage-1 loss falls
    assert np.isfinite([r["time_normalised"] for r in rows]).all()


def test_teachers_trained_in_parts_equal_teachers_trained_whole(smoke):
    from redundancy.mimicking import train_teacher, train_teachers

    grid = [("linear", 1, 8), ("transformer", 1, 8), ("linear", 2, 8)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the workers: the same arithmetic
    try:
        whole = train_teacher(smoke, "wav2vec2", variants=grid, non_mimicker=[("linear", 1, 8)], device="cpu",
                              progress=False)
    finally:
        torch.set_num_threads(threads)
    parts = train_teachers(smoke, ["wav2vec2", "hubert"], variants=grid, non_mimicker=[("linear", 1, 8)],
                           device="cpu", jobs=2, progress=False)
    assert [(run.name, run.task) for run in parts] == [("wav2vec2", "words"), ("hubert", "words")]
    merged = parts[0]
    assert [n.record["network"] for n in merged.networks] == [n.record["network"] for n in whole.networks]
    for a, b in zip(whole.networks, merged.networks):
        assert (a.record["type"], a.record["layers"], a.record["z"]) == (b.record["type"], b.record["layers"], b.record["z"])
        # same seeds, same data: the same network, whichever part or process trained it
        assert b.record["accuracy"] == a.record["accuracy"]
    assert merged.layers == whole.layers and merged.teacher_accuracy == whole.teacher_accuracy


def test_teachers_train_in_worker_processes_and_are_timed_afterwards(smoke):
    from redundancy.distill import accuracy_of
    from redundancy.mimicking import teacher_data, time_teacher_run, train_teacher
    from redundancy.parallel import map_in_processes

    calls = [dict(profile=smoke, name=name, variants=[("linear", 1, 8)], non_mimicker=[], device="cpu",
                  progress=False) for name in ("wav2vec2", "hubert")]
    runs = map_in_processes(train_teacher, calls, jobs=2, progress=False)
    assert [run.name for run in runs] == ["wav2vec2", "hubert"]
    assert not any("time_normalised" in net.record for run in runs for net in run.networks)
    # the networks came back from the worker intact: they score exactly what the worker recorded
    data = teacher_data(smoke, "wav2vec2", runs[0].layers, device="cpu")
    for net in runs[0].networks:
        assert accuracy_of(net.mimicker, net.head, data.x["test"], data.labels["test"]) == net.record["accuracy"]
    time_teacher_run(runs[0], smoke, "cpu")
    assert all(net.record["time_normalised"] > 0 and net.record["params"] > 0 for net in runs[0].networks)
