"""The whole job: references → claim → upload → submit → wait → download; one request, one payment.

Everything that can be checked is checked before the first network call (options, timeout,
output folder, state folder). The journal's *claim* (see :mod:`..ledger.journal`) makes exactly one run
— thread or process — upload and submit a given request; identical runs wait on its row and
return the same video. The task id is recorded the moment the submit answers, so a crash,
timeout or Cancel leaves a task that queuing the same graph again (or ``fetch``) picks up
without paying twice. A submit whose answer was lost is never sent again on its own: the run,
and every later run of the same request, explain how to recover it.
"""
from __future__ import annotations

import hashlib
import logging
import math
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..remote import error_codes, facts, models
from ..media import last_frame
from . import spend
from .fetch_match import Note, settle
from ..remote.api import RunningHubClient
from ..remote.wire import TaskStatus
from ..remote.config import Settings, load_settings
from ..remote.download import DEFAULT_MAX_BYTES, ensure_output_dir
from ..core.store import StateError
from ..core.errors import (AmbiguousSubmitError, ApiError, ConfigError, RunningHubError,
                           TaskFailedError, TaskNotFoundError, ValidationError, WaitTimeoutError)
from ..core.events import (CancelCheck, one_at_a_time, ProgressCallback, ProgressEvent, bar_position,
                           check_cancel, fetch_advice, run_interruptibly, sleep_interruptibly)
from ..ledger.journal import (ABANDONED, AMBIGUOUS, EXPIRED, REJECTED, BatchTag, Claim, Holder, Journal, Row,
                              fingerprint, following)
from ..remote.models import IMAGE
from ..core.money import Money
from ..media.references import upload_limit
from ..remote.request import VideoRequest
from ..remote.task_id import check_task_id
from ..words import wording
from ..words.wording import format_duration
from .polling import TaskWait, Timing, wait_for_task
from ..core.waits import current as current_waits

log = logging.getLogger("RunningHub")


@dataclass(frozen=True)
class GenerationResult:
    task_id: str
    video_path: Path
    site: str
    reused: bool = False  # the saved video of an earlier run: nothing was waited for
    elapsed_s: float = 0.0
    resumed: bool = False  # an earlier run's task (already submitted) was waited for and downloaded
    cost: Money | None = None  # what RunningHub charged (None when not reported)
    last_frame_path: Path | None = None  # PNG beside the video, when asked for (or already there)
    note: Note | None = None  # a fetch's word on an unanswered submit it may answer (fetch_match.py)


@dataclass(frozen=True)
class RunSetup:
    """Where a run sends its request and saves its video, and how its caller follows and bounds it.

    ``generate`` and ``fetch_task`` take these fields as keywords."""
    site: str | None = None  # "cn" or "ai"; None: the configured site
    output_dir: str | Path = "runninghub_output"
    on_progress: ProgressCallback | None = None
    should_cancel: CancelCheck | None = None
    timeout_s: float = facts.DEFAULT_TIMEOUT_S  # covers waiting and downloading
    max_bytes: int = DEFAULT_MAX_BYTES  # the largest result video accepted
    settings: Settings | None = None  # overrides site and the environment (the demo passes the emulator's)
    batch: BatchTag | None = None  # the batch a new journal row belongs to
    # called with the row id when this run is about to pay for a new task (after the journal found
    # nothing to reuse or resume, before any upload); it may raise to refuse the run (a batch's budget)
    admit: Callable[[int], None] | None = None
    # what media.references.prepare_all made of the run's references, when its caller already checked
    # them that way (a batch line, before the batch ran): they are not prepared again
    prepared: Sequence | None = None


@dataclass(frozen=True)
class _Wanted:
    """What a run waits for and keeps: how its task is paced and priced, and what is saved."""
    model: models.Model
    resolution: str
    duration: str
    last_frame: bool
    reference_hashes: tuple[str, ...] = ()  # forgotten from the upload cache if the task cannot read them
    price: Money | None = None  # shown while waiting: the table's price of the request, when exact

    @classmethod
    def of(cls, request: VideoRequest, references: Sequence, site: str) -> _Wanted:
        price = request.table_price(site)  # its reference videos and sound included
        return cls(request.spec, request.resolution, request.duration, request.last_frame,
                   tuple(r.sha256 for r in references), price.low if price is not None and price.is_exact else None)

    @classmethod
    def of_row(cls, row: Row | None, last_frame: bool) -> _Wanted:
        """A task known only by id: its journal row's options, else the model's defaults (a task made elsewhere)."""
        options = row.request if row is not None else {}
        spec = models.MODELS.get(str(options.get("model") or ""), models.V1_LITE)  # rows before 2.0: v1-lite
        return cls(spec, str(options.get("resolution", spec.default("resolution"))),
                   str(options.get("duration", spec.default("duration"))), last_frame,
                   tuple(h.rpartition(":")[2] for h in options.get("imageHashes") or []))


