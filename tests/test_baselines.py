"""Baselines helpers that read training logs: convergence is judged from the validation passes."""

from redundancy.baselines import convergence_table


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
