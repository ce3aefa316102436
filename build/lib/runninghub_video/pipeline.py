"""The whole job: references → upload → submit → wait → download, journaled so nothing paid is lost.

Everything that can be checked is checked before the first network call. The journal row is
written before the submit and updated with the task id before the wait, so a crash, timeout or
Cancel leaves a task that queuing the same graph again (or ``fetch``) picks up without paying twice.
"""
from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from . import facts, inbox, last_frame, models, spend
from .api import RunningHubClient, TaskStatus
from .config import Settings, load_settings
from .download import DEFAULT_MAX_BYTES, download_result, ensure_output_dir
from .errors import AmbiguousSubmitError, ApiError, RunningHubError, ValidationError
from .events import CancelCheck, ProgressCallback, ProgressEvent, check_cancel, run_interruptibly
from .models import IMAGE
from .references import upload_limit
from .request import VideoRequest

AMBIGUOUS_BLOCK_S = facts.RESULT_URL_LIFETIME_S  # an unanswered submit blocks auto re-submits this long


@dataclass(frozen=True)
class GenerationResult:
    task_id: str
    video_path: Path
    site: str
    reused: bool = False
    usage: dict = field(default_factory=dict)
    elapsed_s: float = 0.0
    last_frame_path: Path | None = None  # PNG beside the video, when asked for (or already there)


@dataclass
class _Run:
    """What one call needs along the way; keeps the step functions' signatures short."""
    settings: Settings
    client: RunningHubClient
    output_dir: Path
    on_progress: ProgressCallback | None
    should_cancel: CancelCheck | None
    timeout_s: float
    started: float = field(default_factory=time.monotonic)

    def say(self, phase: str, message: str, fraction: float | None = None, task_id: str = "", **extra) -> None:
        """``extra``: the details of ``message`` as data (see ProgressEvent.extra)."""
        if self.on_progress is not None:
            self.on_progress(ProgressEvent(phase=phase, message=message, fraction=fraction, task_id=task_id,
                                           elapsed_s=time.monotonic() - self.started, extra=extra))


def generate(images: Sequence, request: VideoRequest, *, videos: Sequence = (), audios: Sequence = (),
             site: str | None = None, output_dir: str | Path = "runninghub_output",
             on_progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None,
             timeout_s: float = facts.DEFAULT_TIMEOUT_S, variation: int = 0, max_bytes: int = DEFAULT_MAX_BYTES,
             settings: Settings | None = None) -> GenerationResult:
    """Make (or recover) the video for these references and options. Blocking; see module doc.

    ``videos``: reference video files; ``audios``: ComfyUI AUDIO dicts or audio files (media.py).
    ``settings`` overrides the environment/config (the demo passes the emulator's)."""
    from .journal import Journal, fingerprint
    from .references import prepare_all

    request = request.validated()
    spec = request.spec
    settings = settings or load_settings(site)
    output_dir = ensure_output_dir(output_dir).parent
    references = prepare_all(spec, images, videos, audios)
    body_without_urls = _without_urls(request, references)
    hashes = [r.sha256 if r.kind == IMAGE else f"{r.kind}:{r.sha256}" for r in references]
    journal = Journal()
    print_ = fingerprint(site=settings.site, request_body_without_urls=body_without_urls, image_hashes=hashes,
                         variation=int(variation), model=spec.path)

    with RunningHubClient(settings) as client:
        run = _Run(settings, client, output_dir, on_progress, should_cancel, timeout_s)
        reusable = journal.find_reusable(print_, settings.site)
        if reusable is not None:
            if reusable.has_video:
                run.say("done", f"reused the saved video of task {reusable.task_id}", 1.0, reusable.task_id,
                        reused=True)
                return _saved_result(reusable, request.last_frame)
            if reusable.task_id:
                run.say("queued", f"resuming task {reusable.task_id} (already paid)", task_id=reusable.task_id,
                        resumed=True)
                return _finish(run, journal, reusable.task_id, request, reused=True, max_bytes=max_bytes,
                               submitted_epoch=reusable.submitted_at)
        _refuse_after_ambiguous_submit(journal, print_, settings.site)
        spend.check_budget(client, settings.site, request, journal, fingerprint=print_)  # before any upload

        with _slot(run):
            urls = _upload_all(run, references)
            body = request.body(urls)
            stored = {**body_without_urls, "model": spec.id, "imageHashes": hashes}
            row = journal.begin(print_, settings.site, stored, int(variation))
            status = _submit(run, journal, row, request, body, references)
            return _finish(run, journal, status.task_id, request, initial=status, max_bytes=max_bytes)


