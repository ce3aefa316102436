"""Declarative bits of ComfyUI's V3 ``io`` module with the same names and keyword arguments."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class FolderType(str, Enum):
    input = "input"
    output = "output"
    temp = "temp"


class NumberDisplay(str, Enum):
    number = "number"
    slider = "slider"


class Hidden(str, Enum):
    unique_id = "UNIQUE_ID"
    prompt = "PROMPT"
    extra_pnginfo = "EXTRA_PNGINFO"
    dynprompt = "DYNPROMPT"


class HiddenHolder:
    def __init__(self, unique_id: str | None = None, **kwargs: Any) -> None:
        self.unique_id = unique_id
        self.__dict__.update(kwargs)

    def __getattr__(self, key: str) -> Any:
        return None


class _Input:
    def __init__(self, id: str, display_name: str | None = None, optional: bool = False,
                 tooltip: str | None = None, lazy: bool | None = None, default: Any = None,
                 socketless: bool | None = None, force_input: bool | None = None, **extra: Any) -> None:
        self.id, self.display_name, self.optional, self.tooltip = id, display_name, optional, tooltip
        self.lazy, self.default, self.socketless, self.force_input = lazy, default, socketless, force_input
        self.__dict__.update(extra)


class _Output:
    def __init__(self, id: str | None = None, display_name: str | None = None, tooltip: str | None = None,
                 is_output_list: bool = False) -> None:
        self.id, self.display_name, self.tooltip, self.is_output_list = id, display_name, tooltip, is_output_list


def _type(io_type: str) -> type:
    return type(io_type.title(), (), {
        "io_type": io_type,
        "Input": type("Input", (_Input,), {"io_type": io_type}),
        "Output": type("Output", (_Output,), {"io_type": io_type}),
    })


Boolean = _type("BOOLEAN")
Int = _type("INT")
Float = _type("FLOAT")
String = _type("STRING")
Combo = _type("COMBO")
Image = _type("IMAGE")
Video = _type("VIDEO")
Audio = _type("AUDIO")


@dataclass
class Schema:
    node_id: str
    display_name: str | None = None
    category: str = "sd"
    inputs: list | None = None
    outputs: list | None = None
    hidden: list | None = None
    description: str = ""
    is_input_list: bool = False
    is_output_node: bool = False
    is_deprecated: bool = False
    is_experimental: bool = False
    is_api_node: bool = False
    not_idempotent: bool = False
    enable_expand: bool = False

    def validate(self) -> None:
        """ComfyUI's rule: input and output ids unique, also across inputs and outputs."""
        ids = [i.id for i in self.inputs or []] + [o.id for o in self.outputs or []]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"Ids must be unique, but {duplicates} are not.")


class ComfyNode:
    hidden: HiddenHolder = HiddenHolder()

    @classmethod
    def define_schema(cls) -> Schema:
        raise NotImplementedError

    @classmethod
    def execute(cls, **kwargs: Any) -> "NodeOutput":
        raise NotImplementedError


class NodeOutput:
    def __init__(self, *args: Any, ui: Any = None, expand: dict | None = None,
                 block_execution: str | None = None) -> None:
        self.args, self.ui, self.expand, self.block_execution = args, ui, expand, block_execution

    @property
    def result(self) -> tuple | None:
        return self.args or None

    def __getitem__(self, index: int) -> Any:
        return self.args[index]
