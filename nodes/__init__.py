"""The pack's node table: one entry per node, names taken from each node's schema."""
from __future__ import annotations

from . import comfy_bridge, inbox_routes, routes
from .batch import PromptList, VideoGrid
from .frames import VideoToFrames
from .seedance import FetchTask, SeedanceReferenceToVideo
from .seedance2 import Seedance2ReferenceToVideo
from .seedance_modes import SeedanceFramesToVideo, SeedanceTextToVideo

NODES = (SeedanceReferenceToVideo, Seedance2ReferenceToVideo, SeedanceTextToVideo, SeedanceFramesToVideo, FetchTask,
         VideoToFrames, PromptList, VideoGrid)

NODE_CLASS_MAPPINGS = {}
NODE_DISPLAY_NAME_MAPPINGS = {}
for _node in NODES:
    _schema = _node.define_schema()
    NODE_CLASS_MAPPINGS[_schema.node_id] = _node
    NODE_DISPLAY_NAME_MAPPINGS[_schema.node_id] = _schema.display_name

comfy_bridge.use_comfy_user_dir()
routes.register()  # the settings panel's key / price routes; nothing outside ComfyUI
inbox_routes.register()  # the RunningHub sidebar tab's task inbox and budget

__all__ = ["NODES", "NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
