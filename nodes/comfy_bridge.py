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
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, AsyncIterator, Callable, TypeVar

from . import browser_language
from ..runninghub_video.core import errors, events, money
from ..runninghub_video.remote import config
from ..runninghub_video.words import wording

log = logging.getLogger("RunningHub")

FALLBACK_OUTPUT_DIR = "runninghub_output"
BAR_STEPS = 10_000  # fine enough that a late task's slowing bar still moves every second
STATUS_EVENT = "runninghub.status"
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

    return await asyncio.to_thread(functools.partial(fn, *args, **kwargs))


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
    except BaseException as exc:
        mm = _comfy("comfy.model_management")
        if isinstance(exc, errors.Interrupted):
            progress.text(wording.cancelled(exc.task_id, lang) if paid else wording.say("stopped", lang),
                          kind="cancelled")
            raise interruption(exc) from None
        if mm is not None and isinstance(exc, mm.InterruptProcessingException):  # ComfyUI's own Cancel
            progress.text(wording.say("stopped", lang), kind="cancelled")
        elif isinstance(exc, errors.RunningHubError) and progress.in_batch:
            log.info("RunningHub: batch item %d: %s", progress.index + 1, exc)
            progress.skip(exc, wording.error_line(exc, lang, site=site), _charged(exc, site))
            return
        elif isinstance(exc, errors.RunningHubError):
            no_key = isinstance(exc, errors.ConfigError) and bool(site) and not config.find_key(site)
            log.info("RunningHub: %s", exc)  # the client's full English message stays in the log
            progress.text(wording.failed(exc, lang, site=site, no_key=no_key), kind="error")
            exc.args = (wording.error_line(exc, lang, site=site, no_key=no_key),)
            named_for_dialog(exc)
        elif isinstance(exc, Exception):
            progress.text(wording.failed(exc, lang), kind="error")
        raise


DIALOG_NAME = "RunningHub"


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


class BatchGroup:
    """The calls of one node in one prompt: ComfyUI maps a node over list inputs (a prompt list),
    one concurrent call per item; they share one status line and one bar."""

    def __init__(self, prompt_id: str, node_id: str) -> None:
        self.prompt_id, self.node_id = prompt_id, node_id
        self.items: dict[int, dict] = {}  # list index -> {"fraction", "end": "", "done", "error"…, "cost"}
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return len(self.items)

    def join(self, index: int) -> None:
        with self._lock:
            self.items.setdefault(index, {"fraction": 0.0, "end": "", "cost": None, "running": False})

    def tag(self, index: int, name: str) -> Any:
        """The journal's batch tag of item ``index``: the RunningHub tab groups the node's tasks by it."""
        from ..runninghub_video.ledger import journal

        return journal.BatchTag(f"comfy:{self.prompt_id}:{self.node_id}", name, f"item {index + 1}")

    def failure(self, index: int) -> str:
        """Why item ``index`` gave no video, and whether it was charged ("" if it did not fail here)."""
        return self.items.get(index, {}).get("failure", "")

    def update(self, index: int, *, fraction: float | None = None, end: str = "", cost: Any = None,
               running: bool | None = None, failure: str = "") -> tuple[str, float]:
        """Record an item's move (``failure``: why it gave no video); returns the group's line and bar
        position. Once every item has ended, the line names each failed one."""
        with self._lock:
            item = self.items[index]
            if failure:
                item["failure"] = failure
            if fraction is not None:
                item["fraction"] = max(item["fraction"], fraction)
            if running is not None:
                item["running"] = running
            if end:
                item["end"], item["cost"] = end, cost
                item["fraction"] = 1.0
            values = list(self.items.values())
        saved = sum(1 for i in values if i["end"] == "done")
        failed = sum(1 for i in values if i["end"] in ("error", "cancelled"))
        running_count = sum(1 for i in values if i["running"] and not i["end"])
        costs = [i["cost"] for i in values if i["cost"] is not None]
        spent = money.total(costs, costs[0].currency) if costs else None
        lang = prompt_language()
        line = wording.batch_line(len(values), saved, running_count, failed, spent, lang)
        if all(i["end"] for i in values):
            line += "".join(wording.say("batch_item_failed", lang, item=n + 1, why=self.items[n]["failure"])
                            for n in sorted(self.items) if self.items[n].get("failure"))
        return line, sum(i["fraction"] for i in values) / len(values)


_groups: dict[tuple[str, str], BatchGroup] = {}
_groups_lock = threading.Lock()


def _batch_group(node_id: str | None) -> tuple[BatchGroup, int] | None:
    """This call's group and list index when ComfyUI runs the node over a list, else None.
    Groups of earlier prompts are dropped as a new prompt starts."""
    context = _executing()
    if context is None or context.list_index is None or node_id is None:
        return None
    with _groups_lock:
        for key in [k for k in _groups if k[0] != context.prompt_id]:
            del _groups[key]
        group = _groups.setdefault((context.prompt_id, str(node_id)), BatchGroup(context.prompt_id, str(node_id)))
    group.join(context.list_index)
    return group, context.list_index


