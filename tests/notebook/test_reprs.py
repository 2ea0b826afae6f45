"""HTML reprs (rustybt._html): content, escaping, determinism, bounded size, one stylesheet per output."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import polars as pl
import pytest

from rustybt import _html
from rustybt.assets import Equity, Future
from rustybt.data.catalog import VerifyReport
from rustybt.data.catalog.manifest import VerifyProblem
from rustybt.data.readers import DataPortal
from rustybt.data.validation import ValidationConfig, validate_bars

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


def _check(html: str, *, max_bytes: int = 40_000) -> str:
    """Properties every top-level repr has."""
    assert html.startswith('<div class="rbt ')
    assert html.count("<style>") == 1, "the stylesheet is inlined exactly once per output"
    assert ".rbt " in html and "<script" not in html.lower()
    assert not _ADDRESS.search(html), "no memory addresses"
    assert len(html.encode()) < max_bytes
    return html


def _rows(html: str) -> int:
    return html.count("<tr>")


def test_stylesheet_is_scoped():
    css = _html.stylesheet()
    selectors = [s.strip() for block in re.findall(r"([^{}]+)\{", css) for s in block.split(",")]
    selectors = [s for s in selectors if s and not s.startswith("/*")]
    assert selectors and all(s.startswith(".rbt") for s in selectors), selectors


def test_catalog_html(sample_catalog):
    html = _check(sample_catalog._repr_html_())
    for text in (
        "sample",
        "sample_crypto",
        "1d",
        "1h",
        "XNYS",
        "24/7",
        "22,165",
        "4,368",
        "2012-01-03 .. 2014-12-31",
        "7 warnings",
        "last ingest",
    ):
        assert text in html, text
    assert html == sample_catalog._repr_html_()


def test_catalog_html_escapes_the_root(tmp_path):
    from rustybt import Catalog

    root = tmp_path / "odd<b>&'name"
    html = _check(Catalog(root=root)._repr_html_())
    assert "odd&lt;b&gt;&amp;&#x27;name" in html and "<b>" not in html
    assert "No bundles yet" in html


def test_catalog_html_lists_registered_but_empty_bundles(tmp_path):
    from rustybt import Catalog
    from rustybt.sample import register_sample

    catalog = Catalog(root=tmp_path / "cat")
    register_sample(catalog)
    html = _check(catalog._repr_html_())
    assert html.count("not ingested") == 3 and "empty" in html


def test_bundle_html(sample_catalog):
    bundle = sample_catalog.bundle("sample")
    html = _check(bundle._repr_html_())
    for text in (
        "Bundle sample",
        "csv:",
        "XNYS",
        "200 dividends, 5 splits",
        "22,165",
        "AAPL",
        "754",
        "Ingestion history (1)",
        "live",
        "calendar_gap",
        "Coverage (30 assets",
    ):
        assert text in html, text
    # 30 assets, at most MAX_ROWS rows shown, the rest counted
    assert f"... {30 - _html.MAX_ROWS:,} more" in html
    # deterministic: the same HTML from the object twice, and from a second handle on the same ingestion
    assert html == bundle._repr_html_() == sample_catalog.bundle("sample")._repr_html_()


def test_bundle_coverage_shows_gaps(sample_catalog):
    # ZZK misses 3 of the XNYS sessions between its first and last bar (2013-09-17 .. 19): 751 of 754
    html = sample_catalog.bundle("sample")._repr_html_()
    zzk = html[html.index("<td>ZZK</td>") :]
    zzk = zzk[: zzk.index("</tr>")]
    assert f"{751 / 754:.1%}" in zzk and "rbt-gap" in zzk
    aapl = html[html.index("<td>AAPL</td>") :]
    assert "100.0%" in aapl[: aapl.index("</tr>")]


def test_bundle_html_history_marks_the_live_ingestion(tmp_path):
    from rustybt import Catalog
    from rustybt.sample import register_sample

    catalog = Catalog(root=tmp_path / "cat")
    register_sample(catalog)
    first = catalog.ingest("sample_crypto", progress=False)
    second = catalog.ingest("sample_crypto", progress=False)
    html = _check(catalog.bundle("sample_crypto")._repr_html_())
    assert "Ingestion history (2)" in html
    assert html.index(second.id) < html.index(first.id), "newest first"
    assert html.count(">live<") == 1
    pinned = _check(catalog.bundle("sample_crypto", ingestion=first.id)._repr_html_())
    assert first.id in pinned


def test_asset_html_escapes_everything():
    asset = Equity(sid=7, symbol="<script>alert(1)</script>", exchange="N&Y", asset_name='"quoted"')
    html = _check(asset._repr_html_())
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html and "N&amp;Y" in html and "&quot;quoted&quot;" in html
    assert "sid 7" in html


def test_future_asset_html_shows_contract_fields():
    fut = Future(sid=3, symbol="XFH14", root_symbol="XF", expiration_date=pd.Timestamp("2014-03-20"), multiplier=50)
    html = _check(fut._repr_html_())
    assert "Future XFH14" in html and "2014-03-20" in html and "root symbol" in html and "50" in html


def test_ingestion_html(tmp_path):
    from rustybt import Catalog
    from rustybt.sample import register_sample

    catalog = Catalog(root=tmp_path / "cat")
    register_sample(catalog)
    ing = catalog.ingest("sample", progress=False)
    html = _check(ing._repr_html_())
    for text in ("Ingestion of sample", ing.id, "22,165", "replace", "7 warnings", "price_jump", "AAPL.csv:612"):
        assert text in html, text
    appended = catalog.ingest("sample", mode="append", progress=False)
    html = _check(appended._repr_html_())
    assert "replaced rows" in html and "22,165" in html


def _bad_frame(symbol: str, n: int) -> pl.DataFrame:
    """``n`` daily bars of ``symbol`` where every bar has high < low (one error each)."""
    days = pd.bdate_range("2014-01-02", periods=n)
    return pl.DataFrame(
        {
            "timestamp": [d.to_pydatetime().replace(tzinfo=UTC) for d in days],
            "symbol": [symbol] * n,
            "open": [10.0] * n,
            "high": [9.0] * n,
            "low": [9.5] * n,
            "close": [9.2] * n,
            "volume": [100.0] * n,
            "_source_file": ["/data/<evil>&.csv"] * n,
            "_source_row": list(range(2, n + 2)),
        }
    ).with_columns(pl.col("timestamp").cast(pl.Datetime("ns", "UTC")))


def test_validation_report_html_groups_by_rule_and_is_bounded():
    _, report = validate_bars(
        _bad_frame("<B&>", 500),
        calendar=None,
        config=ValidationConfig(mode="lenient"),
        now=datetime(2020, 1, 1, tzinfo=UTC),
    )
    assert report.error_count >= 500
    html = _check(_html.validation_report_html(report))
    assert "&lt;B&amp;&gt;" in html and "<B&>" not in html
    assert "&lt;evil&gt;&amp;.csv:2" in html
    for rule in report.counts():
        assert rule in html
    # a few examples per rule, never all 500
    assert _rows(html) < 80
    assert html == _html.validation_report_html(report)


def test_validation_report_html_without_violations():
    frame = _bad_frame("OK", 3).with_columns(pl.lit(11.0).alias("high"), pl.lit(9.0).alias("low"))
    _, report = validate_bars(frame, calendar=None, now=datetime(2020, 1, 1, tzinfo=UTC))
    html = _check(_html.validation_report_html(report))
    assert "No violations in 3 rows" in html and "ok" in html


def test_verify_report_html():
    ok = VerifyReport("sample", "2014-01-01T00-00-00Z", 4)
    assert "all files match" in _check(ok._repr_html_())
    bad = VerifyReport(
        "sample", "id1", 4, [VerifyProblem(f"bars/1d/{i}.parquet", "checksum mismatch", "<changed>") for i in range(50)]
    )
    html = _check(bad._repr_html_())
    assert "50 problem(s)" in html and "&lt;changed&gt;" in html
    assert f"... {50 - _html.MAX_ROWS} more" in html


def test_verify_report_of_a_real_bundle(sample_catalog):
    html = _check(sample_catalog.verify("sample")._repr_html_())
    assert "all files match" in html


def test_cache_html():
    from rustybt.data.cache import CacheManager

    cache = CacheManager(max_memory_mb=1, disk_cache_path=None, enabled=True)
    cache.put(cache.make_key("a"), np.arange(100.0))
    cache.get(cache.make_key("a"))
    cache.get(cache.make_key("missing"))
    html = _check(_html.cache_html(cache))
    assert "hit rate" in html and "50.0%" in html and "memory only" in html
    assert _check(_html.cache_html(cache.stats)).count("hit rate") == 1


def test_error_html_escapes():
    html = _check(_html.error_html("Oops", "bad <input>", hint="do & retry"))
    assert "bad &lt;input&gt;" in html and "do &amp; retry" in html


def _result() -> pd.DataFrame:
    dates = pd.date_range("2014-01-02", periods=30, freq="B")
    assets = [Equity(sid=i, symbol=f"S{i:02d}") for i in range(40)]
    rng = np.random.default_rng(0)
    index = pd.MultiIndex.from_product([dates, assets])
    return pd.DataFrame({"momentum": rng.normal(size=len(index)), "liquid": rng.random(len(index)) > 0.3}, index=index)


def test_pipeline_result_html():
    result = _result()
    html = _check(_html.pipeline_result_html(result))
    assert "1,200" in html and "2014-01-02 .. 2014-02-12" in html and ">40<" in html
    assert "momentum" in html and "S00" in html and "true" in html
    assert f"... {1200 - 10:,} more" in html
    assert html == _html.pipeline_result_html(result)


def test_pipeline_html_is_duck_typed():
    class Term:
        def __init__(self, text):
            self.text = text
            self.dtype = "float64"

        def __repr__(self):
            return self.text

    class FakePipeline:
        columns = {"sma<10>": Term("SimpleMovingAverage(<close>, 10)"), "x": Term("Returns(5)")}
        screen = Term("AverageDollarVolume(20).top(10)")

    html = _check(_html.pipeline_html(FakePipeline()))
    assert "sma&lt;10&gt;" in html and "SimpleMovingAverage(&lt;close&gt;, 10)" in html
    assert "top(10)" in html and "2 columns" in html


def test_html_view():
    view = _html.HTMLView("Settings", [("a<", 1), ("b", "x&y")], note="n")
    assert "a&lt;" in _check(view._repr_html_()) and "x&amp;y" in view._repr_html_()
    assert repr(view).splitlines()[0] == "Settings"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (pd.Timestamp("2014-01-02", tz="UTC"), "2014-01-02"),
        (pd.Timestamp("2014-01-02 14:30", tz="UTC"), "2014-01-02 14:30"),
        ("2026-11-24T10:21:43+00:00", "2026-11-24 10:21:43"),
        (None, ""),
    ],
)
def test_fmt_ts(value, text):
    assert _html.fmt_ts(value) == text


def test_byte_counts_use_the_shared_formatter():
    from rustybt._html.templates import format_bytes

    assert [format_bytes(n) for n in (12, 2048, 3 * 2**20)] == ["12 B", "2.0 KiB", "3.0 MiB"]


def test_real_pipeline_and_result_html(sample_catalog):
    from rustybt.notebook import pipeline_support
    from rustybt.pipeline import Pipeline
    from rustybt.pipeline.data import EquityPricing
    from rustybt.pipeline.factors import AverageDollarVolume, Returns

    pipe = Pipeline(
        {"ret": Returns(window_length=5), "close": EquityPricing.close.latest},
        screen=AverageDollarVolume(window_length=5).top(3),
    )
    html = _check(_html.pipeline_html(pipe))
    assert "Returns" in html and "<svg" in html and "Term graph" in html and "2 columns" in html
    assert html == _html.pipeline_html(pipe)
    result = pipeline_support.run(pipe, sample_catalog.bundle("sample"), start="2013-03-01", end="2013-03-08")
    out = _check(_html.pipeline_result_html(result))
    assert "2013-03-01 .. 2013-03-08" in out and f"{len(result):,}" in out and ">3<" in out


def test_continuous_future_html(tmp_path):
    from rustybt import Catalog
    from rustybt.sample import register_sample

    catalog = Catalog(root=tmp_path / "cat")
    register_sample(catalog)
    catalog.ingest("sample_futures", progress=False)
    xf = DataPortal.from_catalog(catalog, "sample_futures").continuous_future("XF", adjustment=None)
    html = _check(_html.continuous_future_html(xf))
    for text in ("Continuous future XF", "Chain (6 contracts)", "XFH14", "XFQ14", "Rolls (5)", "2014-03-12", "raw"):
        assert text in html, text
    assert html == _html.continuous_future_html(xf)
