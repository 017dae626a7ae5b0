"""Pages generated at build time: the landing page's scorecard and provenance, and the status page.

``make html`` / ``make test-book`` run ``python -m redundancy.bookpages`` before ``jupyter-book build``,
so the landing page and the status page always describe the notebooks and results that are in the
checkout at build time, never typed numbers. Everything goes to ``book/_generated/`` (git-ignored),
which ``book/intro.md`` and ``book/status.md`` include.

    python -m redundancy.bookpages [--notebooks notebooks] [--results results] [--out book/_generated]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .notebook_tools import RUN_METADATA
from .quality import model_quality, quality_note
from .scorecard import (WORDS_CLASSES, load_results, markdown_table, scorecard, scorecard_from_folder,
                        task_accuracy)

GENERATED = Path("book") / "_generated"


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def notebook_runs(notebooks: list[Path]) -> list[dict[str, Any]]:
    """Per executed notebook: title, profile, device, start, duration, success, failed cell, versions."""
    import nbformat

    runs = []
    for path in sorted(notebooks):
        nb = nbformat.read(path, as_version=4)
        pm = nb.metadata.get("papermill", {})
        info = nb.metadata.get(RUN_METADATA, {})
        params = pm.get("parameters", {})
        failed = [i for i, cell in enumerate(nb.cells)
                  if cell.get("metadata", {}).get("papermill", {}).get("status") == "failed"]
        title = next((line.lstrip("# ").strip() for cell in nb.cells if cell.cell_type == "markdown"
                      for line in cell.source.splitlines() if line.startswith("# ")), path.stem)
        executed = bool(pm)
        runs.append({
            "notebook": path.stem, "title": title, "executed": executed,
            "profile": params.get("profile") or info.get("profile"),
            "device": info.get("resolved_device") or params.get("device"),
            "start": _parse_time(pm.get("start_time")), "end": _parse_time(pm.get("end_time")),
            "duration_s": pm.get("duration"),
            "success": executed and pm.get("exception") in (None, False) and not failed,
            "failed_cells": failed, "versions": info.get("versions", {}),
            "published_models": info.get("published_models"),
        })
    return runs


def _fmt_time(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def run_profile(runs: list[dict[str, Any]], default: str = "mini") -> str:
    """The profile most notebooks were executed on (the pages show that profile's results)."""
    profiles = Counter(r["profile"] for r in runs if r["profile"])
    return profiles.most_common(1)[0][0] if profiles else default


def status_markdown(runs: list[dict[str, Any]], built: datetime, published_now: str | None = None) -> str:
    """The status page body: one row per notebook, then the package versions of the run.
    ``published_now``: the digest of today's published models (:func:`redundancy.publish.published_digest`);
    a chapter executed on others is marked stale."""
    lines = [f"Page generated {_fmt_time(built)} from the metadata of the executed notebooks.", "",
             "| chapter | profile | device | started | execution time | status |", "|---|---|---|---|---|---|"]
    for run in runs:
        if not run["executed"]:
            status = "never executed"
        elif run["success"]:
            status = "passed"
        else:
            status = "**failed**" + (f" (cell {run['failed_cells'][0]})" if run["failed_cells"] else "")
        if run["executed"] and published_now:
            if run.get("published_models") is None:
                status += " (on which published models: not recorded)"
            elif run["published_models"] != published_now:
                status += ", **stale**: executed on other published models than today's; rerun it"
        lines.append(f"| {{doc}}`{run['title']} </notebooks/{run['notebook']}>` | {run['profile'] or '-'} "
                     f"| {run['device'] or '-'} | {_fmt_time(run['start'])} | {_fmt_duration(run['duration_s'])} "
                     f"| {status} |")
    total = sum(r["duration_s"] or 0 for r in runs)
    lines += ["", f"Total execution time: {_fmt_duration(total)}.", ""]
    versions: dict[str, set[str]] = {}
    for run in runs:
        for name, value in run["versions"].items():
            versions.setdefault(name, set()).add(value)
    recorded = [r["notebook"] for r in runs if r["versions"]]
    lines += ["## Package versions", ""]
    if not versions:
        lines.append("Not recorded: these notebooks were executed before `notebook_tools.execute` recorded "
                     "versions. The next `make book` records them.")
    else:
        lines += ["| package | version |", "|---|---|"]
        lines += [f"| {name} | {', '.join(sorted(values))} |" for name, values in sorted(versions.items())]
        missing = [r["notebook"] for r in runs if r["executed"] and not r["versions"]]
        lines += ["", f"Recorded by {len(recorded)} of {len(runs)} notebooks"
                  + (f" (not by {', '.join(missing)})." if missing else ".")]
    return "\n".join(lines) + "\n"


def models_markdown(profile: str, results: Path, models_root: Path | None = None) -> str:
    """Which models produced the results: the published folders (``models/<profile>/<family>/<state>``)
    with their recipe hash, commit and device from ``provenance.json``; else the names in the results."""
    folder = Path(models_root) / profile if models_root is not None else _published_root(profile)
    records = [json.loads(p.read_text()) | {"_folder": p.parent}
               for p in sorted(folder.rglob("provenance.json"))] if folder.is_dir() else []
    if records:
        families: dict[str, list[str]] = {}
        for rec in records:
            families.setdefault(rec.get("family") or rec["_folder"].parent.name, []).append(rec["_folder"].name)
        facts = [f"{key.replace('_', ' ')} {', '.join(sorted({str(r[key])[:12] for r in records if r.get(key)}))}"
                 for key in ("recipe_hash", "git_commit", "device") if any(r.get(key) for r in records)]
        lines = [f"- published in `models/{profile}/` ({'; '.join(facts)}):"]
        lines += [f"  - {family}: {', '.join(states)}" for family, states in sorted(families.items())]
        return "\n".join(lines) + "\n"
    baselines = results / profile / "baselines.json"
    if baselines.is_file():
        names = sorted(json.loads(baselines.read_text()).get("models", {}))
        return (f"- fine-tuned in this run: {', '.join(names)} (no published model folders in "
                f"`models/{profile}/`)\n")
    return "- no model results yet\n"


def _published_root(profile: str) -> Path:
    from .publish import models_root

    return models_root(profile)


def provenance_markdown(runs: list[dict[str, Any]], profile: str, results: Path, models_root: Path | None) -> str:
    """One paragraph for the landing page: profile, device, when, which models."""
    executed = [r for r in runs if r["executed"]]
    starts = [r["start"] for r in executed if r["start"]]
    ends = [r["end"] for r in executed if r["end"]]
    devices = sorted({r["device"] for r in executed if r["device"]})
    failed = [r["notebook"] for r in executed if not r["success"]]
    when = f"between {_fmt_time(min(starts))} and {_fmt_time(max(ends))}" if starts and ends else "at an unknown time"
    text = (f"The pages show the **{profile}** profile: {len(executed)} of {len(runs)} chapters executed "
            f"{when} on {', '.join(devices) or 'an unrecorded device'}"
            + (f"; **failed: {', '.join(failed)}**" if failed else "") + " (details: {doc}`/book/status`). Models:\n\n")
    return text + models_markdown(profile, results, models_root)


def toc_files(toc: Path) -> list[str]:
    """Every page of ``_toc.yml`` after the root, in reading order (paths without suffix)."""
    import yaml

    def walk(node: Any) -> list[str]:
        found = []
        if isinstance(node, dict):
            if "file" in node:
                found.append(str(node["file"]))
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []):
                    found += walk(child)
        return found

    return walk(yaml.safe_load(Path(toc).read_text()))