@dataclass
class _Run:
    """The one object every step of a run shares: the caller's setup, the checked output folder,
    the client and the journal."""
    setup: RunSetup
    settings: Settings
    client: RunningHubClient
    folder: Path  # the checked runninghub/ output folder
    journal: Journal
    started: float = field(default_factory=time.monotonic)

    @property
    def should_cancel(self) -> CancelCheck | None:
        return self.setup.should_cancel

    @property
    def on_progress(self) -> ProgressCallback | None:
        return self.setup.on_progress

    @property
    def timeout_s(self) -> float:
        return self.setup.timeout_s

    @property
    def deadline(self) -> float:
        """The run's own time limit (the node's timeout) covers waiting and downloading."""
        return self.started + self.setup.timeout_s

    def say(self, phase: str, fraction: float | None = None, task_id: str = "", **extra) -> None:
        """Report a step as data (``extra``: see ProgressEvent.extra); wording.describe words it."""
        if self.setup.on_progress is not None:
            self.setup.on_progress(ProgressEvent(phase=phase, fraction=fraction, task_id=task_id,
                                                 elapsed_s=time.monotonic() - self.started, extra=extra))


def _checked(setup: RunSetup) -> tuple[Settings, Path]:
    """The settings and output folder of a run, checked before anything is paid."""
    check_timeout(setup.timeout_s)
    settings = setup.settings or load_settings(setup.site)
    return settings, ensure_output_dir(setup.output_dir)


def generate(images: Sequence, request: VideoRequest, *, videos: Sequence = (), audios: Sequence = (),
             start_image: Any = None, end_image: Any = None, variation: int = 0, **setup: Any) -> GenerationResult:
    """Make (or recover) the video for these references and options. Blocking; see module doc.

    ``videos``: reference video files; ``audios``: ComfyUI AUDIO dicts or audio files (media.py);
    ``start_image`` / ``end_image``: the frames of the frames mode (IMAGEs);
    ``setup``: the fields of :class:`RunSetup` (site, output_dir, on_progress, should_cancel, timeout_s,
    max_bytes, settings, batch, admit, prepared)."""
    from ..media.references import count_all, prepare_all

    setup_ = RunSetup(**setup)
    request = with_counts(request, count_all(images, videos, audios, start_image, end_image))
    settings, folder = _checked(setup_)
    spec = request.spec
    references = list(setup_.prepared) if setup_.prepared is not None else \
        prepare_all(spec, images, videos, audios, start_image, end_image)
    key = _RequestKey.of(request, references, settings, int(variation), setup_.batch)
    wanted = _Wanted.of(request, references, settings.site)

    with RunningHubClient(settings) as client:
        run = _Run(setup_, settings, client, folder, Journal())
        try:
            claim = _settle(run, key)
        except StateError as exc:  # the journal cannot be written: nothing has been sent yet
            raise StateError(f"{exc} Nothing was uploaded or charged by this run.", code=exc.code,
                             details=exc.details) from None
        row = claim.row
        if claim.action == "reuse":
            run.say("done", bar_position("done", 1), row.task_id, reused=True)
            return _saved_result(row, request.last_frame)
        holder = run.journal.hold(row.id)
        try:
            if claim.action == "resume":
                run.say("queued", task_id=row.task_id, resumed=True)
                with _slot(run, already_running=True), _real_person_advice(request, {}):
                    return _finish(run, wanted, row.task_id, row=row)[1]
            if setup_.admit is not None:
                setup_.admit(row.id)
            try:
                spend.check_budget(client, settings.site, request, run.journal, row_id=row.id)  # before any upload
            except RunningHubError as exc:  # refused, nothing sent: the tab says why (by its code and price)
                run.journal.update(row.id, state=REJECTED, error_code=exc.code or None, error_message=str(exc),
                                   **({"price": exc.price} if getattr(exc, "price", None) else {}))
                raise
            with _slot(run):
                urls = _sendable(run, request, references)
                if not run.journal.start_submit(row.id):
                    raise ConfigError("Another run took over this request while this one was uploading "
                                      "(this process looked stalled).", advice=wording.advice("taken_over"))
                status = _submit(run, holder, request, request.body(urls), references)
                with _real_person_advice(request, urls):
                    return _finish(run, wanted, status.task_id, initial=status)[1]
        finally:
            holder.done()


