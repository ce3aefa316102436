"""Files written whole or not at all, with cleanups that never hide the error they clean up after.

A half-written file never carries its final name: it is written beside the target under a
temporary name and renamed over it (``os.replace``, atomic on POSIX and Windows alike). When the
write fails, the temporary file is removed "quietly": a cleanup that fails too (a virus scanner
holding the file on Windows, a read-only share) is logged, and the caller sees the first error.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from .store import FILE_MODE, POSIX_MODES

log = logging.getLogger(__name__)
PUBLIC_MODE = 0o644  # an output file (video, frame) is as readable as any other ComfyUI output


def remove_quietly(path: str | os.PathLike) -> None:
    """Delete ``path`` if it is there; a failure is logged, never raised (see module doc)."""
    try:
        Path(path).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("RunningHub: could not remove %s (%s).", path, exc.strerror or exc)


def write_atomically(target: Path, write: Callable[[BinaryIO], object], *, private: bool) -> None:
    """Write ``target`` through ``write(file)``: complete, or not at all (the old file, if any, stays).

    ``private`` files (config, budgets) stay readable by this user only where the OS has POSIX
    modes (mkstemp's default, kept before anything is written); others get ordinary output modes."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            if POSIX_MODES:
                os.chmod(tmp, FILE_MODE if private else PUBLIC_MODE)
            write(f)
        os.replace(tmp, target)
    except BaseException:
        remove_quietly(tmp)
        raise
