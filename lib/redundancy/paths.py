"""Where things live: the project root, the cache root, the results folder of a profile."""

from __future__ import annotations

import os
import re
from pathlib import Path

# An absolute path into some checkout of this project (``/any/where/results/...``, ``.../.cache/...``):
# printed in a notebook, it shows where the builder's machine keeps the project. Group 1 is the
# machine-specific prefix.
ABSOLUTE_PROJECT_PATH = re.compile(r"(?:^|(?<=[\s'\"(=]))((?:/[\w.-]+)+/)(?=(?:results|\.cache|notebooks|lib)/)")

CACHE_ENV = "REDUNDANCY_CACHE"
RESULTS_ENV = "REDUNDANCY_RESULTS"


def project_root() -> Path | None:
    """The checkout this library is installed from (editable install), or None for a plain install."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "lib" / "redundancy").is_dir():
            return parent
    return None


def cache_root() -> Path:
    """``$REDUNDANCY_CACHE``, else ``<project>/.cache/redundancy`` (git-ignored), else ``~/.cache``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    root = project_root()
    if root is not None:
        return root / ".cache" / "redundancy"
    return Path.home() / ".cache" / "redundancy"


def results_dir(profile: str) -> Path:
    """``results/<profile>``: small JSON results that are committed for the mini profile."""
    env = os.environ.get(RESULTS_ENV)
    base = Path(env).expanduser().resolve() if env else (project_root() or Path.cwd()) / "results"
    path = base / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


def display_path(path: Path | str) -> str:
    """A path as a reader may see it: relative to the project, ``$REDUNDANCY_CACHE/...`` or ``~/...``.

    Printed paths end up in the executed notebooks and the rendered book, which must not show where
    the builder's checkout lives.
    """
    path = Path(path).expanduser().resolve()
    root = project_root()
    if root is not None and path.is_relative_to(root):
        return str(path.relative_to(root))
    cache = cache_root()
    if path.is_relative_to(cache):
        return str(Path(f"${CACHE_ENV}") / path.relative_to(cache))
    home = Path.home().resolve()
    if path.is_relative_to(home):
        return str(Path("~") / path.relative_to(home))
    return str(path)
