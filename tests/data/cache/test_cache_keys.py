"""CacheManager.make_key: the documented SHA-256 chain, canonical forms, prefixes, other processes."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rustybt.data.cache import CacheManager

# --- keys --------------------------------------------------------------------------------------------------------


def test_make_key_matches_the_documented_sha256_chain():
    state = hashlib.sha256(b"rustybt.cache.key/v1").digest()
    first = hashlib.sha256(state + b's"quandl"').digest()
    second = hashlib.sha256(first + b"i42").digest()
    assert CacheManager.make_key("quandl") == first.hex()[:16]
    assert CacheManager.make_key("quandl", 42) == first.hex()[:16] + second.hex()[:16]


def test_make_key_of_leading_parts_is_a_prefix():
    short = CacheManager.make_key("bundle", "ing-1")
    long = CacheManager.make_key("bundle", "ing-1", "close", "1d", dt.date(2020, 1, 2), [1, 2, 3])
    assert long.startswith(short)
    assert len(long) == 6 * 16
    assert set(long) <= set("0123456789abcdef")


def test_make_key_equal_for_equivalent_spellings():
    k = CacheManager.make_key
    assert k([1, 2, 3]) == k((1, 2, 3)) == k(np.array([1, 2, 3], dtype=np.int32)) == k(pd.Index([1, 2, 3]))
    assert k(np.int64(7)) == k(7)
    assert k(np.float32(0.5)) == k(0.5)
    assert k({"b": 1, "a": 2}) == k({"a": 2, "b": 1})
    assert k({3, 1, 2}) == k(frozenset({2, 3, 1}))
    session = pd.Timestamp("2020-01-02", tz="UTC")
    assert k(dt.date(2020, 1, 2)) == k(session) == k(np.datetime64("2020-01-02")) == k(dt.datetime(2020, 1, 2))
    assert k(pd.Timestamp("2020-01-02 05:00", tz="America/New_York")) == k(pd.Timestamp("2020-01-02 10:00"))
    assert k(pd.date_range("2020-01-01", periods=2)) == k([dt.date(2020, 1, 1), dt.date(2020, 1, 2)])
    assert k(dt.timedelta(days=1)) == k(pd.Timedelta("1D")) == k(np.timedelta64(24, "h"))
    assert k(0.0) == k(-0.0)


def test_make_key_distinguishes_types_values_and_grouping():
    k = CacheManager.make_key
    keys = [
        k(1),
        k(1.0),
        k("1"),
        k(True),
        k(None),
        k(Decimal("1")),
        k(b"1"),
        k([1]),
        k("a", "b"),
        k(("a", "b")),
        k("b", "a"),
        k("ab"),
        k(pd.Timestamp("2020-01-02")),
        k(pd.Timestamp("2020-01-02 00:00:00.000000001")),
        k(Path("a/b")),
    ]
    assert len(set(keys)) == len(keys)


def test_make_key_rejects_parts_without_a_stable_form():
    with pytest.raises(TypeError, match="object"):
        CacheManager.make_key("bundle", object())
    with pytest.raises(TypeError, match="at least one part"):
        CacheManager.make_key()


KEY_PARTS_SOURCE = """
import datetime as dt
from decimal import Decimal
from pathlib import Path
import numpy as np
import pandas as pd
PARTS = [
    ("quandl", "20240101T000000Z", "close", "1d"),
    (pd.Timestamp("2020-01-02", tz="UTC"), dt.date(2020, 12, 31), np.array([1, 2, 24])),
    ({"adjusted": True, "fields": ["open", "close"]}, {5, 3}, 2.5, None, Decimal("0.01"), Path("x/y")),
]
"""


def test_make_key_is_identical_in_another_process():
    namespace: dict = {}
    exec(KEY_PARTS_SOURCE, namespace)
    here = [CacheManager.make_key(*parts) for parts in namespace["PARTS"]]
    script = KEY_PARTS_SOURCE + (
        "from rustybt.data.cache import CacheManager\nfor parts in PARTS:\n    print(CacheManager.make_key(*parts))\n"
    )
    for seed in ("1", "4242"):  # different str hash salts: the key must not depend on hash()
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == here
