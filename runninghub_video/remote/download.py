"""Saving a result video: streamed, checked, resumed, then atomically renamed into place.

A partial file never carries the final name, and an existing file is never overwritten. The
result URL comes from the server, so it is treated as hostile: every address (the first and
each redirect) must be https, or http on this machine; the whole download has a deadline (the
run's timeout) and a stall limit, so a server trickling bytes cannot hold a node forever.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ..core.errors import ConfigError, DownloadError, RunningHubError
from ..core.events import (CancelCheck, ProgressCallback, ProgressEvent, bar_position, check_cancel, fetch_advice,
                     sleep_interruptibly)
from ..core.files import PUBLIC_MODE, remove_quietly
from ..core.processes import pid_exists
from ..core.store import DISK_FULL
from ..core.waits import current as current_waits
from .http import POLICIES, cancel_scope, describe_failure, is_safe_url

SUBFOLDER = "runninghub"
CHUNK_BYTES = 64 * 1024  # small enough that Cancel is seen between chunks of a slow download
DEFAULT_MAX_BYTES = 2 * 1024 ** 3
MIN_FREE_BYTES = 200 * 1024 ** 2  # a 12 s 720p result is tens of MB; leave headroom
MAX_REDIRECTS = 5
STALL_MIN_BYTES = 16 * 1024  # fewer bytes than this in waits' stall_window_s counts as a stalled attempt
PART_SUFFIX = ".part"  # a download in progress: ``.<final name>.<host>-<pid>.<random>.part`` beside the videos
STALE_PART_S = 24 * 3600  # a .part whose writer cannot be asked is left this long (a result URL's life)


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
    remove_stale_parts(folder)
    if free < min_free_bytes:
        raise ConfigError(f"The disk holding {folder} has only {free / 1e6:.0f} MB free.",
                          advice=f"Free at least {min_free_bytes / 1e6:.0f} MB or choose another output folder; "
                                 "nothing was sent.")
    return folder.resolve()


def _part_owner() -> str:
    """Who writes a ``.part`` file: this machine and process, as its name carries them."""
    return f"{re.sub(r'[^A-Za-z0-9_]', '', socket.gethostname())[:40] or 'host'}-{os.getpid()}"


def remove_stale_parts(folder: Path, now: float | None = None) -> list[Path]:
    """Remove the ``.part`` files of downloads that were killed: written by a process of this machine
    that is gone, or (another machine's, or an earlier version's without an owner in the name) not
    touched for :data:`STALE_PART_S`. A download still running is never touched. Returns what went."""
    now = time.time() if now is None else now
    here, removed = _part_owner().rpartition("-")[0], []
    for part in folder.glob(f".*{PART_SUFFIX}"):
        pieces = part.name[: -len(PART_SUFFIX)].rsplit(".", 2)  # final name, owner, random
        host, _, pid = (pieces[-2] if len(pieces) == 3 else "").rpartition("-")
        try:
            if host == here and pid.isdigit():
                stale = not pid_exists(int(pid))
            else:
                stale = now - part.stat().st_mtime > STALE_PART_S
            if stale:
                part.unlink()
                removed.append(part)
        except OSError:  # gone meanwhile, or not ours to remove: the next run tries again
            continue
    return removed


def check_url(url: str) -> None:
    """Results come over https; plain http only from this machine (the emulator)."""
    if not is_safe_url(url):
        parts = urlsplit(url)
        raise DownloadError(f"Refusing to download the result from a non-https address "
                            f"({parts.scheme}://{parts.hostname}).")


def result_filename(task_id: str, when: float | None = None) -> str:
    safe_id = re.sub(r"[^0-9A-Za-z_-]", "", task_id)[:64] or "task"
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(when)) + f"_{safe_id}.mp4"


def download_result(session, url: str, *, folder: Path, task_id: str,
                    should_cancel: CancelCheck | None = None, on_progress: ProgressCallback | None = None,
                    max_bytes: int = DEFAULT_MAX_BYTES, deadline: float | None = None) -> Path:
    """Download ``url`` to ``<folder>/<YYYYMMDD-HHMMSS>_<taskId>.mp4`` (``folder``: from
    :func:`ensure_output_dir`), giving up at ``deadline`` (``time.monotonic()``)."""
    check_url(url)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{result_filename(task_id)}.{_part_owner()}.",
                                        suffix=PART_SUFFIX)
    except OSError as exc:
        raise _write_error(exc, folder, task_id) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _fetch_into(session, url, tmp, task_id, should_cancel, on_progress, max_bytes, deadline)
        _check_mp4(tmp, task_id)
        os.chmod(tmp, PUBLIC_MODE)  # mkstemp made it private; a saved video is an ordinary output file
        return _place(tmp, folder, task_id)
    except OSError as exc:
        raise _write_error(exc, folder, task_id) from None
    finally:
        remove_quietly(tmp)  # gone already after a successful save


def _write_error(exc: OSError, folder: Path, task_id: str) -> RunningHubError:
    """What a failed write of the video means to the user: disk full, folder gone, or the OS's words."""
    if exc.errno in DISK_FULL:
        return ConfigError(f"The disk holding {folder} is full (task {task_id}'s video was not saved).",
                           task_id=task_id, advice="Free some space. " + fetch_advice(task_id), code="output_full",
                           details={"folder": str(folder)})
    if not folder.is_dir():
        return DownloadError(f"The output folder {folder} disappeared while task {task_id} ran (deleted, moved or "
                             "unmounted); the video was not saved.", task_id=task_id, advice=fetch_advice(task_id))
    return DownloadError(f"Could not write the video into {folder}: {exc.strerror or exc}.", task_id=task_id,
                         advice=fetch_advice(task_id))


