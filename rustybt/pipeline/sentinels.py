"""Sentinel values of the pipeline API."""

from __future__ import annotations

__all__ = ["NotSpecified", "NotSpecifiedType"]


class NotSpecifiedType:
    """Type of :data:`NotSpecified`: "no value was given" where ``None`` is a meaningful value."""

    _instance: NotSpecifiedType | None = None

    def __new__(cls) -> NotSpecifiedType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NotSpecified"

    def __reduce__(self):
        return (NotSpecifiedType, ())

    def __bool__(self) -> bool:
        return False


NotSpecified = NotSpecifiedType()