def with_counts(request: VideoRequest, counts: dict[str, int]) -> VideoRequest:
    """The request validated once with the references it will send: as it is when its caller
    already validated it with these counts (the CLI, the nodes), else validated here."""
    counted = request.with_references(counts)
    if request.checked and request.references == counted.references:
        return request
    return counted.validated()


def _group(pairs: list) -> dict[str, list[str]]:
    """(reference, url) pairs -> URLs by reference kind, in order."""
    grouped: dict[str, list[str]] = {}
    for reference, url in pairs:
        grouped.setdefault(reference.kind, []).append(url)
    return grouped


def fetch_task(task_id: str, *, want_last_frame: bool = False, **setup: Any) -> GenerationResult:
    """Recover any task (of any model) by id: its saved file if the journal has one, else wait and
    download. ``want_last_frame``: also save the last frame as PNG beside the video; ``setup``: the
    fields of :class:`RunSetup`. A task the journal has as no request's own may be the answer of an
    unanswered submit (fetch_match.py); the result's ``note`` says what became of that."""
    setup_ = RunSetup(**setup)
    settings = setup_.settings or load_settings(setup_.site)
    task_id = check_task_id(task_id, settings.site)  # before any call, and before the output folder is made
    settings, folder = _checked(replace(setup_, settings=settings))
    journal = Journal()
    row = journal.get(task_id, endpoint=settings.endpoint)
    plain = row is None or not row.fingerprint  # not the task of a request of this journal
    final = None
    if row is not None and row.has_video:
        result = _saved_result(row, want_last_frame, folder)
    else:
        if row is None:
            journal.record(task_id, site=settings.site, endpoint=settings.endpoint, state="QUEUED")
        with RunningHubClient(settings) as client:
            run = _Run(setup_, settings, client, folder, journal)
            with _slot(run, already_running=True):
                final, result = _finish(run, _Wanted.of_row(row, want_last_frame), task_id, row=row)
    if not plain:
        return result
    note = settle(journal, settings.endpoint, task_id, result.video_path, final=final,
                  known_since=row.created_at if row is not None else None)
    return replace(result, note=note)


def check_timeout(timeout_s: float) -> float:
    """A wait limit must be a positive number of seconds (checked before anything is paid)."""
    try:
        value = float(timeout_s)
    except (TypeError, ValueError):
        value = math.nan
    if not value > 0 or math.isinf(value):
        raise ValidationError(f"The timeout must be a positive number of minutes, not {timeout_s!r} seconds.",
                              advice=wording.advice("nothing_sent"))
    return value


def _saved_result(row: Row, want_last_frame: bool, folder: Path | None = None) -> GenerationResult:
    """The journal's saved video; with ``folder`` (a fetch's output folder) a copy there, as asked."""
    path = Path(row.video_path)
    if folder is not None and path.parent.resolve() != folder.resolve():
        target = folder / path.name
        if not target.exists():
            shutil.copy2(path, target)
        path = target
    return GenerationResult(row.task_id, path, row.site, True, cost=row.cost,
                            last_frame_path=last_frame.save(path) if want_last_frame else None)


# --- claiming ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _RequestKey:
    """A request as the journal knows it: fingerprint, where it goes, what it asks for."""
    fingerprint: str
    settings: Settings
    request: VideoRequest
    stored: dict  # options + reference hashes, as written into the journal
    variation: int
    batch: BatchTag | None = None
    earlier: tuple[str, ...] = ()  # the fingerprint earlier versions gave the same request (see `of`)

    @classmethod
    def of(cls, request: VideoRequest, references: Sequence, settings: Settings, variation: int,
           batch: BatchTag | None) -> _RequestKey:
        """The request's fingerprint counts each reference by its identity (its source, and how it
        was trimmed or re-encoded), so a PyAV or FFmpeg upgrade that encodes the same source to other
        bytes finds the same row. Earlier versions counted the uploaded bytes: that fingerprint is
        looked up too, so their rows are still found while this build encodes as theirs did (after
        an encoder upgrade their bytes cannot be made again: those rows are found by task id only)."""
        def tagged(kind: str, digest: str) -> str:
            return digest if kind == IMAGE else f"{kind}:{digest}"

        def print_of(hashes: list[str]) -> str:
            return fingerprint(site=settings.site, model=request.spec.id, options=request.options(),
                               reference_hashes=hashes, variation=variation)

        uploaded = [tagged(r.kind, r.sha256) for r in references]
        own, earlier = print_of([tagged(r.kind, r.identity) for r in references]), print_of(uploaded)
        # the stored hashes stay the uploaded bytes': a task that cannot read them forgets those uploads
        return cls(own, settings, request, {**request.options(), "model": request.spec.id, "imageHashes": uploaded},
                   variation, batch, () if earlier == own else (earlier,))

    def claim(self, journal: Journal) -> Claim:
        return journal.claim((self.fingerprint, *self.earlier), self.settings.endpoint, site=self.settings.site,
                             model=self.request.model, request=self.stored, variation=self.variation,
                             batch=self.batch)


