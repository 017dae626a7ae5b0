"""SynthCommands: the Speech Commands v0.02 layout, deterministic per seed, cached, speaker-disjoint splits."""

import argparse
import hashlib
import json
import re

import pytest
import soundfile as sf

from redundancy import corpus
from redundancy.commands import WORDS, speaker_of
from redundancy.config import load_profile

SMOKE = load_profile("smoke")


def file_hashes(root, skip=("_manifest.json",)):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in skip
    }


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def cached_root(cache_dir):
    mp = pytest.MonkeyPatch()
    mp.setenv("REDUNDANCY_CACHE", str(cache_dir))
    try:
        yield corpus.build_corpus(SMOKE, progress=False)
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def plain_root(tmp_path_factory):
    return corpus.synthesize_commands(tmp_path_factory.mktemp("plain") / "sc", SMOKE, seed=0, progress=False)


@pytest.fixture(scope="module")
def cli_root_seed1(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "sc"
    parser = argparse.ArgumentParser()
    corpus.add_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["corpus", "--profile", "smoke", "--root", str(root), "--seed", "1", "--no-progress"])
    assert args.func(args) == 0
    return root


def test_same_seed_gives_identical_files_and_the_cache_matches(cached_root, plain_root):
    # one build went through the cache, the other was written directly: byte-identical anyway
    a, b = file_hashes(cached_root), file_hashes(plain_root)
    assert len(a) == 35 * SMOKE.corpus.n_speakers * SMOKE.corpus.repetitions + 5 + 3
    assert a == b


def test_another_seed_gives_another_corpus(plain_root, cli_root_seed1):
    a, b = file_hashes(plain_root), file_hashes(cli_root_seed1)
    assert set(a).isdisjoint({k for k in b if "_nohash_" in k})  # other speaker names
    assert a["_background_noise_/white_noise.wav"] != b["_background_noise_/white_noise.wav"]


def test_cache_reuses_the_finished_corpus(cached_root, cache_dir, monkeypatch):
    monkeypatch.setenv("REDUNDANCY_CACHE", str(cache_dir))
    stamp = (cached_root / "validation_list.txt").stat().st_mtime_ns
    assert corpus.build_corpus(SMOKE, progress=False) == cached_root
    assert (cached_root / "validation_list.txt").stat().st_mtime_ns == stamp
    assert cached_root.parent.name == "corpus"


def test_layout_is_speech_commands_v002(plain_root):
    folders = sorted(p.name for p in plain_root.iterdir() if p.is_dir())
    assert folders == sorted([*WORDS, "_background_noise_"])
    assert {p.name for p in (plain_root / "_background_noise_").iterdir()} == {
        f"{n}.wav" for n in corpus.SYNTHESIS["noises"]
    }
    pattern = re.compile(r"^[0-9a-f]{8}_nohash_\d+\.wav$")
    clips = sorted(plain_root.glob("*/*_nohash_*.wav"))
    assert len(clips) == 35 * SMOKE.corpus.n_speakers * SMOKE.corpus.repetitions
    for clip in clips[::7]:
        assert pattern.match(clip.name), clip.name
        info = sf.info(str(clip))
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (16000, 1, 16000, "PCM_16")


def test_splits_are_speaker_disjoint_and_sized(plain_root):
    val = (plain_root / "validation_list.txt").read_text().split()
    test = (plain_root / "testing_list.txt").read_text().split()
    assert all((plain_root / p).is_file() for p in val + test)
    val_speakers, test_speakers = {speaker_of(p) for p in val}, {speaker_of(p) for p in test}
    assert val_speakers.isdisjoint(test_speakers)
    held = max(1, round(SMOKE.corpus.heldout_fraction * SMOKE.corpus.n_speakers))
    assert len(val_speakers) == len(test_speakers) == held
    # every clip of a held-out speaker is listed, so train has none of them
    assert len(test) == held * 35 * SMOKE.corpus.repetitions


def test_mini_speaker_split_is_about_ten_percent_each():
    mini = load_profile("mini").corpus
    speakers = corpus.make_speakers(mini.n_speakers, mini.seed)
    split = corpus.split_speakers(speakers, mini.heldout_fraction, mini.seed)
    assert mini.n_speakers >= 40
    held = round(mini.heldout_fraction * mini.n_speakers)
    assert sum(v == "test" for v in split.values()) == sum(v == "validation" for v in split.values()) == held
    assert len({(s.accent, s.variant) for s in speakers}) == mini.n_speakers  # distinct voices


