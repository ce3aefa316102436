"""The decoder's one big output buffer: is there room for it, where it comes from, and getting its
pages ready before the converter writes into them.

A 5 s 720p result is ~1.3 GB of float32. On Linux the first write to each fresh page traps into the
kernel, which zeroes it: filling the buffer costs more than decoding the video. So a helper thread
(:class:`Pager`) asks the kernel to back the pages a few frames ahead of the converter
(``MADV_POPULATE_WRITE``, Linux 5.14+, with the GIL released), in parallel with decoding.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

MADV_POPULATE_WRITE = 23  # <linux/mman.h>; Python's mmap module does not name it before 3.13
MADV_DONTNEED = 4
PAGER_AHEAD_BYTES = 192 * 2**20  # how far ahead of the converter the pages are made ready
PAGER_STEP_BYTES = 16 * 2**20
HEADROOM = 0.9  # use at most this share of the available memory for one buffer


def available_bytes() -> int | None:
    """Memory this process can still fill without swapping or being killed; None where unknown."""
    if sys.platform.startswith("linux"):
        return _linux_available()
    if sys.platform == "win32":
        return _windows_available()
    return None  # macOS compresses and swaps instead of killing: no cheap, honest figure


def buffer(shape: tuple[int, ...]) -> tuple[Any, Pager | None]:
    """A float32 array of ``shape`` and, on Linux, the pager that makes its pages ready ahead.

    Linux: an anonymous map, not numpy's allocator: numpy asks for transparent huge pages on large
    arrays, and where THP defrag is "madvise" (Debian/Ubuntu's default) the first touch may stall
    on memory compaction. Unwritten pages of the map cost nothing, so an over-estimated frame
    count is free. Elsewhere plain ``numpy.empty``: Windows commits a whole anonymous map up front,
    so a map is no cheaper there, and macOS allocates large arrays lazily already.
    """
    import numpy as np

    items = 1
    for side in shape:
        items *= max(1, int(side))
    if not sys.platform.startswith("linux"):
        return np.empty(shape, np.float32), None
    import mmap

    block = mmap.mmap(-1, items * 4)
    array = np.frombuffer(block, dtype=np.float32, count=items).reshape(shape)
    return array, Pager(array)


class Pager:
    """Backs the pages of ``array`` in order, staying at most PAGER_AHEAD_BYTES ahead of ``written``."""

    def __init__(self, array: Any) -> None:
        self._address = array.ctypes.data
        self._size = array.nbytes
        self._ready = 0  # bytes backed so far
        self._written = 0  # bytes the converter has reached
        self._stop = False
        self._wake = threading.Condition()
        self._madvise = _madvise()
        self._thread = threading.Thread(target=self._run, name="decode-pager", daemon=True)
        if self._madvise is not None:
            self._thread.start()

    def reached(self, nbytes: int) -> None:
        """The converter has been handed everything below ``nbytes``."""
        with self._wake:
            self._written = nbytes
            self._wake.notify()

    def close(self, used_bytes: int | None = None) -> None:
        """Stop; pages made ready beyond ``used_bytes`` (an over-estimated frame count) are given back."""
        with self._wake:
            self._stop = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join()
        if used_bytes is not None and self._madvise is not None and self._ready > used_bytes:
            page = 4096
            start = -(-used_bytes // page) * page
            if self._ready > start:
                self._madvise(self._address + start, self._ready - start, MADV_DONTNEED)

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stop and self._ready >= min(self._size, self._written + PAGER_AHEAD_BYTES):
                    self._wake.wait()
                if self._stop or self._ready >= self._size:
                    return
                start = self._ready
                end = min(self._size, start + PAGER_STEP_BYTES, self._written + PAGER_AHEAD_BYTES)
            if self._madvise(self._address + start, end - start, MADV_POPULATE_WRITE) != 0:
                return  # an older kernel: the converter's own writes fault the pages in, as before
            self._ready = end


def _madvise():
    """libc's madvise through ctypes (which releases the GIL for the call), or None."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    madvise.restype = ctypes.c_int
    return madvise


def _linux_available() -> int | None:
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        available = int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None
    return min(available, _cgroup_room() or available)


def _cgroup_room() -> int | None:
    """What a container's memory limit (cgroup v2) still allows, if one is set."""
    try:
        own = Path("/proc/self/cgroup").read_text().strip().splitlines()[0].split("::", 1)[1]
        folder = Path("/sys/fs/cgroup") / own.lstrip("/")
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((folder / "memory.current").read_text().strip()))
    except (OSError, IndexError, ValueError):
        return None


def _windows_available() -> int | None:
    import ctypes

    class Status(ctypes.Structure):
        _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong), ("total_phys", ctypes.c_ulonglong),
                    ("avail_phys", ctypes.c_ulonglong), ("total_page", ctypes.c_ulonglong),
                    ("avail_page", ctypes.c_ulonglong), ("total_virtual", ctypes.c_ulonglong),
                    ("avail_virtual", ctypes.c_ulonglong), ("avail_extended", ctypes.c_ulonglong)]

    status = Status()
    status.length = ctypes.sizeof(Status)
    try:
        if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
            return None
    except (AttributeError, OSError):
        return None
    return int(min(status.avail_phys, status.avail_page))

