"""Executing and checking the paired notebooks.

The percent-format ``notebooks/NN_topic.py`` is the reviewed source; ``NN_topic.ipynb`` is its twin
carrying the outputs of the last ``make book``. Execution goes source -> fresh notebook -> papermill
-> ``.ipynb``, so papermill's injected-parameters cell lands in the ``.ipynb`` only, never in the
``.py``. For nbval the injected cell is dropped again, so that ``$REDUNDANCY_PROFILE`` (smoke) decides
the profile instead of the parameters of the last full run.

    python -m redundancy.notebook_tools execute --profile mini notebooks/01_mini_world.py ...
    python -m redundancy.notebook_tools prepare-nbval --out _build/nbval notebooks/*.ipynb
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

INJECTED_TAG = "injected-parameters"
HIDE_TAG = "remove-cell"  # Jupyter Book drops cells with this tag from the rendered page
KERNEL_NAME = "python3"
RUN_METADATA = "redundancy"  # notebook metadata key: versions and device of the run (the status page reads it)
VERSIONED_PACKAGES = ("torch", "transformers", "numpy", "scipy", "pandas", "matplotlib", "papermill")


def _is_injected(cell: Any) -> bool:
    return INJECTED_TAG in cell.get("metadata", {}).get("tags", [])


def code_sources(notebook: Any) -> list[str]:
    """Code cells of a notebook as stripped strings, papermill's injected cell left out."""
    return [
        cell.source.strip()
        for cell in notebook.cells
        if cell.cell_type == "code" and not _is_injected(cell)
    ]


def pair_drift(py_path: Path) -> list[str]:
    """Differences between a ``.py`` source and its paired ``.ipynb`` (empty list: in sync)."""
    import jupytext

    py_path = Path(py_path)
    ipynb_path = py_path.with_suffix(".ipynb")
    if not ipynb_path.is_file():
        return [f"{py_path} has no paired {ipynb_path.name}"]
    source = code_sources(jupytext.read(py_path))
    twin = code_sources(jupytext.read(ipynb_path))
    problems = []
    if len(source) != len(twin):
        problems.append(f"{py_path.name}: {len(source)} code cells, {ipynb_path.name}: {len(twin)}")
    for index, (a, b) in enumerate(zip(source, twin)):
        if a != b:
            problems.append(f"{py_path.name}: code cell {index} differs from {ipynb_path.name}")
    if any(_is_injected(c) for c in jupytext.read(py_path).cells):
        problems.append(f"{py_path.name} contains papermill's injected-parameters cell")
    return problems


def execute(py_path: Path, profile: str, device: str, extra: dict[str, Any] | None = None) -> Path:
    """Run one notebook source with papermill; write its paired ``.ipynb`` with outputs."""
    import jupytext
    import papermill

    py_path = Path(py_path).resolve()
    if not py_path.is_file():
        raise FileNotFoundError(f"no notebook source {py_path}")
    out_path = py_path.with_suffix(".ipynb")
    notebook = jupytext.read(py_path)
    notebook.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Python 3", "language": "python"}
    params = {"profile": profile, "device": device, **(extra or {})}
    with tempfile.TemporaryDirectory() as tmp:
        source_nb = Path(tmp) / py_path.with_suffix(".ipynb").name
        jupytext.write(notebook, source_nb, fmt="ipynb")
        papermill.execute_notebook(
            str(source_nb),
            str(out_path),
            parameters=params,
            kernel_name=KERNEL_NAME,
            cwd=str(py_path.parent),
            progress_bar=False,
            log_output=True,
        )
    # Keep jupytext's pairing metadata so that editors treat the two files as one notebook.
    executed = jupytext.read(out_path)
    executed.metadata.setdefault("jupytext", {})["formats"] = "ipynb,py:percent"
    executed.metadata[RUN_METADATA] = run_info(profile, device)
    executed.metadata.setdefault("papermill", {})["input_path"] = str(py_path.relative_to(project_dir(py_path)))
    hide_injected(executed)
    scrub_paths(executed, project_dir(py_path))
    jupytext.write(executed, out_path, fmt="ipynb")
    return out_path


def project_dir(path: Path) -> Path:
    """The checkout a notebook belongs to: the nearest parent with a ``pyproject.toml``."""
    for parent in Path(path).resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return Path(path).resolve().parent