def _settle(run: _Run, key: _RequestKey) -> Claim:
    """Claim the request; while an identical live run holds it, wait on that run's row."""
    claim = key.claim(run.journal)
    while claim.action == "wait":
        claim = _wait_on(run, claim.row, key)
    if claim.action == "ambiguous":
        raise ambiguous_submit_error(claim.row, run.settings)
    return claim


def _wait_on(run: _Run, row: Row, key: _RequestKey) -> Claim:
    """Follow another run's row until it has the video, fails, or its owner is gone (then claim anew)."""
    run.say("queued", task_id=row.task_id or "", joined=True)
    while True:
        if time.monotonic() > run.deadline:
            raise WaitTimeoutError(f"Stopped waiting after {format_duration(run.timeout_s)} for another run of "
                                   "the same request.", task_id=row.task_id or "",
                                   advice=fetch_advice(row.task_id) if row.task_id else wording.advice("queue_later"))
        sleep_interruptibly(current_waits().claim_wait_s, run.should_cancel, row.task_id or "")
        row = run.journal.row(row.id) or row
        if row.has_video:
            return Claim("reuse", row)
        if row.state == AMBIGUOUS:
            return Claim("ambiguous", row)
        if row.state in facts.TERMINAL_FAILURE_STATES:
            raise _failure_of(row)
        if row.state == EXPIRED:
            raise TaskNotFoundError(f"Task {row.task_id} of the same request has expired on RunningHub.",
                                    code="1004", task_id=row.task_id or "")
        if row.state in (REJECTED, ABANDONED) or not row.owner_alive():
            claim = key.claim(run.journal)
            if claim.action != "wait" or claim.row.id != row.id:
                return claim


def _failure_of(row: Row) -> RunningHubError:
    if row.error_code:
        return error_codes.error_for_code(row.error_code, row.error_message or "", task_id=row.task_id or "",
                                          site=row.site, context=f"Task {row.task_id} of the same request failed: ")
    return TaskFailedError(f"Task {row.task_id} of the same request ended {row.state}.", task_id=row.task_id or "")


