"""Stand-in for how ComfyUI's executor calls a node with list inputs (``execution.py``,
``_async_map_node_over_list``, ``get_output_from_returns`` and ``merge_result_data`` in 0.3.64), as
strictly as ComfyUI:

- the node is called on a clone of its class that holds the run's hidden values (``unique_id``,
  and ``prompt`` when given);
- every input arrives as a list (a widget value is a list of one);
- a node whose schema says ``is_input_list`` is called once with the whole lists; otherwise once
  per index up to the longest list, a shorter list repeating its last item;
- an ``ExecutionBlocker`` among a call's inputs (for an ``is_input_list`` node: anywhere in any
  list) blocks that call: it is not made and every output of it is the blocker (ComfyUI reports a
  blocker with a message as an error and passes on a silent one);
- each call runs inside ``CurrentNodeContext(prompt_id, node_id, index)``; an async ``execute`` is
  started as a task and given one step (``asyncio.sleep(0)``) before the next is created, so the
  calls overlap (a call already done after that step gives its result, or raises, at once); then
  all the others are awaited to the end and the first exception among them is raised;
- a ``NodeOutput`` with ``block_execution`` gives blockers for all its outputs; one with no values
  gives none (its ``ui`` is still kept), so the outputs are shorter;
- outputs are merged: an output marked ``is_output_list`` is the concatenation of the calls' lists
  (a blocked call adds its blocker as one item), any other output the list of the calls' values;
  the calls' ``ui`` dicts are kept in order.
"""
from __future__ import annotations

import asyncio
import inspect
from typing import Any

from comfy_api.latest import io
from comfy_execution.graph_utils import ExecutionBlocker
from comfy_execution.utils import CurrentNodeContext


def _blocker_in(inputs: dict, input_is_list: bool) -> ExecutionBlocker | None:
    for value in inputs.values():
        for v in (value if input_is_list else [value]):
            if isinstance(v, ExecutionBlocker):
                return v if v.message is None else ExecutionBlocker(None)
    return None


async def map_node_over_list(node: type[io.ComfyNode], inputs: dict[str, list], *, prompt_id: str = "p1",
                             node_id: str = "7", prompt: dict | None = None) -> tuple[list[list], list[dict]]:
    """Run ``node`` as ComfyUI runs it in a prompt: returns (outputs as lists, ui dicts).
    ``prompt``: the queued prompt (ComfyUI's API format), for nodes that ask for it as hidden."""
    schema = node.define_schema()
    # ComfyUI calls a clone of the class holding this run's hidden values (PREPARE_CLASS_CLONE)
    hidden = {io.Hidden.unique_id: node_id, io.Hidden.prompt: prompt if prompt is not None else {}}
    node = type(node.__name__, (node,), {"hidden": io.HiddenHolder.from_dict(hidden)})
    calls: list[Any] = []

    async def call(index: int | None, kwargs: dict) -> None:
        blocker = _blocker_in(kwargs, bool(schema.is_input_list))
        if blocker is not None:
            calls.append(blocker)
        elif inspect.iscoroutinefunction(node.execute):
            async def wrapped() -> Any:
                with CurrentNodeContext(prompt_id, node_id, index):
                    return await node.execute(**kwargs)
            task = asyncio.create_task(wrapped())
            await asyncio.sleep(0)
            calls.append(task.result() if task.done() else task)  # a call done at once raises here
        else:
            with CurrentNodeContext(prompt_id, node_id, index):
                calls.append(node.execute(**kwargs))

    if schema.is_input_list:
        await call(0, inputs)
    else:
        longest = max((len(v) for v in inputs.values()), default=0)
        for i in range(longest):
            await call(i, {k: v[i if len(v) > i else -1] for k, v in inputs.items()})
    tasks = [c for c in calls if isinstance(c, asyncio.Task)]
    if tasks:
        await asyncio.wait(tasks)
        for task in tasks:
            if task.exception() is not None:
                raise task.exception()
    returns = [c.result() if isinstance(c, asyncio.Task) else c for c in calls]
    results, uis = [], []
    for r in returns:
        if isinstance(r, ExecutionBlocker):
            results.append((r,) * len(schema.outputs))
            continue
        if r.ui is not None:
            uis.append(r.ui if isinstance(r.ui, dict) else r.ui.as_dict())
        if r.result is not None:
            results.append((ExecutionBlocker(r.block_execution),) * len(schema.outputs)
                           if r.block_execution is not None else r.result)
    outputs = []
    for n, output in enumerate(schema.outputs):
        if output.is_output_list:
            outputs.append([v for r in results for v in ([r[n]] if isinstance(r[n], ExecutionBlocker) else r[n])])
        else:
            outputs.append([r[n] for r in results])
    return outputs, uis


def full_type_name(klass: type) -> str:
    """How ComfyUI 0.3.64 names an exception's class in its error dialog (``execution.py``, as is)."""
    module = klass.__module__
    if module == 'builtins':
        return klass.__qualname__
    return module + '.' + klass.__qualname__


def execution_error(ex: Exception) -> dict[str, str]:
    """What ComfyUI 0.3.64 sends the browser about an exception a node raised (``execution_error``;
    its dialog shows ``exception_type: exception_message``): ``execute``'s ``except Exception``, with
    no tips (those are for CUDA out-of-memory only)."""
    return {"exception_type": full_type_name(type(ex)), "exception_message": "{}\n{}".format(ex, "")}
