"""Everything the nodes take from the running ComfyUI, in one place.

ComfyUI's own modules (``server``, ``folder_paths``, ``comfy.model_management``, ``comfy.utils``,
``comfy.cli_args``) are looked up in ``sys.modules`` — ComfyUI has imported them before it loads
any pack — and never imported here, so outside ComfyUI (tests, scripts) every helper quietly falls
back: no progress, never cancelled, output into ``./runninghub_output``, the client's own state
folder, no listen address.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any, AsyncIterator, Callable, TypeVar

from . import batch_status, browser_language
from ..runninghub_video.core import errors, events
from ..runninghub_video.remote import config
from ..runninghub_video.words import wording

log = logging.getLogger("RunningHub")

FALLBACK_OUTPUT_DIR = "runninghub_output"
BAR_STEPS = 10_000  # fine enough that a late task's slowing bar still moves every second
STATUS_EVENT = "runninghub.status"
DIALOG_NAME = "RunningHub"  # ComfyUI's error dialog names a pack error RunningHub.<class>
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
    """Tell the client where earlier versions kept their state inside ComfyUI (its user folder):
    the journal, key and budget found there are taken over by the user's state folder, which
    ComfyUI and the command line now share (sets a path, writes nothing)."""
    folder_paths = _comfy("folder_paths")
    if folder_paths is not None and hasattr(folder_paths, "get_user_directory"):
        config.set_comfy_user_dir(folder_paths.get_user_directory())


def listen_addresses() -> tuple[str, ...]:
    """The addresses ComfyUI was told to listen on (``--listen``: comma-separated, default 127.0.0.1;
    ``comfy.cli_args.args.listen``); none outside ComfyUI."""
    args = getattr(_comfy("comfy.cli_args"), "args", None)
    return tuple(a.strip() for a in str(getattr(args, "listen", None) or "").split(",") if a.strip())


# --- the prompt ----------------------------------------------------------------------------
def _server() -> Any:
    return getattr(getattr(_comfy("server"), "PromptServer", None), "instance", None)


def prompt_language() -> str:
    """The language of the browser that queued the running prompt (ComfyUI keeps its client id)."""
    return browser_language.language_for(getattr(_server(), "client_id", None))


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
    """Run blocking client work in a thread so several nodes overlap."""
    import asyncio  # loaded by ComfyUI anyway; kept out of the pack's cold import

    return await asyncio.to_thread(fn, *args, **kwargs)


@contextlib.asynccontextmanager
async def node_status(node_id: str | None, *, site: str = "", paid: bool = True) -> AsyncIterator[NodeProgress]:
    """A node's run as its status line tells it: the previous run's line (and preview) go at once;
    whatever ends the run leaves the last word.

    Cancel becomes ComfyUI's interruption and, for a paid run, the line says that the task keeps
    running and how to fetch it; an error of the pack becomes one short line in the prompt's
    language, on the node and in ComfyUI's error dialog (pointing to Settings → RunningHub), where
    it is named ``RunningHub.<class>`` (:func:`named_for_dialog`).

    One item of a batch (the node run over a list) does not fail the node: its error is recorded
    in the batch's line and the exception is swallowed, so the code after the ``async with`` runs
    and returns the item's placeholder (:func:`failed_item_output`); the other items go on."""
    progress = NodeProgress(node_id, group=_batch_group(node_id))
    progress.start()
    lang = progress.lang
    try:
        yield progress
    except errors.Interrupted as exc:
        progress.text(wording.cancelled(exc.task_id, lang) if paid else wording.say("stopped", lang), kind="cancelled")
        raise interruption(exc) from None
    except errors.RunningHubError as exc:
        if progress.in_batch:
            progress.skip(exc, site)
            return
        no_key = isinstance(exc, errors.ConfigError) and bool(site) and not config.find_key(site)
        log.info("RunningHub: %s", exc)  # the client's full English message stays in the log
        progress.text(wording.failed(exc, lang, site=site, no_key=no_key), kind="error")
        exc.args = (wording.error_line(exc, lang, site=site, no_key=no_key),)
        named_for_dialog(exc)
        raise
    except BaseException as exc:
        mm = _comfy("comfy.model_management")
        if mm is not None and isinstance(exc, mm.InterruptProcessingException):  # ComfyUI's own Cancel
            progress.text(wording.say("stopped", lang), kind="cancelled")
        elif isinstance(exc, Exception):
            progress.text(wording.failed(exc, lang), kind="error")
        raise


