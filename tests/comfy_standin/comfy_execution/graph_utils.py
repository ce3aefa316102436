"""Stand-in for ``comfy_execution.graph_utils.ExecutionBlocker`` (ComfyUI 0.3.64): a value a node
returns for an output; the nodes that use it are blocked (silently when ``message`` is None)."""
from __future__ import annotations


class ExecutionBlocker:
    def __init__(self, message):
        self.message = message
