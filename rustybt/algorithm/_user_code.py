"""Errors raised by the user's code: re-raised as :class:`~rustybt.errors.AlgorithmError` naming the phase, the
bar and the user's file and line (rustybt's own errors keep their type and get that as a note)."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import Any

from rustybt.errors import AlgorithmError, RustyBTError

__all__ = ["UserCodeMixin"]

_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class UserCodeMixin:
    """``_call(phase, fn, *args)``: every call into the user's code goes through it."""

    def _call(self, phase: str, fn: Callable, *args: Any) -> Any:
        try:
            return fn(*args)
        except RustyBTError as exc:
            where = _user_location(exc)
            exc.add_note(f"raised in {phase} at {self.get_datetime()}" + (f", {where}" if where else ""))
            raise
        except Exception as exc:
            where = _user_location(exc)
            dt = self.get_datetime()
            raise AlgorithmError(
                f"{type(exc).__name__}: {exc} -- in {phase} at bar {dt}" + (f", {where}" if where else ""),
                dt=dt,
                location=where,
            ) from exc


def _user_location(exc: BaseException) -> str | None:
    """``file:line in function`` of the innermost frame of the user's code in ``exc``'s traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    user = [
        f
        for f in frames
        if not os.path.abspath(f.filename).startswith(_PKG_DIR)
        and "site-packages" not in f.filename
        and not f.filename.startswith(sys.prefix)
    ]
    if not user:
        return None
    f = user[-1]
    line = f" -> {f.line.strip()}" if f.line else ""
    return f"{f.filename}:{f.lineno} in {f.name}{line}"
