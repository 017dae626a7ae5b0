"""Sphinx extension: small fixes to the rendered pages that the browser test asks for.

- A ``.py`` entry in each chapter's download menu: the theme offers the executed ``.ipynb``;
  readers who prefer plain Python (or review diffs) get the jupytext source it is paired with.
- Each inline script once: sphinx-thebe's configuration script is added twice per page by the
  Jupyter Book 1.x stack, and the second copy throws ``Identifier 'THEBE_JS_URL' has already been
  declared`` in every browser.
- A default colour mode (``auto``): without one, the theme logs "Got invalid theme mode" as a
  console error on a reader's first visit.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def add_py_download(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Copy ``<page>.py`` next to the page's sources and list it in the download button group."""
    source = Path(app.srcdir) / f"{pagename}.py"
    if not source.is_file() or context.get("page_source_suffix") != ".ipynb":
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.py"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button["buttons"].insert(1, {
                "type": "link", "url": f"{context['pathto']('_sources', 1)}/{pagename}.py", "text": ".py",
                "tooltip": "Download the notebook's Python source (jupytext percent format)",
                "icon": "fas fa-code", "label": "download-py-button",
            })


def dedupe_scripts(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Drop repeated inline scripts (same body, no file) from the page's script list."""
    seen: set[str] = set()
    kept = []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        body = attributes.get("body", "") if not getattr(script, "filename", None) else ""
        if body:
            if body in seen:
                continue
            seen.add(body)
        kept.append(script)
    if "script_files" in context:
        context["script_files"] = kept


def default_mode(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Give the theme a valid colour mode to fall back on (the reader's system setting)."""
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", add_py_download, priority=600)
    app.connect("html-page-context", dedupe_scripts, priority=999)
    app.connect("html-page-context", default_mode, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
