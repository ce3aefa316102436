"""ComfyUI's interrupt flag, as in the newest ``comfy/model_management.py``.

The interruption is a ``BaseException`` there (an ``Exception`` up to 0.3.6x), so ``except Exception``
does not catch it; raising it clears the flag.
"""
import threading


class InterruptProcessingException(BaseException):
    pass


interrupt_processing_mutex = threading.RLock()
interrupt_processing = False


def interrupt_current_processing(value=True):
    global interrupt_processing
    with interrupt_processing_mutex:
        interrupt_processing = value


def processing_interrupted():
    with interrupt_processing_mutex:
        return interrupt_processing


def throw_exception_if_processing_interrupted():
    global interrupt_processing
    with interrupt_processing_mutex:
        if interrupt_processing:
            interrupt_processing = False
            raise InterruptProcessingException()
