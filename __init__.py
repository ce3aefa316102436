"""ComfyUI entry point of the RunningHub video pack: a registry only.

Loads without a key and without network; the client (requests, av, numpy) is imported when a
node first runs.
"""
from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

WEB_DIRECTORY = "./js"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
