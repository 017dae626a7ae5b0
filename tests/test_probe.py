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
