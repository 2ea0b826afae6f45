"""Adapter parameters as frozen dataclasses on one base (nautilus_trader's config pattern).

An adapter's constructor keywords are the fields of its settings class, so the same names mean the same thing in
every adapter (``page_size`` bars per request, ``timeout`` seconds, ``rate_limit`` requests per second...) and
:meth:`~rustybt.data.adapters.base.BarAdapter.to_config` is mechanical: the settings as a JSON-safe dict, which a
registered bundle stores and :meth:`~rustybt.data.adapters.base.BarAdapter.from_config` reads back. Settings
never hold credentials: those come from the environment or the config file when a request is made, so a
settings object can be logged, shown and stored.

Old parameter names keep working through :attr:`AdapterSettings.aliases` (``limit`` -> ``page_size``,
``timeout_ms`` -> ``timeout``), for code and for bundles registered before the rename.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from rustybt.errors import InvalidArgument

__all__ = ["AdapterSettings", "NetworkSettings"]


@dataclass(frozen=True, kw_only=True)
class AdapterSettings:
    """Base of every adapter's settings: a frozen, keyword-only dataclass of JSON-safe values."""

    #: Former parameter name -> its current name, or (current name, conversion of the value).
    aliases: ClassVar[Mapping[str, str | tuple[str, Callable[[Any], Any]]]] = {}

    @classmethod
    def create(cls, owner: str, params: Mapping[str, Any]) -> Self:
        """Settings from constructor keywords or stored parameters; former names are renamed.

        Raises
        ------
        InvalidArgument
            An unknown parameter (the message lists the known ones), or a former name given with its new name.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in params.items():
            if key in cls.aliases:
                target = cls.aliases[key]
                new, convert = (target, None) if isinstance(target, str) else target
                if new in params:
                    raise InvalidArgument(f"{owner}: pass {new}= only ({key}= is its former name)")
                values[new] = value if value is None or convert is None else convert(value)
            elif key in known:
                values[key] = value
            else:
                raise InvalidArgument(f"{owner}: unknown parameter {key!r}; known: {', '.join(sorted(known))}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-safe (what a registered bundle stores)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        json.dumps(out)  # a field that is not JSON-safe is a bug in the settings class: fail loudly
        return out


@dataclass(frozen=True, kw_only=True)
class NetworkSettings(AdapterSettings):
    """What every network adapter takes.

    Attributes
    ----------
    rate_limit
        Requests per second; None: ``adapters.<name>.rate_limit`` from the config file, else the adapter's default.
    max_retries
        Attempts for a transient error or a rate limit, including the first.
    concurrency
        Symbols fetched at once (each request still waits for the rate limiter).
    backoff_base, backoff_max
        Exponential backoff with full jitter between retries, in seconds.
    timeout
        Seconds to wait for one response.
    requests_per_minute, requests_per_day
        Request quotas (None: no quota); when not given, ``adapters.<name>.requests_per_minute`` / ``_day`` from
        the config file, else the vendor's free-plan quota.
    """

    rate_limit: float | None = None
    max_retries: int = 5
    concurrency: int = 8
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    timeout: float | None = 30.0
    requests_per_minute: int | None = None
    requests_per_day: int | None = None
