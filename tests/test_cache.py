"""The cache: keys follow the configuration, writes are atomic, finished stages are reused."""

import json
from pathlib import Path

import pytest

from redundancy import cache
from redundancy.config import load_profile


def test_key_changes_with_one_config_value():
    base = {"steps": 10, "lr": 0.001, "sizes": (1, 2)}
    changed = dict(base, steps=11)
    assert cache.stage_key("s", base) == cache.stage_key("s", dict(base))
    assert cache.stage_key("s", base) != cache.stage_key("s", changed)
    assert cache.stage_key("s", base) != cache.stage_key("t", base)
    assert cache.stage_key("s", base, ["a"]) != cache.stage_key("s", base, ["b"])


def test_key_of_profile_changes_with_a_nested_field():
    import dataclasses

    mini = load_profile("mini")
    other = dataclasses.replace(mini, pretrain=dataclasses.replace(mini.pretrain, steps=mini.pretrain.steps + 1))
    assert cache.stage_key("pretrain", mini) != cache.stage_key("pretrain", other)


def test_key_depends_on_the_code_of_the_stage(monkeypatch):
    key = cache.stage_key("s", {"a": 1}, code=["redundancy.finetune"])
    assert cache.stage_key("s", {"a": 1}, code=["redundancy.finetune"]) == key
    real = cache._module_source_hash
    monkeypatch.setattr(cache, "_module_source_hash",
                        lambda m: "edited" if m == "redundancy.finetune" else real(m))
    assert cache.stage_key("s", {"a": 1}, code=["redundancy.finetune"]) != key
    # an edit elsewhere leaves the stage's key alone
    other = cache.stage_key("s", {"a": 1}, code=["redundancy.pretrain"])
    monkeypatch.setattr(cache, "_module_source_hash", real)
    assert cache.stage_key("s", {"a": 1}, code=["redundancy.pretrain"]) == other


def test_default_code_is_the_calling_stage_module():
    from redundancy import finetune

    assert "redundancy.finetune" in finetune.CODE
    # a key asked for from a test (not a library module) hashes no code
    assert cache.stage_key("s", {"a": 1}) == cache.stage_key("s", {"a": 1}, code=())


def test_key_depends_on_library_version(monkeypatch):
    key = cache.stage_key("s", {"a": 1})
    monkeypatch.setattr(cache, "__version__", "999")
    assert cache.stage_key("s", {"a": 1}) != key


def test_interrupted_build_leaves_no_artifact(tmp_path):
    def build(folder):
        (folder / "half.bin").write_bytes(b"x" * 10)
        raise KeyboardInterrupt  # the user pressed Ctrl-C halfway

    with pytest.raises(KeyboardInterrupt):
        cache.build_artifact("stage", {"a": 1}, build, root=tmp_path)
    key = cache.stage_key("stage", {"a": 1})
    assert not cache.artifact_path("stage", key, tmp_path).exists()
    assert list((tmp_path / "stage").iterdir()) == []  # no temporary leftovers either


def test_finished_build_is_reused_not_recomputed(tmp_path):
    calls = []

    def build(folder):
        calls.append(1)
        (folder / "out.json").write_text(json.dumps({"value": 3}))

    first = cache.build_artifact("stage", {"a": 1}, build, root=tmp_path)
    second = cache.build_artifact("stage", {"a": 1}, build, root=tmp_path)
    assert first == second and len(calls) == 1
    assert json.loads((first / "out.json").read_text()) == {"value": 3}
    manifest = json.loads((first / "_manifest.json").read_text())
    assert manifest["config"] == {"a": 1} and manifest["stage"] == "stage"


BUILD_ONCE = """
import sys, time
from pathlib import Path
from redundancy import cache

root, log = Path(sys.argv[1]), Path(sys.argv[2])

def build(folder):
    with open(log, "a") as f:
        f.write("built\\n")
    time.sleep(1.5)
    (folder / "out.txt").write_text("done")

print(cache.build_artifact("stage", {"a": 1}, build, root=root, code=()))
"""


def test_processes_wanting_the_same_artifact_build_it_once(tmp_path):
    import subprocess
    import sys

    log = tmp_path / "builds.log"
    procs = [subprocess.Popen([sys.executable, "-c", BUILD_ONCE, str(tmp_path / "cache"), str(log)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0] == outs[1] and (Path(outs[0]) / "out.txt").read_text() == "done"
    assert log.read_text() == "built\n"  # the second process waited and reused the first one's


def test_atomic_write_interrupted_keeps_old_content(tmp_path, monkeypatch):
    target = tmp_path / "result.json"
    cache.atomic_write_json(target, {"v": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(cache.os, "replace", broken_replace)
    with pytest.raises(OSError):
        cache.atomic_write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_cache_root_moves_with_env(tmp_path, monkeypatch):
    from redundancy.paths import cache_root

    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "elsewhere"))
    assert cache_root() == (tmp_path / "elsewhere").resolve()


def test_default_cache_root_is_git_ignored(monkeypatch):
    from pathlib import Path

    from redundancy.paths import cache_root, project_root

    monkeypatch.delenv("REDUNDANCY_CACHE", raising=False)
    root = project_root()
    assert root is not None
    assert cache_root().is_relative_to(root / ".cache")
    assert ".cache/" in Path(root / ".gitignore").read_text().split()


def test_unknown_value_type_is_refused():
    with pytest.raises(TypeError, match="cache key"):
        cache.stage_key("s", {"f": object()})


def _checkpoint(folder, weights: bytes):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def test_source_key_of_a_plain_folder_follows_its_content_not_its_path(tmp_path):
    from redundancy.publish import source_key

    a = _checkpoint(tmp_path / "a", b"weights one")
    b = _checkpoint(tmp_path / "b", b"weights one")
    assert source_key(a) == source_key(b)  # same content elsewhere: same key
    key = source_key(a)
    _checkpoint(a, b"weights two")
    assert source_key(a) != key


def test_source_key_of_a_published_folder_is_its_recorded_weights_hash(tmp_path):
    import json

    from redundancy.publish import PROVENANCE_FILE, source_key

    folder = _checkpoint(tmp_path / "words-seed0", b"weights")
    (folder / PROVENANCE_FILE).write_text(json.dumps({"weights_sha256": "ab" * 32}))
    assert source_key(folder) == "published-" + "ab" * 8
    (folder / PROVENANCE_FILE).write_text(json.dumps({"weights_sha256": "cd" * 32}))  # republished
    assert source_key(folder) == "published-" + "cd" * 8


def test_source_key_of_a_cached_artifact_and_of_a_hub_name(tmp_path):
    from redundancy.publish import source_key

    artifact = cache.build_artifact("unit-model", {"n": 1}, lambda out: _checkpoint(out, b"w"), root=tmp_path)
    assert source_key(artifact) == cache.key_of(artifact)
    assert source_key("facebook/wav2vec2-base") == "facebook/wav2vec2-base"
    assert cache.folder_key(artifact) == cache.key_of(artifact)
    assert cache.folder_key(tmp_path) == str(tmp_path.resolve())
