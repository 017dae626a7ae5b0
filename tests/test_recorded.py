"""The one reader of recorded studies: present, missing (said or silent), damaged."""

import json

import pytest

from redundancy.paths import RESULTS_ENV
from redundancy.recorded import recorded_study


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path))
    (tmp_path / "mini").mkdir()
    return tmp_path / "mini"


def test_reads_a_recorded_study(results, capsys):
    (results / "study.json").write_text(json.dumps({"rows": [1, 2]}))
    assert recorded_study("mini", "study.json", what="study", writer="benchmarks/x.py") == {"rows": [1, 2]}
    assert capsys.readouterr().out == ""


def test_missing_study_says_which_script_records_it(results, capsys):
    assert recorded_study("mini", "absent.json", what="partial-freeze study",
                          writer="benchmarks/partial_cnn_freeze.py") is None
    assert capsys.readouterr().out == ("no partial-freeze study recorded for the mini profile "
                                       "(benchmarks/partial_cnn_freeze.py writes one)\n")


def test_missing_side_input_is_silent(results, capsys):
    assert recorded_study("mini", "absent.json") is None
    assert capsys.readouterr().out == ""


def test_damaged_study_names_its_file(results):
    (results / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.json is not valid JSON.*benchmarks/x\.py"):
        recorded_study("mini", "broken.json", what="study", writer="benchmarks/x.py")