def named_for_dialog(exc: errors.RunningHubError) -> errors.RunningHubError:
    """``exc``, leaving a node, as ComfyUI's error dialog should name it: ``RunningHub.<class>``.

    ComfyUI names an exception ``module + "." + qualname`` (execution.py ``full_type_name``) and
    imports the pack as a package named by its whole folder path, so the class itself would read
    ``/home/…/custom_nodes/<pack>.runninghub_video.core.errors.<class>``. The error becomes a
    subclass made here for the dialog only, so every ``except`` and ``isinstance`` of the pack's
    own class still holds."""
    exc.__class__ = _dialog_class(type(exc))
    return exc


@functools.cache
def _dialog_class(cls: type[errors.RunningHubError]) -> type[errors.RunningHubError]:
    if cls.__module__ == DIALOG_NAME:
        return cls
    return type(cls.__name__, (cls,), {"__module__": DIALOG_NAME, "__qualname__": cls.__name__, "__doc__": cls.__doc__})


# --- a node run over a list ----------------------------------------------------------------
def _executing() -> Any:
    """ComfyUI's context of the running node call (prompt id, node id, list index), or None."""
    utils = _comfy("comfy_execution.utils")
    return utils.get_executing_context() if utils is not None and hasattr(utils, "get_executing_context") else None


def _batch_group(node_id: str | None) -> tuple[batch_status.BatchGroup, int] | None:
    """This call's group and list index when ComfyUI runs the node over a list, else None."""
    context = _executing()
    if context is None or context.list_index is None or node_id is None:
        return None
    return batch_status.join(context.prompt_id, str(node_id), context.list_index), context.list_index


def failed_item_output(progress: NodeProgress, outputs: int = 4) -> Any:
    """The outputs of a batch item that gave no video, keeping the lists as long as the prompt list
    (so item n is still prompt n): an empty ``video_path``, the task id if one was made, and
    ComfyUI's silent ``ExecutionBlocker`` for the VIDEO and IMAGE, so a node mapped over the list
    (Save Video…) skips just this item. RunningHub Video Grid draws a failed cell for it."""
    from comfy_api.latest import io
    from comfy_execution.graph_utils import ExecutionBlocker

    blocked = ExecutionBlocker(None)
    return io.NodeOutput(blocked, "", progress.failed_task_id, *([blocked] * (outputs - 3)))


def batch_failure(prompt: Any, node_id: str | None, socket: str, index: int) -> str:
    """Why item ``index`` of the list reaching ``socket`` of node ``node_id`` gave no video, as the
    video node feeding it recorded it in this prompt ("" when not known: e.g. that node was cached)."""
    context = _executing()
    link = ((prompt or {}).get(str(node_id), {}).get("inputs", {}).get(socket)) if node_id is not None else None
    if context is None or not isinstance(link, (list, tuple)) or not link:
        return ""
    return batch_status.failure(context.prompt_id, str(link[0]), index)