def run_info(profile: str, device: str) -> dict[str, Any]:
    """Profile, requested and resolved device, package versions, and the digest of the profile's
    published models (:func:`redundancy.publish.published_digest`): what the status page shows."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from redundancy.config import resolve_device
    from redundancy.publish import models_root, published_digest

    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    return {"profile": profile, "device": device, "resolved_device": resolve_device(device),
            "versions": versions, "machine": platform.machine(),
            "published_models": published_digest(models_root(profile))}


def hide_injected(notebook: Any) -> None:
    """Tag papermill's injected-parameters cell so that the book leaves it out (the defaults stay)."""
    for cell in notebook.cells:
        if _is_injected(cell):
            tags = cell.metadata.setdefault("tags", [])
            if HIDE_TAG not in tags:
                tags.append(HIDE_TAG)


def scrub_paths(notebook: Any, root: Path) -> int:
    """Replace absolute machine paths in outputs and papermill metadata by readable ones.

    Rendered pages must not show where the builder's checkout, cache or home lives: the checkout
    prefix is dropped (project-relative paths), the cache becomes ``$REDUNDANCY_CACHE/`` and the home
    ``~/`` (as :func:`redundancy.paths.display_path` prints them); the prefix of any other checkout's
    ``results/``, ``.cache/``, ``notebooks/`` or ``lib/`` paths is dropped too. Returns the number of
    replacements.
    """
    from redundancy.paths import ABSOLUTE_PROJECT_PATH, CACHE_ENV, cache_root

    prefixes = [(str(Path(root).resolve()) + "/", ""), (str(cache_root()) + "/", f"${CACHE_ENV}/"),
                (str(Path.home().resolve()) + "/", "~/")]
    # Longest first: the cache usually lives inside the checkout, the checkout inside the home.
    prefixes.sort(key=lambda pair: len(pair[0]), reverse=True)
    count = 0

    def clean(text: str) -> str:
        nonlocal count
        for prefix, replacement in prefixes:
            count += text.count(prefix)
            text = text.replace(prefix, replacement)
        # Another checkout's path (a notebook executed elsewhere): drop the prefix before results/ ...
        text, n = ABSOLUTE_PROJECT_PATH.subn("", text)
        count += n
        return text

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if isinstance(output.get("text"), str):
                output["text"] = clean(output["text"])
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = clean(value)
    papermill_meta = notebook.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if isinstance(papermill_meta.get(key), str):
            papermill_meta[key] = clean(papermill_meta[key])
    return count


def tidy_notebook(path: Path) -> int:
    """Apply :func:`hide_injected` and :func:`scrub_paths` to an executed ``.ipynb`` in place.

    For notebooks executed before ``execute`` did both; returns the number of paths replaced.
    """
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    hide_injected(nb)
    count = scrub_paths(nb, project_dir(path))
    nbformat.write(nb, path)
    return count


def prepare_nbval(notebooks: list[Path], out_dir: Path) -> list[Path]:
    """Copy notebooks for nbval without papermill's injected-parameters cell."""
    import nbformat

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no notebook {path}: run `make book` or `make sync` first")
        nb = nbformat.read(path, as_version=4)
        nb.cells = [cell for cell in nb.cells if not _is_injected(cell)]
        target = out_dir / path.name
        nbformat.write(nb, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m redundancy.notebook_tools", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="execute notebook sources with papermill")
    run.add_argument("--profile", default="mini")
    run.add_argument("--device", default="auto")
    run.add_argument("sources", nargs="+", type=Path)
    prep = sub.add_parser("prepare-nbval", help="copy notebooks for nbval, injected cell removed")
    prep.add_argument("--out", type=Path, required=True)
    prep.add_argument("notebooks", nargs="+", type=Path)
    tidy = sub.add_parser("tidy", help="hide the injected cell and scrub machine paths of executed notebooks")
    tidy.add_argument("notebooks", nargs="+", type=Path)
    drift = sub.add_parser("check-pairs", help="fail when a .py and its .ipynb drifted apart")
    drift.add_argument("sources", nargs="+", type=Path)
    args = parser.parse_args(argv)

    if args.command == "execute":
        for source in args.sources:
            start = time.perf_counter()
            print(f"[notebooks] executing {source} (profile={args.profile}, device={args.device})", flush=True)
            execute(source, args.profile, args.device)
            print(f"[notebooks] {source.name} done in {time.perf_counter() - start:.0f} s", flush=True)
        return 0
    if args.command == "prepare-nbval":
        for path in prepare_nbval(args.notebooks, args.out):
            print(f"[nbval] prepared {path}")
        return 0
    if args.command == "tidy":
        for path in args.notebooks:
            print(f"[tidy] {path}: {tidy_notebook(path)} machine paths replaced")
        return 0
    problems = [p for source in args.sources for p in pair_drift(source)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