def open_following_safe_redirects(session, url: str, *, what: str, headers: dict | None = None,
                                  should_cancel: CancelCheck | None = None, task_id: str = ""):
    """GET ``url`` streamed, following redirects by hand so every hop is checked like the first
    (``what``: the thing fetched, for the error, e.g. "The result of task 123")."""
    for _ in range(MAX_REDIRECTS + 1):
        with cancel_scope(should_cancel):
            response = session.get(url, stream=True, timeout=POLICIES["download"].timeout, headers=headers or {},
                                   allow_redirects=False)
        if response.status_code not in (301, 302, 303, 307, 308) or not response.headers.get("Location"):
            return response
        response.close()
        url = urljoin(url, response.headers["Location"])
        if not is_safe_url(url):
            parts = urlsplit(url)
            raise DownloadError(f"{what} redirected to a non-https address ({parts.scheme}://{parts.hostname}); "
                                "not followed.", task_id=task_id, advice=fetch_advice(task_id) if task_id else "")
    raise DownloadError(f"{what} redirected more than {MAX_REDIRECTS} times.", task_id=task_id,
                        advice=fetch_advice(task_id) if task_id else "")


def _fetch_into(session, url: str, tmp: Path, task_id: str, should_cancel: CancelCheck | None,
                on_progress: ProgressCallback | None, max_bytes: int, deadline: float | None) -> None:
    """Stream with Range resume where the server allows it, else restart; bounded attempts, a
    deadline for the whole download and a stall limit per attempt."""
    total: int | None = None
    last_error = ""

    def check_time(window_start: float, window_bytes: int) -> None:
        now = time.monotonic()
        if deadline is not None and now > deadline:
            raise DownloadError(f"The download of task {task_id} did not finish within the time limit "
                                f"(got {out.tell() / 1e6:.1f} MB).", task_id=task_id, advice=fetch_advice(task_id))
        if now - window_start > current_waits().stall_window_s and window_bytes < STALL_MIN_BYTES:
            raise _Stalled()

    with open(tmp, "wb") as out:
        for attempt in range(POLICIES["download"].attempts):
            have = out.tell()
            if total is not None and have == total:  # the last bytes came before the attempt broke off
                out.flush()
                return
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                check_time(time.monotonic(), STALL_MIN_BYTES)
                response = open_following_safe_redirects(session, url, what=f"The result of task {task_id}",
                                                         headers=headers, should_cancel=should_cancel,
                                                         task_id=task_id)
                window_start, window_bytes = time.monotonic(), 0
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
                    for chunk in _chunks(response):
                        check_cancel(should_cancel, task_id)
                        out.write(chunk)
                        window_bytes += len(chunk)
                        if total is None or out.tell() < total:  # bytes that complete the body are no stall
                            check_time(window_start, window_bytes)
                        if time.monotonic() - window_start > current_waits().stall_window_s:
                            window_start, window_bytes = time.monotonic(), 0
                        if out.tell() > max_bytes:
                            raise DownloadError(f"The result of task {task_id} exceeded the {max_bytes} byte cap.",
                                                task_id=task_id)
                        if on_progress is not None:
                            on_progress(ProgressEvent(phase="download", task_id=task_id,
                                                      fraction=bar_position("download", out.tell() / total)
                                                      if total else None,
                                                      extra={"bytes_done": out.tell(), "bytes_total": total}))
                if total is None or out.tell() == total:
                    out.flush()
                    return
                last_error = f"got {out.tell()} of {total} bytes"
            except RunningHubError:
                raise
            except _Stalled:
                last_error = f"stalled: under {STALL_MIN_BYTES // 1024} kB in {current_waits().stall_window_s:.0f} s"
            except Exception as exc:  # connection reset, read timeout, chunked-encoding errors
                if isinstance(exc, OSError) and exc.errno in DISK_FULL:
                    raise  # writing here failed: no retry helps (download_result words it)
                last_error = describe_failure(exc)
            policy = POLICIES["download"]
            pause = policy.pause(attempt + 1)
            if deadline is not None and time.monotonic() + pause > deadline:
                check_time(time.monotonic(), STALL_MIN_BYTES)
                pause = max(0.0, deadline - time.monotonic())
            sleep_interruptibly(pause, should_cancel, task_id)
    raise DownloadError(f"Download of task {task_id} failed {POLICIES['download'].attempts} times ({last_error}).", task_id=task_id,
                        advice=fetch_advice(task_id))


