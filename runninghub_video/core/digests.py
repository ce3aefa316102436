"""Content hashes of files, each unchanged file read once per process.

A reference video's identity hashes its whole source file (nodes/comfy_bridge.py), and a source of
several GB trimmed to 5 s would otherwise be read whole on every queue (about 0.8 s per GB from the
page cache, more from disk). A file counts as unchanged while its resolved path, size and
modification time (ns) are; a hash read while the file changed under it is not kept.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

CHUNK = 1 << 20
MAX_KEPT = 256  # files remembered; the oldest is forgotten first (a key and a hex digest each)

_kept: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 (hex) of the file's bytes; from memory when the file is unchanged since it was read."""
    resolved = Path(path).resolve()
    key = _key(resolved)
    with _lock:
        if key in _kept:
            return _kept[key]
    digest = hashlib.sha256()
    with open(resolved, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    if _key(resolved) == key:  # not written to while it was read
        with _lock:
            _kept[key] = value
            while len(_kept) > MAX_KEPT:
                del _kept[next(iter(_kept))]
    return value


def _key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns
