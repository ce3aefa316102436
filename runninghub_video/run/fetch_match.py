"""Whether a task fetched by id is the task of the one submit that got no answer (an *ambiguous* submit).

Such a submit refuses its request until its task is known (journal.py). A person finds the task in
the site's call records and fetches it; when the fetched task is that submit's, the submit's row takes
it (``Journal.attach_task``) and queuing the request again reuses the video. A wrong match would hand
that request someone else's video, so a fetch is taken as the answer only when exactly one submit of
the endpoint waits for one and nothing that can be checked disagrees; otherwise the fetch stays a
plain fetch and its :class:`Note` tells the person how to unblock the request themselves (the tab's
"Recover this id", which attaches without these checks: their own choice).

What can be checked. A query answer does not say when a task was made nor what it was asked for
(no creation time, model or body in the answer [U]; task ids are digits whose ordering is not
documented [U]), so these are plausibility checks, not proof:
- this journal knew the task before the submit was sent (fetched earlier): not its task;
- ``taskCostTime`` [S] is a span inside the task's life: longer than the time since the submit means
  the task was made before it;
- the video itself: its length against the asked duration, its shape against an asked ratio;
- a last-frame image in the results exactly when the request asked for one (``returnLastFrame``).
Where the answer or the file does not tell, that check is skipped, never guessed.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ValidationError
from ..ledger.journal import AMBIGUOUS_BLOCK_S, Journal, Row
from ..remote import models
from ..remote.wire import TaskStatus
from ..words import wording

log = logging.getLogger("RunningHub")

# taskCostTime comes rounded to whole seconds [S]; a span this much longer than the time since the
# submit is needed before it counts as "made before"
COST_TIME_SLACK_S = 5.0
DURATION_SLACK_S = 0.5  # a 5 s request gives a 5.0 s video [S]; whole seconds apart are told apart
RATIO_SLACK = 0.08  # the nearest named ratios (4:3 and 1:1, 16:9 and 4:3) are 33 % apart


@dataclass(frozen=True)
class Note:
    """What a fetch found for the unanswered submit(s) of its endpoint, as a line of ``wording``."""
    key: str
    values: dict[str, Any] = field(default_factory=dict)
    why: tuple[str, dict[str, Any]] | None = None  # fetch_not_answer: the check that disagreed

    def text(self, lang: str = wording.EN) -> str:
        values = dict(self.values)
        if self.why is not None:
            values["why"] = wording.say(self.why[0], lang, **self.why[1])
        return wording.say(self.key, lang, **values)


def settle(journal: Journal, endpoint: str, task_id: str, video: Path, *, final: TaskStatus | None,
           known_since: float | None) -> Note | None:
    """After a plain fetch of ``task_id`` saved ``video``: attach it to the one unanswered submit of
    ``endpoint`` when the checks agree. ``final``: the task's last answer (None: a saved video, not
    asked again); ``known_since``: when the journal first had this task (None: new to it)."""
    waiting = journal.unanswered_submits(endpoint)
    if not waiting:
        return None
    if len(waiting) > 1:
        log.warning("RunningHub: task %s was not taken as the answer of any of %d unanswered submits.",
                    task_id, len(waiting))
        return Note("fetch_several", {"count": len(waiting)})
    submit = waiting[0]
    when = _local(submit.created_at)
    why = disagreement(submit, video, final=final, known_since=known_since)
    if why is None:
        try:
            journal.attach_task(submit.id, task_id)
        except ValidationError as exc:  # the id is another request's task (journaled since)
            log.warning("RunningHub: %s", exc)
            return None
        log.info("RunningHub: task %s is taken as the answer of the unanswered submit of %s.", task_id, when)
        return Note("fetch_answers", {"when": when})
    note = Note("fetch_not_answer", {"when": when, "until": _local(submit.created_at + AMBIGUOUS_BLOCK_S)}, why)
    log.warning("RunningHub: task %s %s.", task_id, note.text())
    return note


def disagreement(submit: Row, video: Path, *, final: TaskStatus | None,
                 known_since: float | None, now: float | None = None) -> tuple[str, dict] | None:
    """The first check that says the fetched task is not ``submit``'s (a ``wording`` key and its
    values), or None when none does (see the module doc for what is checked and why)."""
    now = time.time() if now is None else now
    if known_since is not None and known_since < submit.created_at:
        return "why_known_before", {}
    # made at or after the submit and finished by now, so it lived at most now - submit time
    if final is not None and final.cost_time_s is not None \
            and final.cost_time_s > now - submit.created_at + COST_TIME_SLACK_S:
        return "why_ran_before", {"took": wording.format_duration(final.cost_time_s)}
    asked = submit.request
    if final is not None:
        spec = models.MODELS.get(str(asked.get("model") or ""))
        wants_frame = bool(spec is not None and spec.last_frame_wire and asked.get(spec.last_frame_wire))
        if wants_frame and not final.image_url:
            return "why_last_frame", {}
        if final.image_url and not wants_frame:
            return "why_extra_frame", {}
    return _shape_disagreement(asked, video)


def _shape_disagreement(asked: dict, video: Path) -> tuple[str, dict] | None:
    """The video's length and shape against the asked duration and ratio (when a number and a named
    ratio were asked; "auto" and "adaptive" leave the model free). A file that cannot be read
    leaves both unchecked."""
    from ..media.decode import probe_video

    try:
        width, height, fps, frames = probe_video(video)
    except Exception as exc:  # an unreadable file proves nothing either way
        log.info("RunningHub: %s could not be measured (%s); its length and shape are not checked.", video.name, exc)
        return None
    seconds = _number(asked.get("duration"))
    if seconds and seconds > 0 and fps > 0 and frames > 0 and abs(frames / fps - seconds) > DURATION_SLACK_S:
        return "why_duration", {"got": f"{frames / fps:.1f}", "asked": f"{seconds:g}"}
    ratio = str(asked.get("aspectRatio") or asked.get("ratio") or "")
    w_part, _, h_part = ratio.partition(":")
    wanted = _number(w_part) / _number(h_part) if _number(w_part) and _number(h_part) else None
    if wanted and width > 0 and height > 0 and abs(math.log(width / height / wanted)) > math.log1p(RATIO_SLACK):
        return "why_ratio", {"got": f"{width}×{height}", "asked": ratio}
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _local(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))
