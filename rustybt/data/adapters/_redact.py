"""No credential in any log record: one logging filter over our loggers and those of the client libraries.

Client libraries log what they send: ccxt logs every request's headers at DEBUG (Binance's ``X-MBX-APIKEY``
among them), httpx logs every URL at INFO (Alpha Vantage's ``apikey=`` among them), urllib3 logs URLs at DEBUG.
:func:`protect` adds an adapter's credentials to one :class:`SecretFilter` and attaches it to every logger of
:data:`LOGGERS` and their children (a logger's filter does not see records of its children, so each gets it),
so any record of those loggers, at any level, has every known credential replaced by ``***`` before a handler
sees it: the message, its arguments, and the formatted traceback. A logger created after the last request
(a library imported later) is covered too: the log record factory passes records of :data:`LOGGERS` through
the same filter when they are made.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

__all__ = ["LOGGERS", "SECRET_FILTER", "SecretFilter", "protect"]

#: Logger names (and their children) of RustyBT and of the client libraries the adapters drive.
LOGGERS: tuple[str, ...] = (
    "rustybt",
    "ccxt",
    "yfinance",
    "urllib3",
    "requests",
    "httpx",
    "httpcore",
    "aiohttp",
    "curl_cffi",
    "alpaca",
    "massive",
    "polygon",
    "RESTClient",  # the massive / polygon SDK's logger
    "websockets",
    "asyncio",
)


class SecretFilter(logging.Filter):
    """Replaces every registered secret by ``***`` in the records it sees; never drops a record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str | None]) -> None:
        """Register credentials (strings shorter than 4 characters are ignored: they would mangle text)."""
        fresh = {str(s) for s in secrets if s and len(str(s)) >= 4}
        if not fresh <= self._secrets:
            with self._lock:
                self._secrets = self._secrets | fresh

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: scrub what is there
            message = f"{record.msg} {record.args}"
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


SECRET_FILTER = SecretFilter()
_attached: set[str] = set()
_attach_lock = threading.Lock()
_known_loggers = -1


def _ours(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in LOGGERS)


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_rustybt_redacts", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if _ours(record.name):
            SECRET_FILTER.filter(record)
        return record

    factory._rustybt_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def protect(secrets: Iterable[str | None]) -> None:
    """Register ``secrets`` and make sure every logger of :data:`LOGGERS` and their children filters them.

    Cheap to call before every request: loggers are scanned again only when new ones were created.
    """
    global _known_loggers
    SECRET_FILTER.add(secrets)
    _install_record_factory()
    manager = logging.Logger.manager
    if len(manager.loggerDict) == _known_loggers:
        return
    with _attach_lock:
        names = [n for n in list(manager.loggerDict) if n not in _attached]
        for name in [*LOGGERS, *names]:
            if name in _attached or not _ours(name):
                continue
            logger = logging.getLogger(name)
            if SECRET_FILTER not in logger.filters:
                logger.addFilter(SECRET_FILTER)
            _attached.add(name)
        _known_loggers = len(manager.loggerDict)