def _page_title(root: Path, page: str) -> str:
    """The first level-1 heading of a page (``.md``, else the notebook's percent-format ``.py``)."""
    for suffix, comment in ((".md", ""), (".py", "# ")):
        path = root / f"{page}{suffix}"
        if path.is_file():
            for line in path.read_text().splitlines():
                if comment and line.startswith(comment):
                    line = line[len(comment):]
                if line.startswith("# "):
                    return line[2:].strip()
    return Path(page).name


def chapters_markdown(root: Path, toc: Path) -> str:
    """A bullet list linking every page of the table of contents (the landing page includes it)."""
    lines = [f"- {{doc}}`{_page_title(root, page)} </{page}>`" for page in toc_files(toc)]
    return "\n".join(lines) + "\n"


def key_figure(results: Path, profile: str, out: Path) -> Path:
    """The landing page's figure: the CKA maps of the fine-tuned word models with their blocks (claim C1)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import heatmap_with_blocks

    path = results / profile / "similarity.json"
    data = json.loads(path.read_text()) if path.is_file() else {"models": {}}
    models = [m for m, states in data["models"].items() if "words" in states]
    accuracy = task_accuracy(load_results(results / profile)) if (results / profile).is_dir() else {}
    fig, axes = plt.subplots(1, max(len(models), 1), figsize=(3.6 * max(len(models), 1), 3.4), squeeze=False)
    for ax, model in zip(axes[0], models):
        entry = data["models"][model]["words"]
        acc = accuracy.get(model)
        note = "" if acc is None else f"\nwords accuracy {acc:.2f}" + (
            "" if model_quality(acc, WORDS_CLASSES) == "strong"
            else f" ({quality_note(acc, WORDS_CLASSES).split(':')[0]}: not scored)")
        heatmap_with_blocks(ax, entry["metrics"]["cka"], [tuple(b) for b in entry["blocks"]["cka"]],
                            title=f"{model}, fine-tuned on words: CKA{note}", cbar=False, tick_step=2)
    if not models:
        axes[0][0].text(0.5, 0.5, "layer similarity not yet measured", ha="center", va="center")
        axes[0][0].set_axis_off()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def generate(notebooks: Path, results: Path, models_root: Path | None, out: Path) -> list[Path]:
    """Write every generated page fragment; returns the files written."""
    sources = sorted(Path(notebooks).glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no executed notebooks NN_*.ipynb in {notebooks}")
    from .publish import published_digest

    runs = notebook_runs(sources)
    profile = run_profile(runs)
    out.mkdir(parents=True, exist_ok=True)
    built = datetime.now(timezone.utc)
    root = Path(notebooks).resolve().parent
    written = {
        "chapters.md": chapters_markdown(root, root / "_toc.yml"),
        "status.md": status_markdown(runs, built, published_digest(Path(models_root) / profile if models_root
                                                                   else _published_root(profile))),
        "provenance.md": provenance_markdown(runs, profile, results, models_root),
        "scorecard.md": markdown_table(scorecard_from_folder(results / profile, results / "gpu")
                                       if (results / profile).is_dir() else scorecard({})),
    }
    paths = []
    for name, text in written.items():
        (out / name).write_text(text)
        paths.append(out / name)
    paths.append(key_figure(results, profile, out / "key_figure.png"))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m redundancy.bookpages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebooks", type=Path, default=Path("notebooks"))
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--models", type=Path, default=None,
                        help="root of the published models (default: $REDUNDANCY_MODELS, else models/)")
    parser.add_argument("--out", type=Path, default=GENERATED)
    args = parser.parse_args(argv)
    for path in generate(args.notebooks, args.results, args.models, args.out):
        print(f"[bookpages] wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
