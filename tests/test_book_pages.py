"""Generated book pages (status, chapters, scorecard table) and the notebook tidying that keeps
machine paths and papermill's injected cell out of the rendered book."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from redundancy import bookpages
from redundancy.notebook_tools import HIDE_TAG, INJECTED_TAG, hide_injected, run_info, scrub_paths, tidy_notebook
from redundancy.paths import display_path, project_root

ROOT = project_root()


def _executed(path: Path, *, failed: bool = False, versions: bool = True, published: str | None = None) -> Path:
    """A small notebook with the metadata papermill and notebook_tools.execute leave behind."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter title\n\ntext"),
                nbformat.v4.new_code_cell("profile = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell('profile = "mini"', metadata={"tags": [INJECTED_TAG]}),
                nbformat.v4.new_code_cell("1 / 0" if failed else "1",
                                          metadata={"papermill": {"status": "failed" if failed else "completed"}})]
    nb.metadata["papermill"] = {"start_time": "2026-01-02T03:04:05.000000+00:00",
                                "end_time": "2026-01-02T03:06:10.000000+00:00", "duration": 125.0,
                                "exception": True if failed else None,
                                "parameters": {"profile": "mini", "device": "auto"}}
    if versions:
        nb.metadata["redundancy"] = {"profile": "mini", "device": "auto", "resolved_device": "cpu",
                                     "versions": {"torch": "9.9.9", "python": "3.11.0"},
                                     "published_models": published}
    nbformat.write(nb, path)
    return path


def test_status_page_reads_the_notebooks_metadata(tmp_path: Path) -> None:
    runs = bookpages.notebook_runs([_executed(tmp_path / "01_ok.ipynb"),
                                    _executed(tmp_path / "02_bad.ipynb", failed=True, versions=False)])
    text = bookpages.status_markdown(runs, datetime(2026, 1, 2, tzinfo=timezone.utc))
    ok, bad = text.splitlines()[4:6]
    assert "A chapter title" in ok and "| mini | cpu | 2026-01-02 03:04 UTC | 2 min 05 s | passed |" in ok
    assert "**failed** (cell 3)" in bad
    assert "| torch | 9.9.9 |" in text
    assert "not by 02_bad" in text
    assert bookpages.run_profile(runs) == "mini"


def test_status_page_marks_a_chapter_executed_on_other_published_models(tmp_path: Path) -> None:
    from redundancy.publish import published_digest

    models = tmp_path / "models"
    (models / "wavlm" / "words-seed0").mkdir(parents=True)
    provenance = models / "wavlm" / "words-seed0" / "provenance.json"
    provenance.write_text('{"weights_sha256": "aaaa"}')
    then = published_digest(models)
    provenance.write_text('{"weights_sha256": "bbbb"}')
    now = published_digest(models)
    assert then and now and then != now and published_digest(tmp_path / "nothing") is None
    runs = bookpages.notebook_runs([_executed(tmp_path / "01_current.ipynb", published=now),
                                    _executed(tmp_path / "02_stale.ipynb", published=then),
                                    _executed(tmp_path / "03_old.ipynb")])
    current, stale, old = bookpages.status_markdown(runs, datetime.now(timezone.utc), now).splitlines()[4:7]
    assert current.endswith("| passed |")
    assert "**stale**" in stale and "**stale**" not in current
    assert "not recorded" in old
    assert "**stale**" not in bookpages.status_markdown(runs, datetime.now(timezone.utc))


def test_status_page_says_when_versions_were_not_recorded(tmp_path: Path) -> None:
    runs = bookpages.notebook_runs([_executed(tmp_path / "01_old.ipynb", versions=False)])
    assert "Not recorded" in bookpages.status_markdown(runs, datetime.now(timezone.utc))


def test_chapter_list_follows_the_table_of_contents() -> None:
    pages = bookpages.toc_files(ROOT / "_toc.yml")
    text = bookpages.chapters_markdown(ROOT, ROOT / "_toc.yml")
    assert len(text.splitlines()) == len(pages)
    assert "notebooks/07_scorecard" in pages
    assert "{doc}`The scorecard: which claims hold here? </notebooks/07_scorecard>`" in text


def test_generate_writes_every_fragment(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "_toc.yml", project / "_toc.yml")
    _executed(project / "notebooks" / "01_x.ipynb")
    shutil.copytree(ROOT / "results" / "mini", project / "results" / "mini")
    out = project / "book" / "_generated"
    written = bookpages.generate(project / "notebooks", project / "results", project / "models", out)
    assert {p.name for p in written} == {"chapters.md", "status.md", "provenance.md", "scorecard.md",
                                         "key_figure.png"}
    assert "| **C1**" in (out / "scorecard.md").read_text()
    assert "**mini** profile" in (out / "provenance.md").read_text()
    assert (out / "key_figure.png").stat().st_size > 1000


def test_scrub_paths_and_hide_injected(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(out)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                           text=f"wrote {tmp_path}/results/mini/x.json\n"
                                                "and /elsewhere/checkout/.cache/redundancy/corpus/abc\n")]
    nb.cells = [nbformat.v4.new_code_cell("x", metadata={"tags": [INJECTED_TAG]}), cell]
    nb.metadata["papermill"] = {"output_path": f"{tmp_path}/notebooks/07.ipynb"}
    assert scrub_paths(nb, tmp_path) == 3
    assert nb.cells[1].outputs[0]["text"] == "wrote results/mini/x.json\nand .cache/redundancy/corpus/abc\n"
    assert nb.metadata["papermill"]["output_path"] == "notebooks/07.ipynb"
    hide_injected(nb)
    hide_injected(nb)
    assert nb.cells[0].metadata["tags"] == [INJECTED_TAG, HIDE_TAG]


def test_tidy_notebook_in_place(tmp_path: Path) -> None:
    path = _executed(tmp_path / "01_x.ipynb")
    tidy_notebook(path)
    cells = nbformat.read(path, as_version=4).cells
    assert HIDE_TAG in cells[2].metadata["tags"] and HIDE_TAG not in cells[1].metadata["tags"]


def test_run_info_records_versions() -> None:
    info = run_info("smoke", "cpu")
    assert info["resolved_device"] == "cpu" and info["profile"] == "smoke"
    assert {"python", "torch", "transformers"} <= set(info["versions"])


def test_display_path_is_project_relative() -> None:
    assert display_path(ROOT / "results" / "mini" / "x.json") == "results/mini/x.json"


def test_landing_page_names_the_published_models(tmp_path: Path) -> None:
    import json

    for family, state in (("wavlm", "pretrained"), ("wavlm", "words-seed0"), ("hubert", "words-seed1")):
        folder = tmp_path / "models" / "mini" / family / state
        folder.mkdir(parents=True)
        (folder / "provenance.json").write_text(json.dumps(
            {"family": family, "state": state, "recipe_hash": "abcdef0123456789", "git_commit": "1234567890abcdef",
             "device": "cpu"}))
    text = bookpages.models_markdown("mini", tmp_path / "results", tmp_path / "models")
    assert "published in `models/mini/` (recipe hash abcdef012345; git commit 1234567890ab; device cpu)" in text
    assert "  - hubert: words-seed1" in text and "  - wavlm: pretrained, words-seed0" in text
    assert "no model results yet" in bookpages.models_markdown("mini", tmp_path / "results", tmp_path / "none")
