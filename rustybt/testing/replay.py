"""Offline replay for ccxt: recorded HTTP responses served to a real exchange object in place of its transport.

Only the socket is replaced: request building, signing, the exchange's ``handle_errors`` (its error mapping),
``parse_ohlcv`` and the debug log lines of ccxt's transport (request headers included) stay ccxt's own, so a
test exercises what a live request would. Used by the adapter tests and
``benchmarks/adapters.py``; handy for demos. ccxt is imported only when a response is served.
"""

from __future__ import annotations

import asyncio
import http
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["ReplayTransport", "Urllib3Replay"]


class ReplayTransport:
    """Serves recorded HTTP responses to a ccxt exchange in place of its transport (``exchange.fetch``).

    Everything above the transport is ccxt's own code: signing, request building, ``handle_errors`` (the
    exchange's error mapping), ``parse_ohlcv``. Used by the offline tests and the benchmark; handy for demos.

    Parameters
    ----------
    exchange
        A ``ccxt.async_support`` exchange object.
    interactions
        Recorded exchanges, served in order: ``{"request": {"method": "GET", "path": "/api/v3/klines",
        "params": {"symbol": "BTCUSDT", "startTime": "1704067200000"}}, "response": {"status": 200,
        "headers": {...}, "body": <JSON value or text>}}``. A request matches when method and path are equal and
        its query holds every recorded param. ``"times": n`` serves an interaction n times (0: forever). A
        response ``{"error": "RequestTimeout"}`` raises that ccxt error, as the transport does on a network
        failure.
    handler
        ``handler(method, path, params)`` -> a response dict (as above) or None; asked when no recorded
        interaction matches (generated responses).
    latency
        Seconds to wait before each response (``asyncio.sleep``).

    Attributes
    ----------
    requests
        Every request served: ``{"method", "url", "path", "params"}``.
    """

    def __init__(
        self,
        exchange: Any,
        interactions: Iterable[Mapping[str, Any]] = (),
        *,
        handler: Callable[[str, str, dict[str, str]], Mapping[str, Any] | None] | None = None,
        latency: float = 0.0,
    ) -> None:
        self.exchange = exchange
        self.interactions = [dict(i) for i in interactions]
        self._served = [0] * len(self.interactions)
        self.handler = handler
        self.latency = latency
        self.requests: list[dict[str, Any]] = []

    @classmethod
    def from_file(cls, exchange: Any, path: str | Path, **kwargs: Any) -> ReplayTransport:
        """Interactions from a JSON file: a list, or an object with an ``"interactions"`` list."""
        data = json.loads(Path(path).read_text())
        return cls(exchange, data["interactions"] if isinstance(data, dict) else data, **kwargs)

    def install(self) -> ReplayTransport:
        """Replace the exchange's transport with this replayer; returns self."""
        self.exchange.fetch = self.fetch
        return self

    def pending(self) -> list[Mapping[str, Any]]:
        """Recorded interactions never served (those with a fixed count)."""
        return [i for i, n in zip(self.interactions, self._served, strict=True) if n == 0 and i.get("times", 1) != 0]

    def _match(self, method: str, path: str, params: Mapping[str, str]) -> Mapping[str, Any] | None:
        for k, item in enumerate(self.interactions):
            request = item.get("request", {})
            if request.get("method", "GET").upper() != method.upper() or request.get("path") != path:
                continue
            if any(params.get(key) != str(value) for key, value in (request.get("params") or {}).items()):
                continue
            times = int(item.get("times", 1))
            if times and self._served[k] >= times:
                continue
            self._served[k] += 1
            return item["response"]
        return self.handler(method, path, dict(params)) if self.handler is not None else None

    async def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        """The transport: what ``Exchange.fetch`` does after the socket, with a recorded response."""
        import ccxt

        ex = self.exchange
        if self.latency:
            await asyncio.sleep(self.latency)
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.requests.append({"method": method, "url": url, "path": parts.path, "params": params})
        response = self._match(method, parts.path, params)
        if response is None:
            raise LookupError(f"ReplayTransport: no recorded response for {method} {url}")
        if "error" in response:
            raise getattr(ccxt, response["error"])(" ".join([ex.id, method, url]))
        status = int(response.get("status", 200))
        reason = response.get("reason") or http.HTTPStatus(status).phrase
        response_headers = dict(response.get("headers") or {"Content-Type": "application/json"})
        payload = response.get("body", "")
        text = payload if isinstance(payload, str) else json.dumps(payload)
        request_headers = ex.prepare_request_headers(headers)
        # what ccxt's own transport logs (request headers include API keys: adapters must redact them)
        ex.logger.debug("%s %s, Request: %s %s", method, url, headers, body)
        text = ex.on_rest_response(status, reason, url, method, response_headers, text, request_headers, body)
        json_response = ex.parse_json(text)
        if ex.enableLastHttpResponse:
            ex.last_http_response = text
        if ex.enableLastResponseHeaders:
            ex.last_response_headers = response_headers
        if ex.enableLastJsonResponse:
            ex.last_json_response = json_response
        ex.logger.debug("%s %s, Response: %s %s %s", method, url, status, response_headers, text)
        ex.handle_errors(status, reason, url, method, response_headers, text, json_response, request_headers, body)
        ex.handle_http_status_code(status, reason, url, method, text)
        return json_response if json_response is not None else text