# --- progress ------------------------------------------------------------------------------
class NodeProgress:
    """Turns client progress events into the node's status line (in the prompt's language, see
    wording) and ComfyUI's progress bar; the log says each new phase in English. In a batch the
    line and bar are the group's (:mod:`.batch_status`).

    Called from the worker thread; both ComfyUI channels hand messages to the server loop
    thread-safely.
    """

    def __init__(self, node_id: str | None, group: tuple[batch_status.BatchGroup, int] | None = None) -> None:
        self.node_id = node_id
        self.lang = prompt_language()
        self._phase = ""
        self._bar = None
        self._position = -1  # the bar's last step: it never moves back within one run
        self.group, self.index = group if group is not None else (None, 0)
        self.failed_task_id = ""  # set when this batch item failed and was skipped

    @property
    def in_batch(self) -> bool:
        """Whether this call is one item of a node run over a list of several (then the line is the group's)."""
        return self.group is not None and self.group.size > 1

    def batch_tag(self, name: str) -> Any:
        """The journal tag grouping this call's task with its siblings' in the RunningHub tab (None alone)."""
        return self.group.tag(self.index, name) if self.group is not None else None

    def __call__(self, event: events.ProgressEvent) -> None:
        try:
            if self.in_batch:
                self._show(*self.group.update(self.index, self.lang, fraction=event.fraction,
                                              running=event.phase in ("queued", "running", "download")))
            else:
                self.text(wording.describe(event, self.lang))
                if event.fraction is not None:
                    self.bar(event.fraction)
            if event.phase != self._phase:
                self._phase = event.phase
                log.info("RunningHub%s: %s", f" task {event.task_id}" if event.task_id else "", wording.describe(event))
        except Exception:  # a display problem must never cost a paid video
            log.debug("RunningHub: progress display failed", exc_info=True)

    def start(self) -> None:
        """Replace the previous run's line (and, in the browser, its preview) as this run starts
        (in a batch, only its first item does)."""
        if self.group is None or self.index == 0:
            self._send(wording.say("start", self.lang), "start")

    def text(self, message: str, kind: str = "progress", cost: Any = None) -> None:
        """``kind``: start, progress, done, cancelled or error (the browser colours the last two).
        In a batch an item's last word (``cost``: its charge) moves the group's line instead."""
        if not self.in_batch:
            self._send(message, kind)
        elif kind in batch_status.ENDS:
            self._show(*self.group.update(self.index, self.lang, end=kind, cost=cost))

    def skip(self, exc: errors.RunningHubError, site: str) -> None:
        """This batch item failed and gives no video; the batch goes on. Its line says why and
        whether RunningHub charged for it (or that this is not known yet)."""
        log.info("RunningHub: batch item %d: %s", self.index + 1, exc)
        self.failed_task_id = str(exc.task_id or "")
        words = {True: "item_charged", False: "item_not_charged", None: "item_charge_unknown"}[
            batch_status.charged(exc, site)]
        why = wording.error_line(exc, self.lang, site=site).rstrip(".")
        self._show(*self.group.update(self.index, self.lang, end="error",
                                      failure=wording.say(words, self.lang, why=why)))

    def _show(self, line: str, kind: str, fraction: float) -> None:
        self._send(line, kind)
        self.bar(fraction)

    def _send(self, message: str, kind: str) -> None:
        server = _server()
        if server is None or self.node_id is None or not message:
            return
        try:
            server.send_sync(STATUS_EVENT, {"node": str(self.node_id), "text": message, "kind": kind},
                             getattr(server, "client_id", None))
        except Exception:  # a display problem must never cost a paid video
            log.debug("RunningHub: progress display failed", exc_info=True)

    def bar(self, fraction: float) -> None:
        utils, mm = _comfy("comfy.utils"), _comfy("comfy.model_management")
        if utils is None or mm is None or mm.processing_interrupted():
            return  # ComfyUI's bar hook clears the interrupt flag; leave it for should_cancel
        position = round(min(1.0, max(0.0, fraction)) * BAR_STEPS)
        if position <= self._position:
            return
        if self._bar is None:
            self._bar = utils.ProgressBar(BAR_STEPS, node_id=self.node_id)
        self._position = position
        try:
            self._bar.update_absolute(position)
        except mm.InterruptProcessingException:
            mm.interrupt_current_processing(True)  # raced with Cancel: put the flag back


# --- VIDEO ---------------------------------------------------------------------------------
def video_from_file(path: str | os.PathLike) -> Any:
    """ComfyUI's VIDEO for a file, so SaveVideo / GetVideoComponents work on it unchanged."""
    from comfy_api.latest import InputImpl

    return InputImpl.VideoFromFile(str(path))


def _saved_result(path: Path) -> Any:
    """ComfyUI's handle of a file under the output folder (it serves previews only from there)."""
    from comfy_api.latest import io, ui

    subfolder = path.parent.relative_to(output_directory().resolve())
    return ui.SavedResult(path.name, "" if subfolder == Path(".") else subfolder.as_posix(), io.FolderType.output)


def image_preview(path: Path) -> Any:
    """The node's preview of a PNG saved under the output folder."""
    from comfy_api.latest import ui

    return ui.SavedImages([_saved_result(Path(path).resolve())])


def preview_of(path: Path) -> Any:
    """The node's video preview. Files outside the output folder (a journal hit saved by the CLI)
    are copied into ``output/runninghub/`` first."""
    from comfy_api.latest import ui

    out, path = output_directory().resolve(), Path(path).resolve()
    if not path.is_relative_to(out):
        from ..runninghub_video.remote import download

        target = out / download.SUBFOLDER / path.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        path = target
    return ui.PreviewVideo([_saved_result(path)])


def _temp_video(prefix: str) -> Path:
    """A new empty MP4 file in the temp folder, for the caller to fill and delete."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".mp4")
    os.close(fd)
    return Path(name)


def _file_of(video: Any) -> tuple[Path, bool]:
    """A file holding ``video``: its own source when it has one, else a temp copy (second item True:
    the caller deletes it)."""
    source = video.get_stream_source() if hasattr(video, "get_stream_source") else None
    if isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        return Path(source), False
    path = _temp_video("runninghub_frames_")
    try:
        if source is not None and hasattr(source, "read"):
            with path.open("wb") as f:
                shutil.copyfileobj(source, f)
        else:
            video.save_to(str(path))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, True


def unedited_file_of(video: Any) -> tuple[Path, bool] | None:
    """The file behind ``video`` when decoding that file gives exactly the VIDEO's frames, as
    :func:`_file_of` does; None when only ComfyUI itself can decode the VIDEO as it is.

    Newer ComfyUI's Load Video keeps trim and crop on the VIDEO and leaves the file untouched, so
    only a plain ``VideoFromFile`` with no trim window and the file's own size qualifies; frames in
    memory, lists and types this pack does not know go through ComfyUI's ``get_components``."""
    if type(video).__name__ != "VideoFromFile" or not hasattr(video, "get_stream_source"):
        return None
    window = getattr(video, "get_active_trim_window", None)  # ComfyUI with trim: (start, duration)
    if window is not None and tuple(float(v) for v in window()) != (0.0, 0.0):
        return None
    path, temporary = _file_of(video)
    if hasattr(video, "get_dimensions"):  # a crop shows as a size other than the file's
        if tuple(video.get_dimensions()) != _own_size(path):
            if temporary:
                path.unlink(missing_ok=True)
            return None
    return path, temporary


