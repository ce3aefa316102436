"""Everything the nodes take from the running ComfyUI, in one place.

ComfyUI's own modules (``server``, ``folder_paths``, ``comfy.model_management``, ``comfy.utils``)
are looked up in ``sys.modules`` — ComfyUI has imported them before it loads any pack — and never
imported here, so outside ComfyUI (tests, scripts) every helper quietly falls back: no progress,
never cancelled, output into ``./runninghub_output``, the client's own state folder.
"""
from __future__ import annotations

import functools
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, TypeVar

from . import status_text
from .client import config, errors, events, load

log = logging.getLogger("RunningHub")

FALLBACK_OUTPUT_DIR = "runninghub_output"
BAR_STEPS = 1000
T = TypeVar("T")


def _comfy(module: str) -> ModuleType | None:
    return sys.modules.get(module)


# --- folders -------------------------------------------------------------------------------
def output_directory() -> Path:
    """ComfyUI's output folder (the pipeline saves into its ``runninghub/`` subfolder)."""
    folder_paths = _comfy("folder_paths")
    if folder_paths is not None:
        return Path(folder_paths.get_output_directory())
    return Path.cwd() / FALLBACK_OUTPUT_DIR


def use_comfy_user_dir() -> None:
    """Keep journal, upload cache and key file in ComfyUI's user folder (sets a path, writes nothing)."""
    folder_paths = _comfy("folder_paths")
    if folder_paths is not None and hasattr(folder_paths, "get_user_directory"):
        config.set_comfy_user_dir(folder_paths.get_user_directory())


# --- cancel --------------------------------------------------------------------------------
def interrupted() -> bool:
    """True once the user pressed Cancel. Only reads the flag: sibling nodes must see it too."""
    mm = _comfy("comfy.model_management")
    return bool(mm is not None and mm.processing_interrupted())


def interruption(exc: errors.Interrupted) -> BaseException:
    """ComfyUI's own interruption (shown as "interrupted", not as an error), or ``exc`` itself."""
    mm = _comfy("comfy.model_management")
    if mm is None:
        return exc
    log.info("RunningHub: %s", exc)
    return mm.InterruptProcessingException(str(exc))


async def run_blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking client work in a thread so several nodes overlap; Cancel becomes ComfyUI's."""
    import asyncio  # loaded by ComfyUI anyway; kept out of the pack's cold import

    try:
        return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))
    except errors.Interrupted as exc:
        raise interruption(exc) from None


# --- progress ------------------------------------------------------------------------------
class NodeProgress:
    """Turns client progress events into the node's status text (in the browser's ComfyUI language,
    see status_text) and progress bar; the log keeps the client's English message.

    Called from the worker thread; both ComfyUI channels hand messages to the server loop
    thread-safely.
    """

    def __init__(self, node_id: str | None) -> None:
        self.node_id = node_id
        self._phase = ""
        self._bar = None

    def __call__(self, event: events.ProgressEvent) -> None:
        try:
            self.text(status_text.describe(event))
            if event.fraction is not None:
                self.bar(event.fraction)
            if event.phase != self._phase:
                self._phase = event.phase
                log.info("RunningHub%s: %s", f" task {event.task_id}" if event.task_id else "", event.message)
        except Exception:  # a display problem must never cost a paid video
            log.debug("RunningHub: progress display failed", exc_info=True)

    def text(self, message: str) -> None:
        server = _comfy("server")
        instance = getattr(getattr(server, "PromptServer", None), "instance", None)
        if instance is None or self.node_id is None or not message:
            return
        try:
            instance.send_progress_text(message, self.node_id)
        except Exception:  # a display problem must never cost a paid video
            log.debug("RunningHub: progress display failed", exc_info=True)

    def bar(self, fraction: float) -> None:
        utils, mm = _comfy("comfy.utils"), _comfy("comfy.model_management")
        if utils is None or mm is None or mm.processing_interrupted():
            return  # ComfyUI's bar hook clears the interrupt flag; leave it for should_cancel
        if self._bar is None:
            self._bar = utils.ProgressBar(BAR_STEPS, node_id=self.node_id)
        try:
            self._bar.update_absolute(round(min(1.0, max(0.0, fraction)) * BAR_STEPS))
        except mm.InterruptProcessingException:
            mm.interrupt_current_processing(True)  # raced with Cancel: put the flag back


# --- VIDEO ---------------------------------------------------------------------------------
def video_from_file(path: str | os.PathLike) -> Any:
    """ComfyUI's VIDEO for a file, so SaveVideo / GetVideoComponents work on it unchanged."""
    from comfy_api.latest import InputImpl

    return InputImpl.VideoFromFile(str(path))


def preview_of(path: Path) -> Any:
    """The node's video preview. Files outside the output folder (a journal hit saved by the CLI)
    are copied into ``output/runninghub/`` first, since ComfyUI serves previews only from there."""
    from comfy_api.latest import io, ui

    out = output_directory().resolve()
    path = Path(path).resolve()
    try:
        subfolder = path.parent.relative_to(out)
    except ValueError:
        target = out / load("download").SUBFOLDER / path.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        path, subfolder = target, target.parent.relative_to(out)
    folder = "" if subfolder == Path(".") else subfolder.as_posix()
    return ui.PreviewVideo([ui.SavedResult(path.name, folder, io.FolderType.output)])


def video_file_of(video: Any) -> tuple[Path, bool]:
    """A file holding ``video``: its own source when it has one, else a temp copy (second item True:
    the caller deletes it)."""
    source = video.get_stream_source() if hasattr(video, "get_stream_source") else None
    if isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        return Path(source), False
    fd, name = tempfile.mkstemp(prefix="runninghub_frames_", suffix=".mp4")
    try:
        if source is not None and hasattr(source, "read"):
            with os.fdopen(fd, "wb") as f:
                shutil.copyfileobj(source, f)
        else:
            os.close(fd)
            video.save_to(name)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name), True


def videos_as_mp4(videos: list) -> list[tuple[Path, bool]]:
    """Each connected VIDEO as an MP4 file (second item True: a temp file the caller deletes).

    Written by the VIDEO's own ``save_to`` as H.264 MP4: ComfyUI applies the VIDEO's trim and crop
    there (re-encoding), and merely remuxes an untouched H.264 MP4, so the bytes stay the source's."""
    from comfy_api.latest import Types

    files: list[tuple[Path, bool]] = []
    try:
        for video in videos:
            if video is None:
                continue
            fd, name = tempfile.mkstemp(prefix="runninghub_reference_", suffix=".mp4")
            os.close(fd)
            files.append((Path(name), True))
            video.save_to(name, format=Types.VideoContainer.MP4, codec=Types.VideoCodec.H264)
    except BaseException:
        for path, _ in files:
            path.unlink(missing_ok=True)
        raise
    return files