class Urllib3Replay:
    """Serves recorded HTTP responses at urllib3's connection pool, for SDKs that use urllib3 directly (the
    Polygon / Massive SDK): the SDK, its pool manager, ``urlopen`` and retry handling all run; only the bytes
    on the wire are recorded. A context manager: the pool is patched inside the ``with`` block only.

    Parameters
    ----------
    interactions
        As for :class:`ReplayTransport`: ``{"request": {"method", "path", "params"}, "response": {"status",
        "headers", "body"}}`` served in order, ``"times": n`` (0: forever); a request matches when method and
        path are equal and its query holds every recorded param.
    handler
        ``handler(method, path, params)`` -> a response dict or None; asked when no interaction matches.

    Attributes
    ----------
    requests
        Every request served: ``{"method", "url", "path", "params", "headers"}``.
    """

    def __init__(
        self,
        interactions: Iterable[Mapping[str, Any]] = (),
        *,
        handler: Callable[[str, str, dict[str, str]], Mapping[str, Any] | None] | None = None,
    ) -> None:
        self._matcher = ReplayTransport(None, interactions, handler=handler)
        self.requests: list[dict[str, Any]] = []
        self._original: Any = None

    @classmethod
    def from_file(cls, path: str | Path) -> Urllib3Replay:
        """Interactions from a JSON file: a list, or an object with an ``"interactions"`` list."""
        data = json.loads(Path(path).read_text())
        return cls(data["interactions"] if isinstance(data, dict) else data)

    def pending(self) -> list[Mapping[str, Any]]:
        """Recorded interactions never served (those with a fixed count)."""
        return self._matcher.pending()

    def _serve(self, pool: Any, conn: Any, method: str, url: str, body: Any = None, headers: Any = None, **_: Any):
        import urllib3

        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.requests.append(
            {"method": method, "url": url, "path": parts.path, "params": params, "headers": dict(headers or {})}
        )
        response = self._matcher._match(method, parts.path, params)
        if response is None:
            raise LookupError(f"Urllib3Replay: no recorded response for {method} {url}")
        payload = response.get("body", "")
        data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        return urllib3.HTTPResponse(
            body=data.encode() if isinstance(data, str) else data,
            status=int(response.get("status", 200)),
            headers=dict(response.get("headers") or {"Content-Type": "application/json"}),
            preload_content=True,
            request_method=method,
            request_url=url,
        )

    def __enter__(self) -> Urllib3Replay:
        from urllib3.connectionpool import HTTPConnectionPool

        self._original = HTTPConnectionPool._make_request
        replay = self

        def _make_request(pool: Any, conn: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            return replay._serve(pool, conn, method, url, *args, **kwargs)

        HTTPConnectionPool._make_request = _make_request  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc_info: object) -> None:
        from urllib3.connectionpool import HTTPConnectionPool

        HTTPConnectionPool._make_request = self._original  # type: ignore[method-assign]
