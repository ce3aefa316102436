"""Saving a result video: streamed, checked, resumed, then atomically renamed into place.

A partial file never carries the final name, and an existing file is never overwritten.
"""
from __future__ import annotations

import errno
import ipaddress
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError, DownloadError, RunningHubError
from .events import CancelCheck, ProgressCallback, ProgressEvent, check_cancel, fetch_advice, sleep_interruptibly
from .http import TIMEOUTS, cancel_scope

SUBFOLDER = "runninghub"
CHUNK_BYTES = 64 * 1024  # small enough that Cancel is seen between chunks of a slow download
DEFAULT_MAX_BYTES = 2 * 1024 ** 3
MIN_FREE_BYTES = 200 * 1024 ** 2  # a 12 s 720p result is tens of MB; leave headroom
ATTEMPTS = 5
_rename_lock = threading.Lock()


def ensure_output_dir(output_dir: str | os.PathLike, min_free_bytes: int = MIN_FREE_BYTES) -> Path:
    """The ``runninghub/`` folder inside ``output_dir``, created, proven writable and with room
    for a video — checked before paying, so a result is never made that cannot be saved."""
    folder = Path(output_dir).expanduser() / SUBFOLDER
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise ConfigError(f"The output folder {folder} is not writable ({exc.strerror or exc}).",
                          advice="Choose another output folder or fix its permissions; nothing was sent.") from None
    if free < min_free_bytes:
        raise ConfigError(f"The disk holding {folder} has only {free / 1e6:.0f} MB free.",
                          advice=f"Free at least {min_free_bytes / 1e6:.0f} MB or choose another output folder; "
                                 "nothing was sent.")
    return folder.resolve()


def check_url(url: str) -> None:
    """Results come over https; plain http only from this machine (the emulator)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname:
        try:
            if parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname).is_loopback:
                return
        except ValueError:
            pass
    raise DownloadError(f"Refusing to download the result from a non-https address ({parts.scheme}://{parts.hostname}).")


def result_filename(task_id: str, when: float | None = None) -> str:
    safe_id = re.sub(r"[^0-9A-Za-z_-]", "", task_id)[:64] or "task"
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(when)) + f"_{safe_id}.mp4"


def download_result(session, url: str, *, output_dir: str | os.PathLike, task_id: str,
                    should_cancel: CancelCheck | None = None, on_progress: ProgressCallback | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Download ``url`` to ``<output_dir>/runninghub/<YYYYMMDD-HHMMSS>_<taskId>.mp4``."""
    check_url(url)
    folder = ensure_output_dir(output_dir)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{result_filename(task_id)}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _fetch_into(session, url, tmp, task_id, should_cancel, on_progress, max_bytes)
        _check_mp4(tmp, task_id)
        os.chmod(tmp, 0o644)  # mkstemp made it private; a saved video is an ordinary output file
        return _place(tmp, folder, task_id)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise ConfigError(f"The disk holding {folder} is full.", task_id=task_id,
                              advice="Free some space. " + fetch_advice(task_id)) from None
        raise DownloadError(f"Could not write the video into {folder}: {exc.strerror or exc}.", task_id=task_id,
                            advice=fetch_advice(task_id)) from None
    finally:
        tmp.unlink(missing_ok=True)


def _fetch_into(session, url: str, tmp: Path, task_id: str, should_cancel: CancelCheck | None,
                on_progress: ProgressCallback | None, max_bytes: int) -> None:
    """Stream with Range resume where the server allows it, else restart; bounded attempts."""
    total: int | None = None
    last_error = ""
    with open(tmp, "wb") as out:
        for attempt in range(ATTEMPTS):
            have = out.tell()
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                with cancel_scope(should_cancel):
                    response = session.get(url, stream=True, timeout=TIMEOUTS["download"], headers=headers)
                with response:
                    if response.status_code in (403, 404, 410):
                        raise DownloadError(f"The result URL of task {task_id} is gone (HTTP {response.status_code}).",
                                            task_id=task_id, advice="Result URLs live 24 hours; if the task is "
                                            "younger, fetch it again to get a fresh URL.")
                    if have and response.status_code != 206:
                        out.seek(0)
                        out.truncate()  # no resume support: start over
                        have = 0
                    elif response.status_code not in (200, 206):
                        raise DownloadError(f"Download of task {task_id} got HTTP {response.status_code}.",
                                            task_id=task_id, advice=fetch_advice(task_id))
                    length = response.headers.get("Content-Length")
                    if length and length.isdigit():
                        total = have + int(length)
                    if total and total > max_bytes or have > max_bytes:
                        raise DownloadError(f"The result of task {task_id} is larger than the {max_bytes} byte cap.",
                                            task_id=task_id)
                    for chunk in response.iter_content(CHUNK_BYTES):
                        check_cancel(should_cancel, task_id)
                        out.write(chunk)
                        if out.tell() > max_bytes:
                            raise DownloadError(f"The result of task {task_id} exceeded the {max_bytes} byte cap.",
                                                task_id=task_id)
                        if on_progress is not None:
                            on_progress(ProgressEvent(phase="download", task_id=task_id,
                                                      message=_download_text(out.tell(), total),
                                                      fraction=out.tell() / total if total else None,
                                                      extra={"bytes_done": out.tell(), "bytes_total": total}))
                if total is None or out.tell() == total:
                    out.flush()
                    return
                last_error = f"got {out.tell()} of {total} bytes"
            except RunningHubError:
                raise
            except Exception as exc:  # connection reset, read timeout, chunked-encoding errors
                last_error = f"{type(exc).__name__}"
            sleep_interruptibly(min(8.0, 0.5 * 2 ** attempt), should_cancel, task_id)
    raise DownloadError(f"Download of task {task_id} failed {ATTEMPTS} times ({last_error}).", task_id=task_id,
                        advice=fetch_advice(task_id))


def _download_text(have: int, total: int | None) -> str:
    mb = have / 1e6
    return f"downloading {mb:.1f}/{total / 1e6:.1f} MB" if total else f"downloading {mb:.1f} MB"


def _check_mp4(path: Path, task_id: str) -> None:
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 12 or head[4:8] != b"ftyp":
        raise DownloadError(f"The result of task {task_id} is not an MP4 file.", task_id=task_id,
                            advice=fetch_advice(task_id))


def _place(tmp: Path, folder: Path, task_id: str) -> Path:
    """Atomic rename to a name that does not exist yet (``_2``, ``_3`` … on a clash)."""
    base = result_filename(task_id)
    with _rename_lock:
        for n in range(1, 1000):
            final = folder / (base if n == 1 else base.replace(".mp4", f"_{n}.mp4"))
            if not final.exists():
                os.replace(tmp, final)
                return final
    raise DownloadError(f"Too many files named like {base} in {folder}.", task_id=task_id)
