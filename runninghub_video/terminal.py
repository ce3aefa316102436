"""Progress on a terminal: what the CLI and the demo show while a video is made (in English)."""
from __future__ import annotations

import shutil
import sys

from .core.events import ProgressEvent
from .words.wording import SEP, WAITING_FIELDS, describe, format_duration, waiting_parts


class TerminalProgress:
    """One self-rewriting status line on stderr (plain lines when not a terminal). It keeps the last
    task id, so an interrupted command can say which task keeps running."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr  # looked up per run: sys.stderr may be replaced after import
        self.tty = self.stream.isatty()
        self.last = ""
        self.task_id = ""
        self.phase = ""

    def __call__(self, event: ProgressEvent) -> None:
        self.task_id, self.phase = event.task_id or self.task_id, event.phase
        if self.tty:
            cols = shutil.get_terminal_size((100, 20)).columns
            line = fit_line(event, cols - 1)
            self.stream.write("\r" + line.ljust(cols - 1))
        else:
            line = _bar(event.fraction) + f"{event.phase:<8} {describe(event)}"
            if line != self.last and event.phase not in ("download",):
                self.stream.write(line + "\n")
        self.stream.flush()
        self.last = line

    def close(self) -> None:
        if self.tty and self.last:
            self.stream.write("\n")
            self.stream.flush()
        self.last = ""


def _bar(fraction: float | None, width: int = 24) -> str:
    if fraction is None:
        return ""
    filled = int(width * max(0.0, min(1.0, fraction)))
    return "[" + "#" * filled + "-" * (width - filled) + "] "


def fit_line(event: ProgressEvent, width: int) -> str:
    """The status line in at most ``width`` columns: the bar and the phase's name (the waiting
    line's state already says it) go first, then the waiting line's least useful fields
    (wording.WAITING_FIELDS, kept from the front); only what still does not fit is cut."""
    if event.phase not in ("queued", "running") or (event.extra or {}).get("resumed") \
            or (event.extra or {}).get("joined"):
        candidates = [_bar(event.fraction) + f"{event.phase:<8} {describe(event)}",
                      f"{event.phase:<8} {describe(event)}", describe(event)]
    else:
        parts = waiting_parts(event)
        words = SEP.join(text for _, text in parts)
        candidates = [_bar(event.fraction) + words, _bar(event.fraction, 10) + words, words]
        for field in reversed(WAITING_FIELDS):
            parts = [p for p in parts if p[0] != field] if len(parts) > 2 else parts
            candidates.append(SEP.join(text for _, text in parts))
    for line in candidates:
        if len(line) <= width:
            return line
    return candidates[-1][: max(0, width - 1)] + "…"


class BatchTerminalProgress:
    """A batch's progress on stderr: one self-rewriting bar on a terminal (done / running / queued /
    failed, spend so far, time left), else one plain line each time an item changes state."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.seen: dict[int, str] = {}
        self.drawn = False
        self.said_interrupted = False

    def __call__(self, report) -> None:
        if report.interrupted and not self.said_interrupted:
            self.said_interrupted = True
            self.stream.write("\ninterrupted: stopping (tasks already submitted keep running; run the same "
                              "command again to pick them up)\n")
        if self.tty:
            self._bar(report)
        else:
            self._lines(report)
        self.stream.flush()

    def _bar(self, report) -> None:
        from .core.money import format_money

        total = len(report.outcomes) or 1
        saved = report.count("saved")
        failed = report.count("failed", "ambiguous", "not started")
        running = report.count("starting", "queued", "running", "downloading")
        waiting = report.count("waiting")
        width = 24
        filled = int(width * (saved + failed) / total)
        eta = report.eta_s()
        left = "" if eta is None else f" · ~{format_duration(eta)} left"
        line = (f"[{'#' * filled}{'-' * (width - filled)}] {saved}/{total} saved · {running} running · "
                f"{waiting} queued · {failed} failed · {format_money(report.spent())} spent{left}")
        cols = shutil.get_terminal_size((100, 20)).columns
        self.stream.write("\r" + line[: cols - 1].ljust(cols - 1))
        self.drawn = True

    def _lines(self, report) -> None:

        for i, outcome in enumerate(report.outcomes):
            if self.seen.get(i) == outcome.state or outcome.state == "waiting":
                continue
            self.seen[i] = outcome.state
            detail = _detail(outcome)
            self.stream.write(f"{outcome.item.label}: {outcome.state}{detail}\n")

    def close(self) -> None:
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _detail(outcome) -> str:
    """What a plain progress line adds to an item's new state."""
    from .core.money import format_money

    if outcome.state == "saved":
        return f" {format_money(outcome.cost) + ' ' if outcome.cost else ''}{outcome.video_path}"
    if outcome.state in ("queued", "running") and outcome.task_id:
        return f" task {outcome.task_id}"
    return f": {outcome.error}" if outcome.error else ""


def print_batch_summary(report, stream) -> None:
    """The end of a batch in words: each item that was not saved and why (and whether it was
    charged), then the totals and the contact sheet."""
    from .core.money import format_money

    data = report.as_json()
    for item in data["items"]:
        if item["state"] == "saved":
            continue
        charged = {True: "charged", False: "not charged", None: "charge unknown"}[item["charged"]]
        where = f"line {item['line']}" + (f" · variation {item['variation']}" if item["variation"] is not None else "")
        task = f" (task {item['task_id']})" if item["task_id"] else ""
        stream.write(f"{where}: {item['state']}{task}, {charged}: {item['error']}\n")
    totals = data["totals"]
    budget = f" of a {format_money(report.budget)} budget" if report.budget is not None else ""
    stream.write(f"{totals['saved']} of {totals['items']} saved, {totals['failed']} failed, {totals['ambiguous']} "
                 f"ambiguous, {totals['not_started']} not started; spent {format_money(report.spent())}{budget} "
                 f"in {format_duration(totals['elapsed_s'])}\n")
    if report.contact_sheet is not None:
        stream.write(f"contact sheet: {report.contact_sheet}\n")
