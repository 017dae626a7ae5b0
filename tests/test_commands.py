"""The Speech Commands loader over the synthetic smoke corpus: both tasks, splits, and bad roots."""

import json
import shutil
from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from redundancy.audio import AudioError
from redundancy.commands import SPEAKER_TEST_FRACTION, SPEAKER_VALIDATION_FRACTION, WORDS, load_split
from redundancy.config import load_profile
from redundancy.corpus import synthesize_commands

SMOKE = load_profile("smoke")
MIN_UTT = SMOKE.corpus.speaker_min_utterances


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return synthesize_commands(tmp_path_factory.mktemp("smoke") / "sc", SMOKE, progress=False)


@pytest.fixture(scope="module")
def speaker_splits(root):
    meta = json.loads((root / "synthcommands.json").read_text())
    return {s["name"]: s["split"] for s in meta["speakers"]}


@pytest.fixture
def copy(root, tmp_path):
    """A private copy of the corpus that a test may damage."""
    return shutil.copytree(root, tmp_path / "sc")


def test_words_is_the_35_sorted_words_of_v002():
    assert len(WORDS) == 35 and list(WORDS) == sorted(WORDS) and len(set(WORDS)) == 35
    assert {"marvin", "sheila", "visual", "backward", "learn", "follow", "forward"} <= set(WORDS)


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_words_task_counts(root, speaker_splits, split):
    data = load_split(root, "words", split)
    n_speakers = sum(s == split for s in speaker_splits.values())
    assert data.classes == list(WORDS)
    assert len(data) == 35 * n_speakers * SMOKE.corpus.repetitions
    assert set(data.counts().values()) == {n_speakers * SMOKE.corpus.repetitions}
    assert {speaker_splits[s] for s in data.speakers} == {split}
    assert data.labels.dtype == np.int64 and data.skipped == []


def test_no_speaker_shared_between_words_splits(root):
    speakers = {s: set(load_split(root, "words", s).speakers) for s in ("train", "validation", "test")}
    assert speakers["train"].isdisjoint(speakers["test"])
    assert speakers["train"].isdisjoint(speakers["validation"])
    assert speakers["validation"].isdisjoint(speakers["test"])


def test_speakers_task_counts(root, speaker_splits):
    train = load_split(root, "speakers", "train", min_utterances=MIN_UTT)
    val = load_split(root, "speakers", "validation", min_utterances=MIN_UTT)
    test = load_split(root, "speakers", "test", min_utterances=MIN_UTT)
    train_speakers = sorted(s for s, split in speaker_splits.items() if split == "train")
    assert train.classes == val.classes == test.classes == train_speakers  # each has 35 >= 20 clips
    per_speaker = 35 * SMOKE.corpus.repetitions
    n_test = max(1, round(SPEAKER_TEST_FRACTION * per_speaker))
    n_val = max(1, round(SPEAKER_VALIDATION_FRACTION * per_speaker))
    assert Counter(test.labels.tolist()) == {i: n_test for i in range(len(train_speakers))}
    assert Counter(val.labels.tolist()) == {i: n_val for i in range(len(train_speakers))}
    assert Counter(train.labels.tolist()) == {i: per_speaker - n_test - n_val for i in range(len(train_speakers))}
    assert set(train.files).isdisjoint(test.files) and set(val.files).isdisjoint(test.files)
    assert set(train.files).isdisjoint(val.files)
    assert [train.classes[label] for label in train.labels] == train.speakers
    # the same seed gives the same split; another seed another one
    assert load_split(root, "speakers", "test", min_utterances=MIN_UTT).files == test.files
    assert load_split(root, "speakers", "test", min_utterances=MIN_UTT, seed=7).files != test.files


def test_speakers_threshold_drops_speakers(root):
    with pytest.raises(ValueError, match="no speaker of the train split has at least 1000 utterances"):
        load_split(root, "speakers", "train", min_utterances=1000)


def test_clips_are_one_second_float32(root):
    data = load_split(root, "words", "test")
    x, label = data[3]
    assert x.dtype == np.float32 and x.shape == (16000,) and isinstance(label, int)
    assert label == WORDS.index(data.files[3].parent.name)
    batch = data.load_all(progress=False)
    assert batch.shape == (len(data), 16000) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[3], x)
    assert np.abs(batch).max() <= 1.0 and batch.std() > 0.005


def test_short_clip_is_padded(copy):
    data = load_split(copy, "words", "test")
    sf.write(data.files[0], np.full(8000, 0.25), 16000, subtype="PCM_16")  # half a second
    x, _ = data[0]
    assert x.shape == (16000,) and np.all(x[8000:] == 0) and np.allclose(x[:8000], 0.25, atol=1e-4)


def test_unknown_task_and_split(root):
    with pytest.raises(ValueError, match="unknown task 'emotion': valid tasks are words, speakers"):
        load_split(root, "emotion", "train")
    with pytest.raises(ValueError, match="unknown split 'dev' for task 'speakers'"):
        load_split(root, "speakers", "dev")
    with pytest.raises(ValueError, match="unknown split 'dev' for task 'words'"):
        load_split(root, "words", "dev")


@pytest.mark.parametrize("missing", ["validation_list.txt", "testing_list.txt"])
def test_root_without_lists(copy, missing):
    (copy / missing).unlink()
    with pytest.raises(FileNotFoundError, match=rf"{missing}: missing\. A Speech Commands v0\.02 root must contain"):
        load_split(copy, "words", "train")


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such Speech Commands root folder"):
        load_split(tmp_path / "nowhere", "words", "test")


def test_folder_that_is_not_a_word(copy):
    (copy / "hello").mkdir()
    sf.write(copy / "hello" / "0000aaaa_nohash_0.wav", np.zeros(16000), 16000, subtype="PCM_16")
    with pytest.raises(ValueError, match=r"hello: folder 'hello' is not one of the 35 words of Speech Commands v0\.02"):
        load_split(copy, "words", "train")


def test_unreadable_file_is_skipped_and_reported(copy, speaker_splits):
    train_speaker = next(s for s, split in speaker_splits.items() if split == "train")
    victim = copy / "dog" / f"{train_speaker}_nohash_0.wav"
    victim.write_bytes(b"RIFF....garbage, not a wave file")
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable file\(s\) under .*dog/.*not a readable audio file"):
        data = load_split(copy, "words", "train")
    assert [(p, "not a readable audio file" in why) for p, why in data.skipped] == [(victim, True)]
    assert victim not in data.files
    assert data.counts()["dog"] == data.counts()["cat"] - 1
    with pytest.raises(AudioError, match=r"dog/.*_nohash_0\.wav: not a readable audio file"):
        load_split(copy, "words", "train", on_error="raise")


def test_empty_file_is_skipped_and_reported(copy, speaker_splits):
    train_speaker = next(s for s, split in speaker_splits.items() if split == "train")
    victim = copy / "cat" / f"{train_speaker}_nohash_0.wav"
    sf.write(victim, np.zeros(0), 16000, subtype="PCM_16")
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        data = load_split(copy, "speakers", "train", min_utterances=MIN_UTT)
    assert data.skipped == [(victim, "audio file is empty (0 samples)")]