def _without_urls(request: VideoRequest, references: list) -> dict:
    """The submit body minus its URL arrays: what identifies the request besides the content hashes."""
    body = request.body(_group([(r, "-") for r in references]))
    for rule in request.spec.media:
        body.pop(rule.wire, None)
    return body


def _group(pairs: list) -> dict[str, list[str]]:
    """(reference, url) pairs -> URLs by reference kind, in order."""
    grouped: dict[str, list[str]] = {}
    for reference, url in pairs:
        grouped.setdefault(reference.kind, []).append(url)
    return grouped


def fetch_task(task_id: str, *, site: str | None = None, output_dir: str | Path = "runninghub_output",
               on_progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None,
               timeout_s: float = facts.DEFAULT_TIMEOUT_S, max_bytes: int = DEFAULT_MAX_BYTES,
               settings: Settings | None = None, want_last_frame: bool = False) -> GenerationResult:
    """Recover any task (of any model) by id: its saved file if the journal has one, else wait and
    download. ``want_last_frame``: also save the last frame as PNG beside the video."""
    from .journal import Journal

    task_id = str(task_id).strip()
    if not task_id.isdigit():
        raise ValidationError(f"{task_id!r} is not a RunningHub task id (a long number such as 2013508786110730241).")
    settings = settings or load_settings(site)
    output_dir = ensure_output_dir(output_dir).parent
    journal = Journal()
    row = journal.get(task_id, settings.site)
    if row is not None and row.has_video:
        return _saved_result(row, want_last_frame)
    if row is None:
        journal.set_task(journal.begin("", settings.site, {}, 0), task_id, "QUEUED")
    options = row.request if row is not None else {}
    spec = models.MODELS.get(str(options.get("model") or ""), models.V1_LITE)  # rows before 2.0: v1-lite
    request = VideoRequest(prompt="-", model=spec.id, last_frame=want_last_frame,
                           duration=str(options.get("duration", spec.default("duration"))),
                           resolution=options.get("resolution", spec.default("resolution")))  # paces polling
    with RunningHubClient(settings) as client:
        run = _Run(settings, client, output_dir, on_progress, should_cancel, timeout_s)
        return _finish(run, journal, task_id, request, reused=True, max_bytes=max_bytes,
                       submitted_epoch=row.submitted_at if row is not None else None)


def _saved_result(row, want_last_frame: bool) -> GenerationResult:
    path = Path(row.video_path)
    return GenerationResult(row.task_id, path, row.site, True, {"consumeMoney": row.cost} if row.cost else {},
                            last_frame_path=last_frame.save(path) if want_last_frame else None)


# --- steps ---------------------------------------------------------------------------------
@contextmanager
def _slot(run: _Run) -> Iterator[None]:
    """Hold one of the account's concurrent-task slots from submit until the task ends."""
    from .slots import limiter_for

    settings = run.settings
    account = f"{settings.endpoint}|{hashlib.sha256(settings.api_key.encode()).hexdigest()[:16]}"
    limiter = limiter_for(account, lambda: run.client.queue_status().concurrent_limit)
    with limiter.acquire(should_cancel=run.should_cancel, on_wait=lambda: run.say("slot", "waiting for a free slot")):
        yield


def _upload_all(run: _Run, references: list, *, use_cache: bool = True) -> dict[str, list[str]]:
    """Each reference uploaded once (or found in the cache); URLs grouped by reference kind."""
    from .upload_cache import UploadCache

    cache = UploadCache()
    urls = []
    for i, ref in enumerate(references, 1):
        check_cancel(run.should_cancel)
        url = cache.get(ref.sha256, run.settings.endpoint) if use_cache else None
        if url is None:
            encoded = ref.encode()
            run.say("upload", f"uploading reference {i}/{len(references)} ({len(encoded.data) / 1e6:.1f} MB)",
                    (i - 1) / len(references), index=i, count=len(references), bytes=len(encoded.data))
            url = run.client.upload(encoded.data, encoded.filename, encoded.content_type, run.should_cancel,
                                    max_bytes=upload_limit(ref.kind))
            cache.put(ref.sha256, run.settings.endpoint, url, len(encoded.data))
        urls.append(url)
    return _group(list(zip(references, urls)))


def _submit(run: _Run, journal, row: int, request: VideoRequest, body: dict, references: list) -> TaskStatus:
    """Submit, and journal the outcome, even if the user cancels while the submit is in flight:
    the submit finishes in the background and records its task id, so queuing again resumes it."""
    run.say("submit", "submitting")
    return run_interruptibly(lambda: _submit_and_record(run, journal, row, request, body, references),
                             run.should_cancel)


