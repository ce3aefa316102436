"""Whether a process still runs on this machine, told the same way on POSIX and Windows.

The journal asks it of a claim's owner, the download of a ``.part`` file's writer.
"""
from __future__ import annotations

import os
import sys


def pid_exists(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (True when it cannot be told)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_pid_exists(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence check only (POSIX; on Windows os.kill would terminate)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists but belongs to someone else
        return True
    return True


def _windows_pid_exists(pid: int) -> bool:
    import ctypes

    PROCESS_QUERY_LIMITED_INFORMATION, STILL_ACTIVE, ERROR_INVALID_PARAMETER = 0x1000, 259, 87
    try:
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return ctypes.GetLastError() != ERROR_INVALID_PARAMETER  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    except Exception:  # cannot tell: the caller's other evidence (a heartbeat, an age) decides
        return True
