"""The Speech Commands download helper, offline: an archive the test builds, served from disk or loopback."""

import hashlib
import http.server
import tarfile
import threading

import numpy as np
import pytest
import soundfile as sf

from redundancy.commands import load_split
from redundancy.download import SHA256, DownloadError, download_speech_commands


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A tiny Speech Commands v0.02 look-alike, packed like the real one (members at the top level)."""
    src = tmp_path_factory.mktemp("src")
    rng = np.random.default_rng(0)
    for word in ("yes", "no"):
        (src / word).mkdir()
        for speaker in ("0a1b2c3d", "4e5f6a7b", "8c9d0e1f"):
            sf.write(src / word / f"{speaker}_nohash_0.wav", rng.uniform(-0.5, 0.5, 16000), 16000, subtype="PCM_16")
    (src / "validation_list.txt").write_text("yes/4e5f6a7b_nohash_0.wav\nno/4e5f6a7b_nohash_0.wav\n")
    (src / "testing_list.txt").write_text("yes/8c9d0e1f_nohash_0.wav\nno/8c9d0e1f_nohash_0.wav\n")
    path = tmp_path_factory.mktemp("pub") / "speech_commands_v0.02.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for item in sorted(src.iterdir()):
            tar.add(item, arcname=f"./{item.name}")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


class RangeServer(http.server.ThreadingHTTPServer):
    """Loopback server of one file that honours ``Range`` and can drop the first transfer halfway."""

    def __init__(self, payload: bytes, cut_first: bool):
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.payload, self.cut_first, self.ranges = payload, cut_first, []


class RangeHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        data, header = self.server.payload, self.headers.get("Range")
        self.server.ranges.append(header)
        start = int(header.split("=")[1].rstrip("-")) if header else 0
        self.send_response(206 if header else 200)
        if header:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if self.server.cut_first:
            self.server.cut_first = False
            body = body[: len(body) // 2]  # the connection drops halfway
            self.close_connection = True
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(archive):
    srv = RangeServer(archive[0].read_bytes(), cut_first=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def test_published_checksum_is_a_sha256():
    assert len(SHA256) == 64 and int(SHA256, 16) >= 0


def test_file_url_download_extracts_in_place(archive, tmp_path):
    path, digest = archive
    root = download_speech_commands(tmp_path / "sc", url=path.as_uri(), sha256=digest, progress=False)
    assert root == tmp_path / "sc"
    assert (root / "validation_list.txt").is_file() and (root / "yes" / "0a1b2c3d_nohash_0.wav").is_file()
    assert not (root / path.name).exists()  # archive removed after extraction by default
    test = load_split(root, "words", "test")
    assert sorted(p.name for p in test.files) == ["8c9d0e1f_nohash_0.wav"] * 2
    # finished roots are not fetched again (this URL does not exist)
    assert download_speech_commands(root, url="file:///no/such/archive.tar.gz", sha256=digest) == root


def test_checksum_mismatch_names_both_digests(archive, tmp_path):
    path, digest = archive
    wrong = "0" * 64
    with pytest.raises(DownloadError, match=rf"checksum mismatch: expected sha256 {wrong}, got {digest}"):
        download_speech_commands(tmp_path / "sc", url=path.as_uri(), sha256=wrong, progress=False)
    assert not list((tmp_path / "sc").glob("*.part"))  # a corrupt partial is not resumed
    assert not (tmp_path / "sc" / "yes").exists()  # nothing extracted


def test_sha256_is_required(archive, tmp_path):
    with pytest.raises(ValueError, match="sha256 is required"):
        download_speech_commands(tmp_path / "sc", url=archive[0].as_uri(), sha256=None)


def test_interrupted_download_resumes_with_range(archive, server, tmp_path):
    path, digest = archive
    url = f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
    dest = tmp_path / "sc"
    with pytest.raises(DownloadError, match="transfer interrupted after .*call again to resume"):
        download_speech_commands(dest, url=url, sha256=digest, progress=False)
    part = dest / f"{path.name}.part"
    have = part.stat().st_size
    assert 0 < have < path.stat().st_size
    root = download_speech_commands(dest, url=url, sha256=digest, progress=False)
    assert server.ranges == [None, f"bytes={have}-"]  # the second request asked only for the rest
    assert len(load_split(root, "words", "train")) == 2
    assert not part.exists()


def test_member_outside_the_root_is_refused(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    (tmp_path / "payload.txt").write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(tmp_path / "payload.txt", arcname="../escaped.txt")
    digest = hashlib.sha256(evil.read_bytes()).hexdigest()
    with pytest.raises(DownloadError, match=r"unsafe member '\.\./escaped\.txt'"):
        download_speech_commands(tmp_path / "sc", url=evil.as_uri(), sha256=digest, progress=False)
    assert not (tmp_path / "escaped.txt").exists()
