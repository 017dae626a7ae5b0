"""Download the real Speech Commands v0.02 (paper profile): checksum-verified, resumable, extracted in place.

The archive is 2.4 GB; a dropped connection must not mean starting over, so the download goes to
``<dest>/<archive>.part`` and a later call asks the server for the rest (HTTP ``Range``). The digest
is checked before anything is extracted; a mismatch removes the partial file (a corrupt file cannot
be repaired by resuming) and names both digests. The archive's files sit at its top level, so it is
extracted straight into ``dest``, which then is a Speech Commands root.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
# Published SHA-256 and size of that archive: TensorFlow Datasets,
# tensorflow_datasets/url_checksums/speech_commands.txt (github.com/tensorflow/datasets, commit
# 333639b37af6c6fedf3610a4a2d42f1c6ef6f7d5): "2428923189 af14739e...868ff58". torchaudio's
# SPEECHCOMMANDS dataset lists the same SHA-256 for this URL.
SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
SIZE = 2_428_923_189
DONE_MARKER = ".speech_commands_complete"
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """The transfer failed or the file is not the published one."""


def sha256_of(path: Path, chunk: int = CHUNK) -> str:
    """Hex SHA-256 of a file, read in chunks (the archive does not fit comfortably in memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _open(url: str, start: int, timeout: float) -> tuple[Any, int, int | None]:
    """Open ``url`` from byte ``start``: (stream, where it really starts, total size if known)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
        if not path.is_file():
            raise DownloadError(f"{url}: no such file")
        handle = open(path, "rb")
        handle.seek(start)
        return handle, start, path.stat().st_size
    request = urllib.request.Request(url, headers={"Range": f"bytes={start}-"} if start else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and start:  # range not satisfiable: we already have everything
            return None, start, start
        raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise DownloadError(f"{url}: cannot connect ({error.reason})") from error
    if start and response.status == 206:
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
        return response, start, int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return response, 0, int(length) if length and length.isdigit() else None  # 200: from scratch


def fetch(url: str, target: Path, sha256: str, progress: bool = True, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``target`` via ``target.part``, resuming a partial one; verify ``sha256``."""
    from tqdm import tqdm

    target = Path(target)
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    stream, start, total = _open(url, have, timeout)
    if stream is not None:
        mode = "ab" if start else "wb"
        with stream, open(part, mode) as out, tqdm(
            total=total, initial=start, unit="B", unit_scale=True, desc=target.name, disable=not progress
        ) as bar:
            try:
                for block in iter(lambda: stream.read(CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
            except (OSError, http.client.HTTPException) as error:
                raise DownloadError(
                    f"{url}: transfer interrupted after {part.stat().st_size} bytes ({error}); "
                    "call again to resume"
                ) from error
    got = part.stat().st_size
    if total is not None and got < total:
        raise DownloadError(f"{url}: transfer interrupted after {got} of {total} bytes; call again to resume")
    actual = sha256_of(part)
    if actual != sha256.lower():
        part.unlink()
        raise DownloadError(
            f"{target.name}: checksum mismatch: expected sha256 {sha256.lower()}, got {actual} "
            f"({got} bytes from {url}); the partial file was removed, the next call starts over"
        )
    part.replace(target)
    return target


def extract(archive: Path, dest: Path, progress: bool = True) -> Path:
    """Extract a .tar.gz into ``dest`` member by member, refusing members that would land outside it."""
    from tqdm import tqdm

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    safe_filter = hasattr(tarfile, "data_filter")  # Python >= 3.11.4: the standard safe filter
    with tarfile.open(archive, "r:*") as tar, tqdm(
        desc=f"extracting {Path(archive).name}", unit="file", disable=not progress
    ) as bar:
        for member in tar:  # streams: no second pass over 2.4 GB to list members first
            if safe_filter:
                try:
                    tar.extract(member, dest, filter="data")
                except tarfile.FilterError as error:
                    raise DownloadError(f"{archive}: unsafe member {member.name!r} ({error})") from error
            else:  # pragma: no cover - older Pythons
                where = (dest / member.name).resolve()
                if member.issym() or member.islnk() or (where != root and root not in where.parents):
                    raise DownloadError(f"{archive}: unsafe member {member.name!r}")
                tar.extract(member, dest)
            bar.update(1)
    return dest


def download_speech_commands(
    dest: str | Path,
    url: str = URL,
    sha256: str | None = SHA256,
    progress: bool = True,
    keep_archive: bool = False,
) -> Path:
    """Make ``dest`` a Speech Commands v0.02 root: download (resumable), verify, extract in place.

    A finished root (marker file present) is returned at once. ``sha256`` is required: pass the
    published digest of whatever ``url`` points to.
    """
    dest = Path(dest).expanduser()
    if (dest / DONE_MARKER).is_file():
        return dest
    if not sha256:
        raise ValueError("download_speech_commands: sha256 is required (the published digest of the archive)")
    dest.mkdir(parents=True, exist_ok=True)
    name = Path(urllib.parse.urlparse(url).path).name or "archive.tar.gz"
    archive = dest / name
    if not archive.is_file():
        fetch(url, archive, sha256, progress=progress)
    extract(archive, dest, progress=progress)
    (dest / DONE_MARKER).write_text(f"{url}\n{sha256}\n")
    if not keep_archive:
        archive.unlink()
    return dest


def add_cli(subparsers: Any) -> None:
    """``python -m redundancy download --root DIR [--url URL --sha256 HEX] [--keep-archive]``."""
    parser = subparsers.add_parser("download", help="download and extract Speech Commands v0.02")
    parser.add_argument("--root", required=True, help="folder that becomes the Speech Commands root")
    parser.add_argument("--url", default=URL, help="archive URL (http, https or file)")
    parser.add_argument("--sha256", default=SHA256, help="published SHA-256 of the archive at --url")
    parser.add_argument("--keep-archive", action="store_true", help="keep the .tar.gz after extraction")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(func=_run_cli)


def _run_cli(args: argparse.Namespace) -> int:
    existing = Path(args.root).expanduser().resolve()
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if args.url == URL and free < 2 * SIZE:
        need = 2 * SIZE / 1e9
        print(f"warning: {free / 1e9:.1f} GB free; the archive and its extraction need about {need:.1f} GB")
    root = download_speech_commands(
        args.root, url=args.url, sha256=args.sha256, progress=not args.no_progress,
        keep_archive=args.keep_archive,
    )
    print(root)
    return 0