def _charged(exc: errors.RunningHubError, site: str) -> bool | None:
    """Whether RunningHub charged for a failed run: not when nothing was submitted; unknown after an
    ambiguous submit; else as the task's journal row says."""
    if isinstance(exc, errors.AmbiguousSubmitError):
        return None
    if not exc.task_id:
        return False
    from ..runninghub_video.ledger.journal import Journal
    from ..runninghub_video.run import batch

    return batch.charged(Journal().get(str(exc.task_id), site or None))


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
    group = _groups.get((context.prompt_id, str(link[0])))
    return group.failure(index) if group is not None else ""


# --- progress ------------------------------------------------------------------------------
class NodeProgress:
    """Turns client progress events into the node's status line (in the prompt's language, see
    wording) and ComfyUI's progress bar; the log says each new phase in English.

    Called from the worker thread; both ComfyUI channels hand messages to the server loop
    thread-safely.
    """

    def __init__(self, node_id: str | None, lang: str | None = None,
                 group: tuple[BatchGroup, int] | None = None) -> None:
        self.node_id = node_id
        self.lang = lang or prompt_language()
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
                self._show(*self.group.update(self.index, fraction=event.fraction,
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
        if self.in_batch:
            if kind in ("done", "error", "cancelled"):
                line, fraction = self.group.update(self.index, end=kind, cost=cost)
                if all(i["end"] for i in self.group.items.values()):
                    failed = any(i["end"] != "done" for i in self.group.items.values())
                    self._send(line, "error" if failed else "done")
                    self.bar(fraction)
                else:
                    self._show(line, fraction)
            return
        self._send(message, kind)

    def skip(self, exc: errors.RunningHubError, why: str, charged: bool | None) -> None:
        """This batch item failed and gives no video; the batch goes on. Its line says why and
        whether RunningHub charged for it (``charged`` None: not known yet)."""
        self.failed_task_id = str(exc.task_id or "")
        words = {True: "item_charged", False: "item_not_charged", None: "item_charge_unknown"}[charged]
        self.group.update(self.index, failure=wording.say(words, self.lang, why=why.rstrip(".")))
        self.text("", kind="error")
        global _skipped_items
        _skipped_items += 1


    def _show(self, line: str, fraction: float) -> None:
        self._send(line, "progress")
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


_skipped_items = 0  # batch items that failed and were skipped, in this ComfyUI process


def skipped_items() -> int:
    """How many batch items have failed without failing their node so far: the video nodes'
    fingerprint, so that queuing again after such a batch runs the node again (ComfyUI would
    otherwise reuse its cached outputs, failed items included) and pays only for the failed ones."""
    return _skipped_items


# --- VIDEO ---------------------------------------------------------------------------------
def video_from_file(path: str | os.PathLike) -> Any:
    """ComfyUI's VIDEO for a file, so SaveVideo / GetVideoComponents work on it unchanged."""
    from comfy_api.latest import InputImpl

    return InputImpl.VideoFromFile(str(path))


def image_preview(path: Path) -> Any:
    """The node's preview of a PNG saved under the output folder."""
    from comfy_api.latest import io, ui

    subfolder = Path(path).resolve().parent.relative_to(output_directory().resolve())
    folder = "" if subfolder == Path(".") else subfolder.as_posix()
    return ui.SavedImages([ui.SavedResult(Path(path).name, folder, io.FolderType.output)])


def preview_of(path: Path) -> Any:
    """The node's video preview. Files outside the output folder (a journal hit saved by the CLI)
    are copied into ``output/runninghub/`` first, since ComfyUI serves previews only from there."""
    from comfy_api.latest import io, ui

    out = output_directory().resolve()
    path = Path(path).resolve()
    try:
        subfolder = path.parent.relative_to(out)
    except ValueError:
        from ..runninghub_video.remote import download

        target = out / download.SUBFOLDER / path.name
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


def unedited_file_of(video: Any) -> tuple[Path, bool] | None:
    """The file behind ``video`` when decoding that file gives exactly the VIDEO's frames, as
    :func:`video_file_of` does; None when only ComfyUI itself can decode the VIDEO as it is.

    Newer ComfyUI's Load Video keeps trim and crop on the VIDEO and leaves the file untouched, so
    only a plain ``VideoFromFile`` with no trim window and the file's own size qualifies; frames in
    memory, lists and types this pack does not know go through ComfyUI's ``get_components``."""
    if type(video).__name__ != "VideoFromFile" or not hasattr(video, "get_stream_source"):
        return None
    window = getattr(video, "get_active_trim_window", None)  # ComfyUI with trim: (start, duration)
    if window is not None and tuple(float(v) for v in window()) != (0.0, 0.0):
        return None
    path, temporary = video_file_of(video)
    if hasattr(video, "get_dimensions"):  # a crop shows as a size other than the file's
        from ..runninghub_video.media import decode

        width, height = decode.probe_video(path)[:2]
        if tuple(video.get_dimensions()) != (width, height):
            if temporary:
                path.unlink(missing_ok=True)
            return None
    return path, temporary


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
