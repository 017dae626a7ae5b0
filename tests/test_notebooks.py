"""Paired notebooks: the .py sources and their .ipynb twins stay in step; the book lists them all."""

from pathlib import Path

import pytest
import yaml

from redundancy.notebook_tools import INJECTED_TAG, pair_drift, prepare_nbval
from redundancy.paths import project_root

ROOT = project_root()
SOURCES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def test_there_are_notebooks():
    assert SOURCES, "no notebooks/NN_topic.py sources found"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_pair_has_not_drifted(source):
    assert pair_drift(source) == []


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_source_has_parameters_cell_and_no_injected_cell(source):
    text = source.read_text()
    assert 'tags=["parameters"]' in text
    assert INJECTED_TAG not in text


def test_drift_is_detected(tmp_path):
    import jupytext

    py = tmp_path / "01_x.py"
    py.write_text("# %%\nx = 1\n\n# %%\ny = 2\n")
    nb = jupytext.read(py)
    jupytext.write(nb, tmp_path / "01_x.ipynb")
    assert pair_drift(py) == []
    py.write_text("# %%\nx = 1\n\n# %%\ny = 3\n")
    assert pair_drift(py) != []


def test_prepare_nbval_drops_only_the_injected_cell(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("profile = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('profile = "mini"', metadata={"tags": [INJECTED_TAG]}),
        nbformat.v4.new_code_cell("print(profile)"),
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    (out,) = prepare_nbval([path], tmp_path / "out")
    cells = nbformat.read(out, as_version=4).cells
    assert [c.source for c in cells] == ["profile = None", "print(profile)"]


def test_every_notebook_is_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = set()

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.add(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(toc)
    for source in SOURCES:
        assert f"notebooks/{source.stem}" in files, f"{source.name} is missing from _toc.yml"


def test_config_never_allows_errors():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert not config["execute"].get("allow_errors", False)