def ambiguous_submit_error(row: Row, settings: Settings, cause: str = "") -> AmbiguousSubmitError:
    """Why this request is not sent again, and the two ways out, with what a person needs to find the task."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.created_at))
    options = row.request or {}
    prompt = str(options.get("prompt", ""))
    prompt = prompt if len(prompt) <= 60 else prompt[:57] + "…"
    described = ", ".join(str(v) for v in (f"{options.get('duration', '?')} s", options.get("resolution"),
                                          options.get("aspectRatio")) if v)
    cause = cause or row.error_message or "no answer came back"
    return AmbiguousSubmitError(
        f"The submit of this request at {when} (local time) — prompt \"{prompt}\", {described} — "
        f"may have created a paid task: {cause.rstrip('.')}.", cause=cause, submitted_at=row.created_at,
        # the call records are on the site's console, also when RUNNINGHUB_BASE_URL points elsewhere (the tab's links too)
        advice=wording.advice("ambiguous", records=facts.call_records_hint(facts.SITES[settings.site]), when=when))


# --- steps ---------------------------------------------------------------------------------
@contextmanager
def _slot(run: _Run, *, already_running: bool = False) -> Iterator[None]:
    """The one rule for the account's concurrent-task slots: a new request holds one from before
    its upload until its task ends (downloaded, failed, or this run stopped waiting), waiting for
    a free one first; a task that already runs (resumed, or fetched by id) is counted for as
    long as it is waited for, without waiting, since it occupies a slot on RunningHub anyway."""
    from .slots import limiter_for

    settings = run.settings
    account = f"{settings.endpoint}|{hashlib.sha256(settings.api_key.encode()).hexdigest()[:16]}"
    limiter = limiter_for(account, lambda: run.client.queue_status().concurrent_limit)
    if already_running:
        with limiter.occupy():
            yield
        return
    with limiter.acquire(should_cancel=run.should_cancel, on_wait=lambda: run.say("slot")):
        yield


def _upload_all(run: _Run, references: list, *, use_cache: bool = True) -> dict[str, list[str]]:
    """Each reference uploaded once (or found in the cache); URLs grouped by reference kind."""
    from ..ledger.upload_cache import UploadCache

    cache = UploadCache()
    urls = []
    for i, ref in enumerate(references, 1):
        check_cancel(run.should_cancel)
        # runs sharing a reference (a batch's lines, two nodes) upload it once
        with one_at_a_time(("upload", ref.sha256, run.settings.endpoint), run.should_cancel):
            url = cache.get(ref.sha256, run.settings.endpoint) if use_cache else None
            if url is None:
                encoded = ref.encode()
                run.say("upload", bar_position("upload", (i - 1) / len(references)), index=i,
                        count=len(references), bytes=len(encoded.data))
                url = run.client.upload(encoded.data, encoded.filename, encoded.content_type, run.should_cancel,
                                        max_bytes=upload_limit(ref.kind))
                cache.put(ref.sha256, run.settings.endpoint, url)
        urls.append(url)
    return _group(list(zip(references, urls)))


def _sendable(run: _Run, request: VideoRequest, references: list, *, use_cache: bool = True) -> dict[str, list[str]]:
    """What the body's URL fields carry: the uploads, converted into assets when ``real_person`` is on."""
    from . import real_person

    urls = _upload_all(run, references, use_cache=use_cache)
    if not request.real_person:
        return urls
    return real_person.convert_all(run, references, urls,
                                   reupload=lambda ref: _upload_all(run, [ref], use_cache=False)[ref.kind][0])


@contextmanager
def _real_person_advice(request: VideoRequest, sent: dict[str, list[str]]) -> Iterator[None]:
    """A 1505 refusal (a real person in a reference) explained: the option, the references RunningHub
    named, what it said of the charge (run/real_person.py)."""
    from . import real_person

    try:
        yield
    except TaskFailedError as exc:
        if exc.code != "1505":
            raise
        raise real_person.explain_refusal(exc, request.spec, converted=request.real_person, sent=sent) from None


def _submit(run: _Run, holder: Holder, request: VideoRequest, body: dict, references: list) -> TaskStatus:
    """Submit, and journal the outcome, even if the user cancels while the submit is in flight:
    the submit finishes in the background (still holding the claim) and records its task id, so
    queuing again resumes it."""
    run.say("submit", bar_position("submit", 0))
    holder.add()

    def submit_and_record() -> TaskStatus:
        try:
            return _submit_and_record(run, holder.row_id, request, body, references)
        finally:
            holder.done()

    return run_interruptibly(submit_and_record, run.should_cancel)


def _submit_and_record(run: _Run, row_id: int, request: VideoRequest, body: dict, references: list) -> TaskStatus:
    """Submit once; if RunningHub rejects cached upload URLs, re-upload and submit again (no task was made)."""
    try:
        try:
            status = run.client.submit(body, run.should_cancel, path=request.endpoint.submit_path)
        except ApiError as exc:
            if exc.code not in error_codes.REUPLOAD_CODES:
                raise
            from ..ledger.upload_cache import UploadCache

            cache = UploadCache()
            for ref in references:
                cache.forget(ref.sha256, run.settings.endpoint)
            body = request.body(_sendable(run, request, references, use_cache=False))
            run.say("submit", bar_position("submit", 0), fresh_uploads=True)
            status = run.client.submit(body, run.should_cancel, path=request.endpoint.submit_path)
    except AmbiguousSubmitError as exc:
        run.journal.update(row_id, state=AMBIGUOUS, error_message=exc.cause)
        raise ambiguous_submit_error(run.journal.row(row_id), run.settings, exc.cause) from None
    except RunningHubError as exc:
        run.journal.update(row_id, state=REJECTED, error_code=exc.code, error_message=str(exc))
        raise
    with _paid(status.task_id):
        run.journal.set_task(row_id, status.task_id, status.status or "QUEUED")
    return status


@contextmanager
def _paid(task_id: str) -> Iterator[None]:
    """The journal failing once a task exists (a full state disk, a folder made unwritable): the error
    names the paid task and how to fetch it, never that nothing was charged."""
    try:
        yield
    except StateError as exc:
        raise StateError(f"{exc} Task {task_id} was submitted and is paid, but the journal could not follow it.",
                         task_id=task_id, advice=fetch_advice(task_id), code="state_paid",
                         details={"folder": exc.details.get("folder", "?")}) from None


