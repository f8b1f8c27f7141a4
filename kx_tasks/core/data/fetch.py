"""Fetch one published file: a local directory first, then a previous download, then the official URLs and a
mirror; every file is verified against its published checksum before use.

Downloads land in `<name>.part`, resume with an HTTP Range request, and are renamed only once the checksum
matches, so a file that exists is a verified file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("kx")

ENV_DATA_DIR = "KX_DATA_DIR"
CHUNK = 1 << 20


class DataError(RuntimeError):
    """A dataset file that is missing, truncated, corrupt or unreadable; the message names it."""


@dataclass(frozen=True)
class Source:
    """One published file."""

    name: str  # file name as published
    checksum: str  # "md5:<hex>" or "sha256:<hex>", the published value
    urls: tuple[str, ...]  # official first, then mirrors
    local: str  # path below a local data directory


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify(path: Path, source: Source) -> None:
    algorithm, expected = source.checksum.split(":", 1)
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise DataError(
            f"{path}: {algorithm} checksum mismatch (expected {expected}, actual {actual}); "
            f"the file is truncated or corrupt, delete it and fetch {source.name} again"
        )


def download(url: str, dest: Path, timeout: float = 60.0) -> None:
    """Download `url` to `dest`, resuming from `dest.part` when a previous attempt left one."""
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "kx-data/0.1"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            # 206: the server resumes; 200: it ignored the Range header, so start over.
            mode = "ab" if have and response.status == 206 else "wb"
            if mode == "ab":
                log.info("resuming %s at byte %d", url, have)
            with open(part, mode) as f:
                shutil.copyfileobj(response, f, CHUNK)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the part file already holds the whole file
            pass
        else:
            raise
    os.replace(part, dest)


def fetch(source: Source, data_dir: Path | None, download_dir: Path) -> Path:
    """Return a verified local path for `source`: local directory, then a previous download, then the URLs."""
    if data_dir is not None:
        for candidate in (data_dir / source.local, data_dir / source.name):
            if candidate.is_file():
                verify(candidate, source)  # a corrupt local copy is an error, never silently replaced
                return candidate
        log.info("%s not in %s; downloading", source.name, data_dir)
    dest = download_dir / source.name
    if dest.is_file():
        try:
            verify(dest, source)
            return dest
        except DataError as e:
            log.warning("%s; downloading again", e)
            dest.unlink()
    download_dir.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in source.urls:
        try:
            log.info("downloading %s", url)
            download(url, dest)
            verify(dest, source)
            return dest
        except DataError as e:
            dest.unlink(missing_ok=True)
            errors.append(f"{url}: {e}")
        except (OSError, urllib.error.URLError) as e:  # the .part file stays for the next attempt to resume
            errors.append(f"{url}: {e}")
    where = f"{data_dir / source.local} is missing; " if data_dir is not None else ""
    raise DataError(f"could not get {source.name}: {where}" + "; ".join(errors))


def local_data_dir(configured: str | None) -> Path | None:
    """The config key wins, then the KX_DATA_DIR environment variable; empty means none."""
    value = configured or os.environ.get(ENV_DATA_DIR, "")
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataError(f"data directory {path} (from {'data_dir' if configured else ENV_DATA_DIR}) does not exist")
    return path
