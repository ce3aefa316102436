"""A node run over a list (a batch): what became of each item, and the one status line they share.

ComfyUI maps a node over list inputs (RunningHub Prompt List) with one concurrent call per item;
:mod:`.comfy_bridge` finds a call's prompt and list index and shows the group's line and bar.
Nothing here touches ComfyUI.
"""
from __future__ import annotations

import threading
from typing import Any

from ..runninghub_video.core import errors, money
from ..runninghub_video.words import wording

ENDS = ("done", "error", "cancelled")  # how an item's run ended


class BatchGroup:
    """The calls of one node in one prompt: one status line and one bar for all its items."""

    def __init__(self, prompt_id: str, node_id: str) -> None:
        self.prompt_id, self.node_id = prompt_id, node_id
        self.items: dict[int, dict] = {}  # list index -> {"fraction", "end": "", "running", "cost", "failure"?}
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

    def update(self, index: int, lang: str, *, fraction: float | None = None, end: str = "", cost: Any = None,
               running: bool | None = None, failure: str = "") -> tuple[str, str, float]:
        """Record an item's move (``end``: one of :data:`ENDS`, ``cost``: its charge; ``failure``: why
        it gave no video, as it is skipped); returns the group's :meth:`line`."""
        global _skipped_items
        with self._lock:
            item = self.items[index]
            if failure:
                item["failure"] = failure
                _skipped_items += 1
            if fraction is not None:
                item["fraction"] = max(item["fraction"], fraction)
            if running is not None:
                item["running"] = running
            if end:
                item["end"], item["cost"] = end, cost
                item["fraction"] = 1.0
        return self.line(lang)

    def line(self, lang: str) -> tuple[str, str, float]:
        """The group's status line, its kind (progress; done or error once every item has ended, then
        naming each failed one) and the bar position."""
        with self._lock:
            items = list(self.items.values())
            failures = [(n + 1, self.items[n]["failure"]) for n in sorted(self.items) if self.items[n].get("failure")]
        saved = sum(1 for i in items if i["end"] == "done")
        failed = sum(1 for i in items if i["end"] in ("error", "cancelled"))
        running = sum(1 for i in items if i["running"] and not i["end"])
        costs = [i["cost"] for i in items if i["cost"] is not None]
        spent = money.total(costs, costs[0].currency) if costs else None
        line = wording.batch_line(len(items), saved, running, failed, spent, lang)
        if not all(i["end"] for i in items):
            return line, "progress", sum(i["fraction"] for i in items) / len(items)
        line += "".join(wording.say("batch_item_failed", lang, item=n, why=why) for n, why in failures)
        return line, "error" if failed else "done", 1.0

_groups: dict[tuple[str, str], BatchGroup] = {}
_groups_lock = threading.Lock()
_skipped_items = 0  # batch items that failed and were skipped, in this ComfyUI process


def join(prompt_id: str, node_id: str, index: int) -> BatchGroup:
    """The group of this node in this prompt, with item ``index`` in it. Groups of earlier prompts
    are dropped as a new prompt starts."""
    with _groups_lock:
        for key in [k for k in _groups if k[0] != prompt_id]:
            del _groups[key]
        group = _groups.setdefault((prompt_id, node_id), BatchGroup(prompt_id, node_id))
    group.join(index)
    return group


def failure(prompt_id: str, node_id: str, index: int) -> str:
    """Why item ``index`` of node ``node_id`` gave no video in this prompt ("" when not known)."""
    group = _groups.get((prompt_id, node_id))
    return group.failure(index) if group is not None else ""


def charged(exc: errors.RunningHubError, site: str) -> bool | None:
    """Whether RunningHub charged for a failed run: not when nothing was submitted; unknown after an
    ambiguous submit; else as the task's journal row says."""
    if isinstance(exc, errors.AmbiguousSubmitError):
        return None
    if not exc.task_id:
        return False
    from ..runninghub_video.ledger.journal import Journal
    from ..runninghub_video.run import batch

    return batch.charged(Journal().get(str(exc.task_id), site or None))


def skipped_items() -> int:
    """How many batch items have failed without failing their node so far: the video nodes'
    fingerprint, so that queuing again after such a batch runs the node again (ComfyUI would
    otherwise reuse its cached outputs, failed items included) and pays only for the failed ones."""
    return _skipped_items