def _finish(run: _Run, wanted: _Wanted, task_id: str, *, initial: TaskStatus | None = None,
            row: Row | None = None) -> tuple[TaskStatus, GenerationResult]:
    """Wait for the task, then download its video; the journal follows every state. Returns the
    task's last answer and the result.

    ``initial``: the submit's answer of a task this run made; without it the task is an earlier
    run's (resumed or fetched), and its journal ``row`` (if any) has the submit and start times
    that keep "elapsed" and "in queue" counting from the real moments.
    A task that fails 1013 (RunningHub could not fetch a reference, e.g. an upload URL that lapsed)
    forgets those references' cached uploads, so queuing again uploads them afresh."""
    with following(task_id), _paid(task_id):  # while it waits, the tab offers no second recovery of the task
        try:
            final = _wait(run, wanted, task_id, initial, row)
            run.say("download", bar_position("download", 0), task_id=task_id)
            path = run_interruptibly(lambda: run.client.download(
                final.video_url, folder=run.folder, task_id=task_id, should_cancel=run.should_cancel,
                on_progress=run.on_progress, max_bytes=run.setup.max_bytes, deadline=run.deadline),
                run.should_cancel, task_id)
        except RunningHubError as exc:
            if exc.code == "1004":
                run.journal.update(task_id, state=EXPIRED)
            elif exc.code == TaskNotFoundError.NOT_FOUND_YET:  # still the request's task: the next run asks again
                run.journal.update(task_id, error_code=TaskNotFoundError.NOT_FOUND_YET, error_message=str(exc))
            elif exc.code in error_codes.REUPLOAD_CODES and wanted.reference_hashes:
                from ..ledger.upload_cache import UploadCache

                cache = UploadCache()
                for sha256 in wanted.reference_hashes:
                    cache.forget(sha256, run.settings.endpoint)
            exc.task_id = exc.task_id or task_id
            raise
        run.journal.update(task_id, state="downloaded", video_path=str(path))
        frame = None
        if wanted.last_frame:  # RunningHub's image when it sent one, else decoded from the MP4
            frame = last_frame.save(path, run.client.session, final.image_url, run.should_cancel)
    run.say("done", bar_position("done", 1), task_id, file=path.name)
    return final, GenerationResult(task_id, path, run.settings.site, False, time.monotonic() - run.started,
                                   resumed=initial is None, cost=final.cost, last_frame_path=frame)


def _wait(run: _Run, wanted: _Wanted, task_id: str, initial: TaskStatus | None, row: Row | None) -> TaskStatus:
    """Wait for the task to succeed (polling.py), writing each new state into the journal.

    ``wanted`` paces the wait (the journal's estimate) and prices a task this run made."""
    from .estimate import from_journal

    unfound = row is not None and row.error_code == TaskNotFoundError.NOT_FOUND_YET

    def on_state(status: TaskStatus, timing: Timing) -> None:
        fields: dict = {"state": status.status or "unknown"}
        if unfound:  # found at last: the mark an earlier wait left goes
            fields.update(error_code=None, error_message=None)
        if status.status == "RUNNING" and timing.running_at is not None:
            fields["running_at"] = timing.running_at
        if status.status == facts.SUCCESS_STATE:
            fields.update(result_url=status.video_url, cost=status.cost, run_seconds=timing.run_seconds)
        elif status.error_code:  # the journal stamps finished_at on finished states itself
            fields.update(error_code=status.error_code, error_message=status.failure_text())
        run.journal.update(task_id, **fields)

    to_monotonic = time.monotonic() - time.time()
    estimate = from_journal(run.journal, run.settings.endpoint, wanted.model.id, wanted.resolution, wanted.duration)
    task = TaskWait(task_id, estimate, initial=initial,
                    submitted_at=row.submitted_at + to_monotonic if row is not None and row.submitted_at else None,
                    running_since=row.running_at + to_monotonic if row is not None and row.running_at else None,
                    price=None if initial is None else wanted.price, unfound=unfound,
                    made=row is not None and bool(row.fingerprint))  # a fetch's own row proves no submit
    return wait_for_task(run.client, task, timeout_s=max(0.0, run.deadline - time.monotonic()),
                         on_progress=run.on_progress, should_cancel=run.should_cancel, on_state=on_state)
