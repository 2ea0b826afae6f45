"""The adapters' rate limit: one token bucket that holds across calls, event loops and threads (issue 17)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from rustybt.data.adapters._limiter import TokenBucket, credential_scope, shared_limits


def test_bucket_spaces_requests_across_event_loops_and_threads():
    bucket = TokenBucket(20.0)
    started = time.monotonic()
    for _ in range(3):
        asyncio.run(bucket.acquire())  # each call its own event loop, like fetch_sync
    threads = [threading.Thread(target=bucket.acquire_sync) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started >= (6 - 1) / 20.0 - 1e-3


def test_bucket_refills_to_one_request_only():
    bucket = TokenBucket(50.0)
    time.sleep(0.1)  # idle time does not bank a burst
    started = time.monotonic()
    for _ in range(3):
        bucket.acquire_sync()
    assert time.monotonic() - started >= 2 / 50.0 - 1e-3


def test_limits_are_shared_per_vendor_and_key_never_holding_the_key():
    scope = credential_scope(["secret-key-1"])
    assert "secret-key-1" not in scope
    assert shared_limits("v", scope, 5.0) is shared_limits("v", scope, 5.0)
    assert shared_limits("v", scope, 5.0) is not shared_limits("v", credential_scope(["other"]), 5.0)
    assert shared_limits("v", None, 5.0) is not shared_limits("v", None, 5.0)  # no key: own budget
    assert credential_scope([None, ""]) is None


@pytest.mark.parametrize("rate", [0, -1])
def test_bucket_refuses_a_non_positive_rate(rate):
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate)
