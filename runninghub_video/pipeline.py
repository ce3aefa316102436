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

from . import facts, inbox, spend
from .api import RunningHubClient, TaskStatus
from .config import Settings, load_settings
from .download import DEFAULT_MAX_BYTES, download_result, ensure_output_dir
from .errors import AmbiguousSubmitError, ApiError, RunningHubError, ValidationError
from .events import CancelCheck, ProgressCallback, ProgressEvent, check_cancel, run_interruptibly
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


def generate(images: Sequence, request: VideoRequest, *, site: str | None = None,
             output_dir: str | Path = "runninghub_output", on_progress: ProgressCallback | None = None,
             should_cancel: CancelCheck | None = None, timeout_s: float = facts.DEFAULT_TIMEOUT_S,
             variation: int = 0, max_bytes: int = DEFAULT_MAX_BYTES,
             settings: Settings | None = None) -> GenerationResult:
    """Make (or recover) the video for these references and options. Blocking; see module doc.

    ``settings`` overrides the environment/config (the demo passes the emulator's)."""
    from .images import prepare_references
    from .journal import Journal, fingerprint

    request = request.validated()
    settings = settings or load_settings(site)
    output_dir = ensure_output_dir(output_dir).parent
    references = prepare_references(images)
    body_without_urls = request.body(["-"] * len(references))
    body_without_urls.pop("imageUrls")
    journal = Journal()
    print_ = fingerprint(site=settings.site, request_body_without_urls=body_without_urls,
                         image_hashes=[r.sha256 for r in references], variation=int(variation))

    with RunningHubClient(settings) as client:
        run = _Run(settings, client, output_dir, on_progress, should_cancel, timeout_s)
        reusable = journal.find_reusable(print_, settings.site)
        if reusable is not None:
            if reusable.has_video:
                run.say("done", f"reused the saved video of task {reusable.task_id}", 1.0, reusable.task_id,
                        reused=True)
                return _saved_result(reusable)
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
            row = journal.begin(print_, settings.site, {**body_without_urls,
                                                        "imageHashes": [r.sha256 for r in references]},
                                int(variation))
            status = _submit(run, journal, row, body, references)
            return _finish(run, journal, status.task_id, request, initial=status, max_bytes=max_bytes)


def fetch_task(task_id: str, *, site: str | None = None, output_dir: str | Path = "runninghub_output",
               on_progress: ProgressCallback | None = None, should_cancel: CancelCheck | None = None,
               timeout_s: float = facts.DEFAULT_TIMEOUT_S, max_bytes: int = DEFAULT_MAX_BYTES,
               settings: Settings | None = None) -> GenerationResult:
    """Recover any task by id: its saved file if the journal has one, else wait and download."""
    from .journal import Journal

    task_id = str(task_id).strip()
    if not task_id.isdigit():
        raise ValidationError(f"{task_id!r} is not a RunningHub task id (a long number such as 2013508786110730241).")
    settings = settings or load_settings(site)
    output_dir = ensure_output_dir(output_dir).parent
    journal = Journal()
    row = journal.get(task_id, settings.site)
    if row is not None and row.has_video:
        return _saved_result(row)
    if row is None:
        journal.set_task(journal.begin("", settings.site, {}, 0), task_id, "QUEUED")
    options = row.request if row is not None else {}
    request = VideoRequest(prompt="-", duration=str(options.get("duration", facts.DEFAULT_DURATION)),
                           resolution=options.get("resolution", facts.DEFAULT_RESOLUTION))  # paces polling
    with RunningHubClient(settings) as client:
        run = _Run(settings, client, output_dir, on_progress, should_cancel, timeout_s)
        return _finish(run, journal, task_id, request, reused=True, max_bytes=max_bytes,
                       submitted_epoch=row.submitted_at if row is not None else None)


def _saved_result(row) -> GenerationResult:
    return GenerationResult(row.task_id, Path(row.video_path), row.site, True,
                            {"consumeMoney": row.cost} if row.cost else {})


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


def _upload_all(run: _Run, references: list, *, use_cache: bool = True) -> list[str]:
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
            url = run.client.upload(encoded.data, encoded.filename, encoded.content_type, run.should_cancel)
            cache.put(ref.sha256, run.settings.endpoint, url, len(encoded.data))
        urls.append(url)
    return urls


def _submit(run: _Run, journal, row: int, body: dict, references: list) -> TaskStatus:
    """Submit, and journal the outcome, even if the user cancels while the submit is in flight:
    the submit finishes in the background and records its task id, so queuing again resumes it."""
    run.say("submit", "submitting")
    return run_interruptibly(lambda: _submit_and_record(run, journal, row, body, references), run.should_cancel)


def _submit_and_record(run: _Run, journal, row: int, body: dict, references: list) -> TaskStatus:
    """Submit once; if RunningHub rejects cached upload URLs, re-upload and submit again (no task was made)."""
    try:
        try:
            status = run.client.submit(body, run.should_cancel)
        except ApiError as exc:
            if exc.code not in ("1007", "1013"):
                raise
            from .upload_cache import UploadCache

            cache = UploadCache()
            for url in body["imageUrls"]:
                cache.invalidate(url)
            body = {**body, "imageUrls": _upload_all(run, references, use_cache=False)}
            run.say("submit", "submitting (fresh uploads)", fresh_uploads=True)
            status = run.client.submit(body, run.should_cancel)
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

    expected = (journal.expected_run_seconds(run.settings.site, request.resolution, request.duration)
                or expected_run_seconds(request.resolution, request.duration))
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
                                                                            request.duration))
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
    run.say("done", f"saved {path.name}", 1.0, task_id, file=path.name)
    return GenerationResult(task_id, path, run.settings.site, reused, dict(final.usage),
                            time.monotonic() - run.started)


def _refuse_after_ambiguous_submit(journal, print_: str, site: str) -> None:
    row = journal.latest(print_, site)
    if row is not None and row.state == "ambiguous" and time.time() - row.created_at < AMBIGUOUS_BLOCK_S:
        raise AmbiguousSubmitError(
            "An earlier submit of exactly this request got no answer, so it may already be paid for.",
            advice="Check the task list of your RunningHub account and fetch the task by id if it is there; "
                   "to pay for a new task anyway, change 'variation'.")
