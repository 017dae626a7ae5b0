"""Cached pipeline stages: a key per (stage, configuration, inputs, code), atomic writes.

Every stage is a pure function of its configuration and its inputs. Its output is a directory
``<cache root>/<stage>/<key>``. It is built in a temporary sibling directory and renamed into place
only when complete, so an interrupted run leaves no artifact (and the next run rebuilds it), and a
finished one is never recomputed. The key includes a hash of the source of the modules that
compute the stage (by default the module that asks for the key), so editing a stage's code
recomputes it while edits elsewhere leave it cached. Stages that need to resume (long training) keep their
checkpoints in ``work_dir(stage, key)``, which survives interruption.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .paths import cache_root

KEY_LENGTH = 16


def _canonical(value: Any) -> Any:
    """A JSON-ready, order-stable form of configs: dataclasses, tuples, paths, numpy scalars."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _canonical(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot derive a cache key from a value of type {type(value).__name__}")


@functools.lru_cache(maxsize=None)
def _module_source_hash(module: str) -> str:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise ValueError(f"cannot hash the code of module {module!r}: no source file found")
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()


def code_hash(modules: Sequence[str]) -> str:
    """Hash of the source files of ``modules`` (dotted names): the code part of a stage key."""
    digest = hashlib.sha256()
    for module in sorted(set(modules)):
        digest.update(f"{module}:{_module_source_hash(module)};".encode())
    return digest.hexdigest()[:KEY_LENGTH]


def _calling_module() -> str:
    """The first module up the call stack that is not this one: the stage asking for a key."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    name = frame.f_globals.get("__name__", "__main__") if frame is not None else "__main__"
    return name


def stage_key(stage: str, config: Any, inputs: Sequence[str] = (), code: Sequence[str] | None = None) -> str:
    """Hex key of a stage run: changes when the stage, its config, its inputs, the library version
    or the code of the stage changes. ``code`` names the modules whose source the stage depends on;
    by default the calling module (code run as a script or in a notebook is not hashed)."""
    if code is None:
        caller = _calling_module()
        code = (caller,) if caller.startswith("redundancy.") else ()
    payload = json.dumps(
        {"stage": stage, "config": _canonical(config), "inputs": list(inputs), "version": __version__,
         "code": code_hash(code) if code else ""},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:KEY_LENGTH]


def artifact_path(stage: str, key: str, root: Path | None = None) -> Path:
    """Where the finished artifact of ``stage`` under ``key`` lives (it may not exist yet)."""
    return (root or cache_root()) / stage / key


def work_dir(stage: str, key: str, root: Path | None = None) -> Path:
    """A persistent scratch folder for resumable stages (checkpoints); removed once the stage ends."""
    path = (root or cache_root()) / stage / f"{key}.work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_artifact(
    stage: str,
    config: Any,
    build: Callable[[Path], None],
    inputs: Sequence[str] = (),
    root: Path | None = None,
    code: Sequence[str] | None = None,
) -> Path:
    """Return the artifact directory of a stage, building it with ``build(tmp_dir)`` if missing.

    ``build`` writes its files into the directory it is given; only when it returns is that
    directory renamed to its final place (atomic on one filesystem). If it raises, nothing is left.
    Processes that want the same missing artifact at once (worker processes of one chapter) build
    it once: the others wait for it (:func:`_building`).
    """
    if code is None:
        caller = _calling_module()
        code = (caller,) if caller.startswith("redundancy.") else ()
    key = stage_key(stage, config, inputs, code=code)
    final = artifact_path(stage, key, root)
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with _building(final.parent / f"{key}.lock"):
        if final.is_dir():  # built by another process while this one waited
            return final
        return _build_unlocked(final, stage, key, config, inputs, build)


@contextlib.contextmanager
def _building(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` while building (POSIX ``flock``; released by the
    system if the process dies), and remove the file afterwards. A process that arrives after the
    removal finds the artifact built; only after a *failed* build can two processes then build at
    once, as they could where ``fcntl`` is missing: the first one renamed into place wins."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            lock_file.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_unlocked(final: Path, stage: str, key: str, config: Any, inputs: Sequence[str],
                    build: Callable[[Path], None]) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}.tmp-", dir=final.parent))
    try:
        build(tmp)
        _write_manifest(tmp, stage, key, config, inputs)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # someone else finished first: theirs is as good as ours
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(final.parent / f"{key}.work", ignore_errors=True)
    return final


def folder_key(root: Path) -> str:
    """Cache input naming a data folder: its artifact key when it is cached, else its resolved path
    (an outside folder such as a downloaded Speech Commands root is taken as fixed)."""
    root = Path(root)
    return key_of(root) if (root / "_manifest.json").is_file() else str(root.resolve())


def key_of(path: Path) -> str:
    """The key of an artifact directory (its name), to pass as an input of a later stage."""
    return Path(path).name


def _write_manifest(folder: Path, stage: str, key: str, config: Any, inputs: Sequence[str]) -> None:
    manifest = {
        "stage": stage,
        "key": key,
        "version": __version__,
        "inputs": list(inputs),
        "config": _canonical(config),
    }
    (folder / "_manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see either the old content or the new, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_json(path: Path, obj: Any) -> None:
    """JSON variant of :func:`atomic_write_bytes` (sorted keys, indented: diff-friendly)."""
    atomic_write_bytes(Path(path), (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> Any:
    """Read a JSON artifact with a message that names the file when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such result file: {path}")
    return json.loads(path.read_text())
