"""The scorecard's verdict rules, on the committed mini results and on modified copies of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from redundancy import scorecard as sc

MINI = Path(__file__).resolve().parents[1] / "results" / "mini"


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    """A writable copy of the committed mini results."""
    target = tmp_path / "mini"
    shutil.copytree(MINI, target)
    (target / "scorecard.json").unlink(missing_ok=True)
    return target


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _accuracies(results: Path) -> dict[str, float]:
    return sc.task_accuracy(sc.load_results(results))


def test_paper_shape_of_the_first_block() -> None:
    assert [n for n in range(13) if sc.paper_like_first_block(n, 12)] == [7, 8, 9]
    assert [n for n in range(25) if sc.paper_like_first_block(n, 24)] == [16, 17, 18]


def _all_models_succeed(results: Path, accuracy: float = 0.95) -> list[str]:
    """Give every fine-tuned words model a good accuracy (none flagged); returns the model names."""
    def change(data):
        for tasks in data["models"].values():
            tasks["words"]["accuracy"] = accuracy
    _edit(results / "baselines.json", change)
    return list(_accuracies(results))


def test_aggregate_rule() -> None:
    assert sc.aggregate({"a": True, "b": True}) == sc.HOLDS
    assert sc.aggregate({"a": True, "b": False}) == sc.PARTLY
    assert sc.aggregate({"a": False}) == sc.FAILS
    assert sc.aggregate({}) == sc.NOT_TESTABLE
    assert sc.aggregate({"a": False}, {"a"}) == sc.PARTLY


def test_every_claim_has_a_verdict_and_missing_files_are_not_measured(results: Path) -> None:
    card = sc.scorecard_from_folder(results)
    assert set(card) == {"C1", "C2", "C3", "C4", "C5"}
    for row in card.values():
        assert row["verdict"] in sc.VERDICTS
        assert row["paper"] and row["rule"]
    for name in ("pruning.json", "mimicking.json"):
        (results / name).unlink(missing_ok=True)
    card = sc.scorecard_from_folder(results)
    assert card["C2"]["verdict"] == sc.NOT_MEASURED
    assert card["C5"]["verdict"] == sc.NOT_MEASURED
    assert "not yet measured" in card["C2"]["this_run"]


def test_a_failed_model_never_counts(results: Path) -> None:
    """Drop every words model below the task threshold: C1 becomes not testable, flagged models listed."""
    def fail_all(data):
        for tasks in data["models"].values():
            tasks["words"]["accuracy"] = 0.03
    _edit(results / "baselines.json", fail_all)
    card = sc.scorecard_from_folder(results)
    assert card["C1"]["verdict"] == sc.NOT_TESTABLE
    assert card["C1"]["passed"] == {}
    assert all("failed its task" in why for why in card["C1"]["flagged"].values())


def test_c1_verdict_follows_the_similarity_blocks(results: Path) -> None:
    models = _all_models_succeed(results)

    def older_form(data):  # the blocks form without the null test (read when block_tests is absent)
        for model in models:
            for entry in data["models"][model].values():
                entry.pop("block_tests", None)
    _edit(results / "similarity.json", older_form)

    def blocks(value):
        def change(data):
            for model in models:
                data["models"][model]["words"]["blocks"]["cka"] = value
        return change

    _edit(results / "similarity.json", blocks([[0, 1], [1, 9], [9, 13]]))
    assert sc.scorecard_from_folder(results)["C1"]["verdict"] == sc.HOLDS
    _edit(results / "similarity.json", blocks([[0, 1], [1, 13]]))
    assert sc.scorecard_from_folder(results)["C1"]["verdict"] == sc.FAILS
    _edit(results / "similarity.json", blocks([[0, 1], [1, 3], [3, 13]]))  # two blocks, the first too small
    card = sc.scorecard_from_folder(results)
    assert card["C1"]["verdict"] == sc.PARTLY
    assert "two blocks of other sizes" in card["C1"]["summary"]

    def one_model_two_blocks(data):
        data["models"][models[0]]["words"]["blocks"]["cka"] = [[0, 1], [1, 9], [9, 13]]
    _edit(results / "similarity.json", one_model_two_blocks)
    assert sc.scorecard_from_folder(results)["C1"]["verdict"] == sc.PARTLY


def _pruning(models: list[str], removed_at_95: int, n_layers: int = 12) -> dict:
    order = {"removed": list(range(n_layers, 1, -1)), "accuracy": [0.9] * n_layers, "accuracy_seeds": [],
             "max_removed_at_95": removed_at_95, "max_removed_at_50": removed_at_95 + 2}
    return {"models": {m: {"words": {"n_layers": n_layers, "unpruned_accuracy": 0.9,
                                     "orders": {"bi": order, "backward": dict(order, max_removed_at_95=1)}}}
                       for m in models}}


def test_c2_verdict_changes_with_the_pruning_file(results: Path) -> None:
    good = _all_models_succeed(results)
    (results / "pruning.json").write_text(json.dumps(_pruning(good, removed_at_95=5)))
    card = sc.scorecard_from_folder(results)
    assert card["C2"]["verdict"] == sc.HOLDS
    assert "5/12 layers" in card["C2"]["this_run"]
    (results / "pruning.json").write_text(json.dumps(_pruning(good, removed_at_95=1)))
    assert sc.scorecard_from_folder(results)["C2"]["verdict"] == sc.FAILS


def _mimicking(models: list[str], relative: float, params: int, params_full: int, time: float) -> dict:
    row = {"network": "mimicker", "type": "linear", "layers": 1, "z": 32, "accuracy": 0.9 * relative,
           "relative_accuracy": relative, "params": params, "params_full": params_full, "time_normalised": time}
    control = dict(row, network="head-only", relative_accuracy=0.99)
    real = {"facebook/wav2vec2-base": [{"type": "linear", "layers": 1, "z": 32, "params": params,
                                        "params_full": params_full, "time_normalised_cpu": time}]}
    return {"models": {m: {"words": [row, control]} for m in models}, "real_architectures": real}


def test_c3_c4_c5_verdicts_change_with_the_mimicking_file(results: Path) -> None:
    good = _all_models_succeed(results)
    (results / "timing.json").unlink()
    (results / "mimicking.json").write_text(json.dumps(_mimicking(good, 0.97, 5_000_000, 100_000_000, 0.1)))
    card = sc.scorecard_from_folder(results)
    assert [card[c]["verdict"] for c in ("C3", "C4", "C5")] == [sc.HOLDS] * 3
    assert "-95.0%" in card["C3"]["real_architectures"]
    (results / "mimicking.json").write_text(json.dumps(_mimicking(good, 0.6, 50_000_000, 100_000_000, 0.5)))
    card = sc.scorecard_from_folder(results)
    assert [card[c]["verdict"] for c in ("C3", "C4", "C5")] == [sc.FAILS] * 3


def test_gpu_timing_takes_precedence_for_time(results: Path, tmp_path: Path) -> None:
    gpu = tmp_path / "gpu"
    gpu.mkdir()
    timing = json.loads((results / "timing.json").read_text())
    timing["meta"]["device"] = "cuda"
    for row in timing["architectures"].values():
        row["time_reduction_mimic"] = 0.93
    (gpu / "timing.json").write_text(json.dumps(timing))
    card = sc.scorecard_from_folder(results, gpu_results=gpu)
    assert card["C4"]["verdict"] == sc.HOLDS
    assert "cuda" in card["C4"]["real_architectures"]


def test_markdown_table_has_one_row_per_claim(results: Path) -> None:
    table = sc.markdown_table(sc.scorecard_from_folder(results))
    assert table.count("\n") == 2 + 5
    assert "| **C1**" in table


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no results folder"):
        sc.load_results(tmp_path / "absent")


def test_c1_reads_the_block_test_form(results: Path) -> None:
    """similarity.json with ``block_tests`` (a rule that can say "no block structure")."""
    models = _all_models_succeed(results)

    def tests(significant, blocks):
        def change(data):
            for model in models:
                data["models"][model]["words"]["block_tests"] = {
                    "cka": {"blocks": blocks, "significant": significant, "contrast": 0.1, "p_value": 0.01}}
        return change

    _edit(results / "similarity.json", tests(True, [[0, 8], [8, 12]]))
    card = sc.scorecard_from_folder(results)
    assert card["C1"]["verdict"] == sc.HOLDS
    assert "2 main block(s) (1-8, 9-12, first block 67% of the layers)" in card["C1"]["this_run"]
    _edit(results / "similarity.json", tests(False, [[0, 12]]))
    card = sc.scorecard_from_folder(results)
    assert card["C1"]["verdict"] == sc.FAILS
    assert "no block structure" in card["C1"]["this_run"]


def test_head_only_is_not_the_smallest_mimicker_and_gpu_time_wins(results: Path, tmp_path: Path) -> None:
    good = _all_models_succeed(results)
    doc = _mimicking(good, 0.97, 5_000_000, 100_000_000, 0.5)
    for rows in doc["real_architectures"].values():
        rows.append({"type": "none", "layers": 0, "z": 0, "params": 1_000, "params_full": 100_000_000,
                     "time_normalised_cpu": 0.01})
    (results / "timing.json").unlink()
    (results / "mimicking.json").write_text(json.dumps(doc))
    card = sc.scorecard_from_folder(results)
    assert "-95.0%" in card["C3"]["real_architectures"]  # the linear z = 32 row, not the head alone
    assert card["C4"]["verdict"] == sc.FAILS  # 0.5 of the time on the CPU
    gpu = tmp_path / "gpu"
    gpu.mkdir()
    real = {name: [dict(rows[0], time_normalised_gpu=0.1)] for name, rows in doc["real_architectures"].items()}
    for rows in real.values():
        rows[0].pop("time_normalised_cpu")
    (gpu / "mimicking_real.json").write_text(json.dumps({"device": "cuda", "real_architectures": real}))
    card = sc.scorecard_from_folder(results, gpu_results=gpu)
    assert card["C4"]["verdict"] == sc.HOLDS
    assert "gpu" in card["C4"]["real_architectures"] and "GPU" in card["C4"]["summary"]