def _chunks(response):
    """The body as it arrives: ``read1`` returns whatever bytes came (so deadline and stall checks
    run even while a server trickles); urllib3 before 2.3 has no ``read1``, then small reads."""
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:
        yield from response.iter_content(4096)
        return
    while True:
        data = read1(CHUNK_BYTES, decode_content=True)
        if not data:
            return
        yield data


class _Stalled(Exception):
    """One attempt made too little progress; the next one resumes where it stopped."""


def _check_mp4(path: Path, task_id: str) -> None:
    with open(path, "rb") as f:
        head = f.read(12)
    if len(head) < 12 or head[4:8] != b"ftyp":
        raise DownloadError(f"The result of task {task_id} is not an MP4 file.", task_id=task_id,
                            advice=fetch_advice(task_id))


def _place(tmp: Path, folder: Path, task_id: str) -> Path:
    """Rename into a name nobody holds yet (``_2``, ``_3`` … on a clash), never over a file.

    The name is claimed first by creating it exclusively (``O_EXCL``), which the OS makes atomic
    across threads and processes (two ComfyUIs, or ComfyUI and the CLI, saving one task into one
    folder); the finished file is then renamed over its own claim."""
    base = result_filename(task_id)
    for n in range(1, 1000):
        final = folder / (base if n == 1 else base.replace(".mp4", f"_{n}.mp4"))
        try:
            os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PUBLIC_MODE))
        except FileExistsError:
            continue
        try:
            os.replace(tmp, final)
        except BaseException:
            remove_quietly(final)  # the empty claim
            raise
        return final
    raise DownloadError(f"Too many files named like {base} in {folder}.", task_id=task_id)