def videos_as_mp4(videos: list) -> list[tuple[Any, bool]]:
    """Each connected VIDEO as an MP4 file with the identity of what it was written from (a
    ``media.clips.VideoFile``; second item True: a temp file the caller deletes).

    Written by the VIDEO's own ``save_to`` as H.264 MP4: ComfyUI applies the VIDEO's trim and crop
    there (re-encoding), and remuxes an untouched H.264 MP4. Either way the bytes depend on the
    PyAV / FFmpeg build, so the request's identity is taken from the source (:func:`video_source`)."""
    from comfy_api.latest import Types

    from ..runninghub_video.media.clips import VideoFile

    files: list[tuple[Any, bool]] = []
    try:
        for video in videos:
            if video is None:
                continue
            path = _temp_video("runninghub_reference_")
            files.append((VideoFile(path), True))
            video.save_to(str(path), format=Types.VideoContainer.MP4, codec=Types.VideoCodec.H264)
            files[-1] = (VideoFile(path, video_source(video)), True)
    except BaseException:
        for file, _ in files:
            file.path.unlink(missing_ok=True)
        raise
    return files


_SAVED_AS = "ComfyUI VIDEO.save_to MP4 H.264"


def video_source(video: Any) -> str:
    """The identity of what ``save_to`` makes of ``video`` (``media.clips.made_from``): the file
    behind it with its trim window and crop, or its frames and sound in memory; "" when that
    cannot be told (a VIDEO type this pack does not know, a crop whose place is not readable, a
    VIDEO that does not answer as expected), and then the written file's bytes count, as before."""
    try:
        return _video_source(video)
    except Exception as exc:  # never fail a run over this: the bytes are a safe (if build-bound) identity
        log.info("RunningHub: the source of a %s could not be read (%s); its bytes identify it.",
                 type(video).__name__, exc)
        return ""


def _video_source(video: Any) -> str:
    from ..runninghub_video.media.clips import made_from
    from ..runninghub_video.media.images import to_numpy

    kind = type(video).__name__
    if kind == "VideoFromFile" and hasattr(video, "get_stream_source"):
        digest = _source_digest(video.get_stream_source())
        window = getattr(video, "get_active_trim_window", None)
        trim = [float(v) for v in window()] if window is not None else [0.0, 0.0]
        # ComfyUI keeps the crop rectangle private (no accessor; only its size shows through
        # get_dimensions): read defensively, and with it unreadable accept only a VIDEO without one
        crop = getattr(video, "_VideoFromFile__crop", _UNREADABLE)
        if crop is _UNREADABLE and hasattr(video, "get_dimensions") and digest:
            crop = None if _own_size(video.get_stream_source()) == tuple(video.get_dimensions()) else _UNREADABLE
        if digest is None or crop is _UNREADABLE:
            return ""
        return made_from(digest, _SAVED_AS, trim=trim, crop=None if crop is None else [int(v) for v in crop])
    if kind == "VideoFromComponents" and hasattr(video, "get_components"):
        import hashlib

        import numpy as np

        parts = video.get_components()
        audio = getattr(parts, "audio", None) or {}
        digest = hashlib.sha256()
        for tensor in (parts.images, audio.get("waveform")):
            if tensor is not None:
                array = np.ascontiguousarray(to_numpy(tensor))
                digest.update(f"{array.dtype}{array.shape}".encode())
                digest.update(array.data)
        return made_from(digest.hexdigest(), _SAVED_AS, frames_per_second=str(parts.frame_rate),
                         sample_rate=audio.get("sample_rate"))
    return ""


_UNREADABLE = object()


def _source_digest(source: Any) -> str | None:
    """sha256 of a VIDEO's file (a path: read once while it is unchanged, see core/digests.py) or
    BytesIO, or None when it is neither."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_file():
        from ..runninghub_video.core.digests import file_sha256

        return file_sha256(source)
    if hasattr(source, "getbuffer"):
        import hashlib

        return hashlib.sha256(source.getbuffer()).hexdigest()
    return None


def _own_size(source: Any) -> tuple[int, int]:
    """The width and height of a VIDEO's file or BytesIO itself (before any crop)."""
    from ..runninghub_video.media import decode

    return decode.probe_video(source)[:2]