def _submit_and_record(run: _Run, journal, row: int, request: VideoRequest, body: dict,
                       references: list) -> TaskStatus:
    """Submit once; if RunningHub rejects cached upload URLs, re-upload and submit again (no task was made)."""
    try:
        try:
            status = run.client.submit(body, run.should_cancel, request.spec.submit_path)
        except ApiError as exc:
            if exc.code not in ("1007", "1013"):
                raise
            from .upload_cache import UploadCache

            cache = UploadCache()
            for rule in request.spec.media:
                for url in body.get(rule.wire, ()):
                    cache.invalidate(url)
            body = request.body(_upload_all(run, references, use_cache=False))
            run.say("submit", "submitting (fresh uploads)", fresh_uploads=True)
            status = run.client.submit(body, run.should_cancel, request.spec.submit_path)
    except AmbiguousSubmitError as exc:
        journal.update(row, state="ambiguous", error_message=str(exc))
        raise
    except RunningHubError as exc:
        journal.update(row, state="rejected", error_code=exc.code, error_message=str(exc))
        raise
    journal.set_task(row, status.task_id, status.status or "QUEUED")
    return status


@inbox.follows  # while it waits, the inbox offers no second recovery of the task
def _finish(run: _Run, journal, task_id: str, request: VideoRequest, *, initial: TaskStatus | None = None,
            reused: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
            submitted_epoch: float | None = None) -> GenerationResult:
    """Wait for the task, then download its video; the journal follows every state.

    ``submitted_epoch`` (a resumed task's journal time) keeps "elapsed" counting from the real submit."""
    from .polling import expected_run_seconds, wait_for_task

    spec = request.spec
    expected = (journal.expected_run_seconds(run.settings.site, request.resolution, request.duration, spec.id)
                or expected_run_seconds(request.resolution, request.duration, spec.typical_run_s))
    seen_running: list[float] = []

    def on_state(status: TaskStatus) -> None:
        now = time.time()
        if status.status == "RUNNING":
            seen_running.append(now)
        fields: dict = {"state": status.status or "unknown"}
        if status.status == facts.SUCCESS_STATE:
            fields.update(result_url=status.video_url, cost=status.cost,
                          run_seconds=now - seen_running[0] if seen_running else None)
        elif status.error_code:  # the journal stamps finished_at on finished states itself
            fields.update(error_code=status.error_code, error_message=status.failure_text())
        journal.update(task_id, **fields)

    try:
        final = wait_for_task(run.client, task_id, timeout_s=run.timeout_s, expected_run_s=expected,
                              on_progress=run.on_progress, should_cancel=run.should_cancel, on_state=on_state,
                              initial=initial, currency=facts.SITE_CURRENCY[run.settings.site],
                              submitted_at=None if submitted_epoch is None else
                              time.monotonic() - max(0.0, time.time() - submitted_epoch),
                              price="" if reused else facts.estimated_price(run.settings.site, request.resolution,
                                                                            request.duration, spec))
        run.say("download", "downloading the video", task_id=task_id)
        path = run_interruptibly(lambda: download_result(
            run.client.session, final.video_url, output_dir=run.output_dir, task_id=task_id,
            should_cancel=run.should_cancel, on_progress=run.on_progress, max_bytes=max_bytes),
            run.should_cancel, task_id)
    except RunningHubError as exc:
        if exc.code == "1004":
            journal.update(task_id, state="expired")
        exc.task_id = exc.task_id or task_id
        raise
    journal.update(task_id, state="downloaded", video_path=str(path))
    frame = None
    if request.last_frame:  # RunningHub's image when it sent one, else decoded from the MP4
        frame = last_frame.save(path, run.client.session, final.image_url, run.should_cancel)
    run.say("done", f"saved {path.name}", 1.0, task_id, file=path.name)
    return GenerationResult(task_id, path, run.settings.site, reused, dict(final.usage),
                            time.monotonic() - run.started, last_frame_path=frame)


def _refuse_after_ambiguous_submit(journal, print_: str, site: str) -> None:
    row = journal.latest(print_, site)
    if row is not None and row.state == "ambiguous" and time.time() - row.created_at < AMBIGUOUS_BLOCK_S:
        raise AmbiguousSubmitError(
            "An earlier submit of exactly this request got no answer, so it may already be paid for.",
            advice="Check the task list of your RunningHub account and fetch the task by id if it is there; "
                   "to pay for a new task anyway, change 'variation'.")
