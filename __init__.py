"""ComfyUI entry point of the RunningHub video pack: a registry only.

ComfyUI imports this folder as one package (named after its path, so any folder name works);
the nodes reach the client library ``runninghub_video`` relatively. Loads without a key and
without network; the heavy part of the client (requests, av, numpy) is imported when a node first
runs.
"""
from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

WEB_DIRECTORY = "./js"

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
