"""Stand-in for ``comfy_execution.utils``: the context of the node call ComfyUI is running.

As in ComfyUI 0.3.64 (``comfy_execution/utils.py``): a context variable holding
``ExecutionContext(prompt_id, node_id, list_index)``, set around each call of a node (one call per
list item when the node is mapped over list inputs) and read with ``get_executing_context()``.
"""
from __future__ import annotations

import contextvars
from typing import NamedTuple


class ExecutionContext(NamedTuple):
    prompt_id: str
    node_id: str
    list_index: int | None


current_executing_context: contextvars.ContextVar[ExecutionContext | None] = contextvars.ContextVar(
    "current_executing_context", default=None)


def get_executing_context() -> ExecutionContext | None:
    return current_executing_context.get(None)


class CurrentNodeContext:
    def __init__(self, prompt_id: str, node_id: str, list_index: int | None = None) -> None:
        self.context = ExecutionContext(prompt_id=prompt_id, node_id=node_id, list_index=list_index)
        self.token = None

    def __enter__(self) -> CurrentNodeContext:
        self.token = current_executing_context.set(self.context)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            current_executing_context.reset(self.token)