def test_too_few_speakers_for_the_split_is_a_clear_error():
    with pytest.raises(ValueError, match="2 speakers cannot give 1 validation, 1 test and >= 1 train"):
        corpus.split_speakers(corpus.make_speakers(2, 0), 0.1, 0)


def test_unknown_voice_is_a_clear_error():
    with corpus.Espeak() as espeak:
        assert espeak.say("yes", "en-us+m3", 175, 50, 50, seed=1).size > 1000
        with pytest.raises(ValueError, match="eSpeak NG failed for voice 'xx-nowhere'"):
            espeak.say("yes", "xx-nowhere", 175, 50, 50, seed=1)


@pytest.mark.parametrize("synthesize", [corpus.synthesize_commands, corpus.synthesize_pretrain])
def test_recording_in_the_helper_process_writes_the_same_bytes(tmp_path, synthesize):
    inline = synthesize(tmp_path / "inline", SMOKE, progress=False, helper=False)
    helped = synthesize(tmp_path / "helper", SMOKE, progress=False, helper=True)
    assert file_hashes(inline) == file_hashes(helped)


def test_a_failure_in_the_recording_helper_is_raised(tmp_path):
    import numpy as np

    speaker = corpus.make_speakers(1, 0)[0]
    recorder = corpus.ClipRecorder(corpus.background_noises(1.0, 0), 1.0, 0, helper=True, batch=1)
    with pytest.raises(RuntimeError, match="recording a clip failed in the helper process"):
        with recorder:
            recorder.add(tmp_path / "missing-folder" / "a.wav", np.random.default_rng(0), np.ones(800),
                         speaker, 16000, (10.0, 20.0))
            recorder.close()


def test_pretrain_corpus(tmp_path, monkeypatch):
    monkeypatch.setenv("REDUNDANCY_CACHE", str(tmp_path / "cache"))
    root = corpus.build_pretrain_corpus(SMOKE, progress=False)
    assert root.parent.name == "pretrain-corpus"
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["sample_rate"] == 16000
    utterances = manifest["utterances"]
    assert len(utterances) == SMOKE.corpus.pretrain_utterances
    lo, hi = SMOKE.corpus.pretrain_seconds
    speakers = corpus.make_speakers(SMOKE.corpus.n_speakers, SMOKE.corpus.seed)
    split = corpus.split_speakers(speakers, SMOKE.corpus.heldout_fraction, SMOKE.corpus.seed)
    for i, u in enumerate(utterances):
        assert u["file"] == f"wav/{i:05d}.wav"
        assert lo <= u["seconds"] <= hi
        assert len(u["text"].split()) >= 2
        assert split[u["speaker"]] != "test"
        info = sf.info(str(root / u["file"]))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert info.frames == round(u["seconds"] * 16000)
    assert {u["speaker"] for u in utterances} == {n for n, s in split.items() if s != "test"}
    again = corpus.synthesize_pretrain(tmp_path / "again", SMOKE, progress=False)
    assert file_hashes(root) == file_hashes(again)


def test_paper_profile_uses_the_real_root(tmp_path):
    import dataclasses

    paper = load_profile("paper")
    unset = dataclasses.replace(paper, corpus=dataclasses.replace(paper.corpus, root=None))
    with pytest.raises(ValueError, match=r"needs a Speech Commands v0.02 root: set \$SPEECH_COMMANDS_ROOT"):
        corpus.build_corpus(unset)
    empty = dataclasses.replace(paper, corpus=dataclasses.replace(paper.corpus, root=str(tmp_path)))
    with pytest.raises(FileNotFoundError, match=r"validation_list.txt: missing; .* is not a Speech Commands v0.02"):
        corpus.build_corpus(empty)
    (tmp_path / "validation_list.txt").write_text("")
    (tmp_path / "testing_list.txt").write_text("")
    assert corpus.build_corpus(empty) == tmp_path
    with pytest.raises(ValueError, match="no pre-training corpus"):
        corpus.build_pretrain_corpus(empty)
