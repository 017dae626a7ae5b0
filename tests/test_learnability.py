"""The task-learnability reference: its features tell pitches apart, its MLP learns what is there
(including a non-linear rule the linear probe cannot fit) and nothing where there is nothing."""

import numpy as np
import pytest

from redundancy.audio import SAMPLE_RATE
from redundancy.learnability import N_MELS, learnability_table, logmel_stats, mlp_curve, task_learnability


def _tones(frequencies: list[float], per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    waves, labels = [], []
    for label, frequency in enumerate(frequencies):
        for _ in range(per_class):
            phase = rng.uniform(0, 2 * np.pi)
            waves.append(0.5 * np.sin(2 * np.pi * frequency * t + phase) + 0.05 * rng.normal(size=t.size))
            labels.append(label)
    return np.asarray(waves, dtype=np.float32), np.asarray(labels)


def test_logmel_stats_separate_pitches():
    waves, labels = _tones([300.0, 1200.0, 3000.0], per_class=12, seed=0)
    stats = logmel_stats(waves, batch_size=7)  # batches that do not divide the clips
    assert stats.shape == (36, 2 * N_MELS) and np.isfinite(stats).all()
    result = task_learnability(stats[::2], labels[::2], stats[1::2], labels[1::2], 3, epochs=10)
    assert result["linear_probe"] == 1.0
    assert result["mlp"][-1] == {"epoch": 10, "accuracy": 1.0}
    assert [point["epoch"] for point in result["mlp"]] == [1, 3, 10]


def test_logmel_stats_refuse_a_single_clip_vector():
    with pytest.raises(ValueError, match="clips, samples"):
        logmel_stats(np.zeros(SAMPLE_RATE, dtype=np.float32))


def test_mlp_learns_xor_and_stays_at_chance_on_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1200, 2))
    xor = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(int)
    curve = mlp_curve(x[:800], xor[:800], x[800:], xor[800:], 2, epochs=30, report_at=(30,), hidden=64)
    assert curve[-1]["accuracy"] > 0.9
    noise = rng.integers(0, 4, 1200)
    curve = mlp_curve(x[:800], noise[:800], x[800:], noise[800:], 4, epochs=10, report_at=(10,), hidden=64)
    assert abs(curve[-1]["accuracy"] - 0.25) < 0.1


def test_mlp_checks_lengths():
    with pytest.raises(ValueError, match="differ in length"):
        mlp_curve(np.zeros((4, 2)), np.zeros(3), np.zeros((2, 2)), np.zeros(2), 2)


def test_learnability_table_sets_models_beside_the_reference():
    doc = {"rows": [{"task": "speakers", "n_classes": 4, "n_train": 40, "chance": 0.25, "linear_probe": 0.5,
                     "mlp": [{"epoch": 1, "accuracy": 0.3}, {"epoch": 10, "accuracy": 0.7}]}]}
    table = learnability_table(doc, {"speakers": {"wavlm": 0.4}, "words": {"wavlm": 0.9}})
    assert list(table.index) == ["speakers"]
    assert table.loc["speakers", "MLP, 10 ep"] == 0.7 and table.loc["speakers", "fine-tuned wavlm"] == 0.4


def test_tdnn_tells_pitches_apart_from_log_mel_frames():
    from redundancy.learnability import logmel_frames, tdnn_curve

    waves, labels = _tones([300.0, 1200.0, 3000.0], per_class=12, seed=0)
    frames = logmel_frames(waves, batch_size=7)
    assert frames.shape == (36, N_MELS, 101) and np.isfinite(frames).all()
    curve = tdnn_curve(frames[::2], labels[::2], frames[1::2], labels[1::2], 3, epochs=10, report_at=(1, 10),
                       batch_size=8)
    assert [point["epoch"] for point in curve] == [1, 10]
    assert curve[-1]["accuracy"] == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        tdnn_curve(frames, labels[:-1], frames, labels, 3, epochs=1)
