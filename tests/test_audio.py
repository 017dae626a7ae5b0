"""Reading audio: every format the datasets use comes back as 16 kHz mono float32 in [-1, 1]."""

import numpy as np
import pytest
import soundfile as sf

from redundancy.audio import AudioError, fix_length, load_audio

SR = 16000


def tone(n=SR, sr=SR, freq=440.0, amp=0.5):
    return (amp * np.sin(2 * np.pi * freq * np.arange(n) / sr)).astype(np.float64)


@pytest.mark.parametrize(
    "subtype, atol",
    [("PCM_16", 1e-4), ("PCM_24", 1e-6), ("PCM_32", 1e-6), ("FLOAT", 1e-7), ("PCM_U8", 1e-2)],
)
def test_wav_widths(tmp_path, subtype, atol):
    x = tone()
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, x, SR, subtype=subtype)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.shape == (SR,)
    np.testing.assert_allclose(y, x, atol=atol)


def test_flac(tmp_path):
    x = tone()
    sf.write(tmp_path / "a.flac", x, SR, subtype="PCM_16")
    np.testing.assert_allclose(load_audio(tmp_path / "a.flac"), x, atol=1e-4)


def test_stereo_is_averaged(tmp_path):
    left, right = tone(amp=0.2), tone(freq=1000, amp=0.6)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(tmp_path / "s.wav"), (left + right) / 2, atol=1e-6)


def test_resampling_keeps_duration_and_frequency(tmp_path):
    sr = 44100
    sf.write(tmp_path / "hi.wav", tone(n=sr, sr=sr, freq=440.0), sr, subtype="PCM_16")
    y = load_audio(tmp_path / "hi.wav", target_sr=SR)
    assert y.shape == (SR,)
    peak_hz = np.argmax(np.abs(np.fft.rfft(y))) * SR / len(y)
    assert abs(peak_hz - 440.0) <= 1.0
    assert np.abs(y).max() <= 1.0


def test_float_peaks_are_clipped(tmp_path):
    sf.write(tmp_path / "loud.wav", np.array([0.0, 1.7, -2.0, 0.5]), SR, subtype="FLOAT")
    np.testing.assert_allclose(load_audio(tmp_path / "loud.wav"), [0.0, 1.0, -1.0, 0.5])


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match=r"nope\.wav: no such file"):
        load_audio(tmp_path / "nope.wav")


def test_not_audio(tmp_path):
    path = tmp_path / "text.wav"
    path.write_text("this is not a RIFF file at all")
    with pytest.raises(AudioError, match=r"text\.wav: not a readable audio file"):
        load_audio(path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "zero.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match=r"zero\.wav: file is empty \(0 bytes\)"):
        load_audio(path)


def test_no_samples(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(0), SR, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"silent\.wav: audio file is empty \(0 samples\)"):
        load_audio(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf(tmp_path, bad):
    path = tmp_path / "bad.wav"
    sf.write(path, np.array([0.1, bad, 0.2, 0.3]), SR, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"bad\.wav: contains NaN or infinite samples \(1 of 4\)"):
        load_audio(path)


def test_error_is_a_value_error():
    assert issubclass(AudioError, ValueError)


def test_fix_length_pads_and_cuts():
    x = np.arange(5, dtype=np.float32)
    np.testing.assert_array_equal(fix_length(x, 3), [0, 1, 2])
    np.testing.assert_array_equal(fix_length(x, 7), [0, 1, 2, 3, 4, 0, 0])
    assert fix_length(np.ones((2, 10)), 4).shape == (2, 4)
    assert fix_length(np.ones(SR + 7)).shape == (SR,)
    with pytest.raises(ValueError, match="n must be positive"):
        fix_length(x, 0)
