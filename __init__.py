"""ComfyUI entry point of the RunningHub video pack: a registry only.

Loads without a key and without network; the client (requests, av, numpy) is imported when a
node first runs.
"""
WEB_DIRECTORY = "./js"

if __package__:  # ComfyUI (and tools that load it the same way) import the pack folder as a package
    from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
else:  # read as a lone file, e.g. by pytest in a clone whose folder name is no Python name
    NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = {}, {}

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS", "WEB_DIRECTORY"]
