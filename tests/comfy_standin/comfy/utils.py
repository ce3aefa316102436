"""ComfyUI's progress bar, as in ``comfy/utils.py``: every update goes through the global hook.

ComfyUI's ``main.py`` installs a hook that first calls ``throw_exception_if_processing_interrupted``
(clearing the Cancel flag and raising) and then sends the bar to the browser; :func:`install_hook`
does the same and records what would be sent.
"""
from . import model_management

PROGRESS_BAR_HOOK = None


def set_progress_bar_global_hook(function):
    global PROGRESS_BAR_HOOK
    PROGRESS_BAR_HOOK = function


def install_hook(sent: list) -> None:
    """ComfyUI's hook: raise on Cancel (clearing the flag), else record (node_id, value, total)."""
    def hook(value, total, preview_image, prompt_id=None, node_id=None):
        model_management.throw_exception_if_processing_interrupted()
        sent.append((node_id, value, total))

    set_progress_bar_global_hook(hook)


class ProgressBar:
    def __init__(self, total, node_id=None):
        self.total = total
        self.current = 0
        self.hook = PROGRESS_BAR_HOOK
        self.node_id = node_id

    def update_absolute(self, value, total=None, preview=None):
        if total is not None:
            self.total = total
        if value > self.total:
            value = self.total
        self.current = value
        if self.hook is not None:
            self.hook(self.current, self.total, preview, node_id=self.node_id)

    def update(self, value):
        self.update_absolute(self.current + value)
