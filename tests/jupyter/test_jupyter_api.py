"""The REST API of the server extension, through a real jupyter_server, on the ingested sample bundles."""

from __future__ import annotations

import json

import pytest

from rustybt import Catalog
from rustybt.sample import SAMPLE_BUNDLES


@pytest.fixture
def jp_server_config(sample_catalog_root):
    return {
        "ServerApp": {"jpserver_extensions": {"rustybt.jupyter": True}},
        "RustyBTServer": {"data_dir": str(sample_catalog_root)},
    }


@pytest.fixture
def catalog(sample_catalog_root):
    return Catalog(sample_catalog_root)


async def get(jp_fetch, *parts, **params):
    """(status, JSON body) of a GET, error answers included."""
    response = await jp_fetch("rustybt", "api", *parts, params=params, raise_error=False)
    return response.code, json.loads(response.body or b"null")


async def test_bundles_lists_the_catalog(jp_fetch, catalog):
    code, body = await get(jp_fetch, "bundles")
    assert code == 200
    assert body["root"] == str(catalog.root)
    assert body["root_explicit"] is True
    assert body["jobs"] == []
    rows = {row["bundle"]: row for row in body["bundles"]}
    assert sorted(rows) == sorted(SAMPLE_BUNDLES)
    expected = {row["bundle"]: row for row in catalog.summary().to_dicts()}
    for name, row in rows.items():
        for key in ("calendar", "resolution", "assets", "rows", "start", "end", "ingestion", "last_ingest"):
            assert row[key] == expected[name][key], (name, key)
        assert row["quality"] in ("ok", "warning")
    assert rows["sample"]["assets"] == 30
    assert rows["sample"]["calendar"] == "XNYS"
    assert rows["sample_crypto"]["resolution"] == "1h"


async def test_bundle_detail_and_ingestions(jp_fetch, catalog):
    code, body = await get(jp_fetch, "bundles", "sample")
    assert code == 200
    bundle = catalog.bundle("sample")
    assert body["name"] == "sample"
    assert body["ingestion"] == bundle.ingestion_id
    assert body["assets"] == len(bundle.assets)
    assert body["rows"] == bundle.rows
    assert body["frequencies"] == bundle.frequencies
    assert set(body["adjustments"]) <= {"split", "dividend", "merger"}
    assert body["quality"]["errors"] == 0

    code, body = await get(jp_fetch, "bundles", "sample", "ingestions")
    assert code == 200
    assert [i["id"] for i in body["ingestions"]] == [r.id for r in catalog.ingestions("sample")]
    assert [i["live"] for i in body["ingestions"]] == [True]
    assert body["ingestions"][0]["rows"] == bundle.rows


async def test_assets_are_paged_in_symbol_order(jp_fetch, catalog):
    ranges = catalog.bundle("sample").date_ranges.sort("symbol")
    seen = []
    offset = 0
    while True:
        code, page = await get(jp_fetch, "bundles", "sample", "assets", offset=offset, limit=7)
        assert code == 200
        assert page["total"] == 30
        assert len(page["assets"]) <= 7
        seen += page["assets"]
        offset += 7
        if offset >= page["total"]:
            break
    assert [a["symbol"] for a in seen] == ranges.get_column("symbol").to_list()
    assert [a["rows"] for a in seen] == ranges.get_column("rows").to_list()
    first = ranges.row(0, named=True)
    assert seen[0]["start"] == first["start"].isoformat()
    assert seen[0]["end"] == first["end"].isoformat()
    assert set(seen[0]) == {"sid", "symbol", "asset_class", "start", "end", "rows"}


async def test_asset_search_is_case_insensitive(jp_fetch):
    code, page = await get(jp_fetch, "bundles", "sample", "assets", q="aap")
    assert code == 200
    assert [a["symbol"] for a in page["assets"]] == ["AAPL"]
    assert page["total"] == 1
    code, page = await get(jp_fetch, "bundles", "sample", "assets", q="NO-SUCH")
    assert (code, page["total"], page["assets"]) == (200, 0, [])


async def test_bars_for_a_chart(jp_fetch, catalog):
    frame = catalog.bundle("sample").bars(["AAPL"], start="2014-01-01", end="2014-12-31")
    code, body = await get(jp_fetch, "bundles", "sample", "bars", symbol="AAPL", start="2014-01-01", end="2014-12-31")
    assert code == 200
    assert body["rows"] == frame.height
    assert body["step"] == 1
    assert body["close"] == frame.get_column("close").to_list()
    assert body["timestamp"] == [t.isoformat() for t in frame.get_column("timestamp").to_list()]

    code, body = await get(jp_fetch, "bundles", "sample", "bars", symbol="AAPL", start="2014-01-01", limit=10)
    assert code == 200
    assert body["rows"] == frame.height
    assert len(body["close"]) <= 10
    assert body["timestamp"][0] == frame.get_column("timestamp")[0].isoformat()
    assert body["timestamp"][-1] == frame.get_column("timestamp")[-1].isoformat()  # the last bar is always kept
    assert body["close"][-1] == frame.get_column("close")[-1]


async def test_unknown_bundle_and_symbol_are_404_with_the_catalog_message(jp_fetch, catalog):
    code, body = await get(jp_fetch, "bundles", "sampel")
    assert code == 404
    assert body["error"] == "BundleNotFound"
    assert "no bundle named 'sampel'" in body["message"]
    assert "Did you mean 'sample'" in body["message"]
    for rest in ("ingestions", "assets"):
        code, body = await get(jp_fetch, "bundles", "nope", rest)
        assert (code, body["error"]) == (404, "BundleNotFound")
    code, body = await get(jp_fetch, "bundles", "sample", "bars", symbol="ZZZZ")
    assert code == 404
    assert body["error"] == "SymbolNotFound"
    assert "ZZZZ" in body["message"]
    code, body = await get(jp_fetch, "jobs", "0123456789ab")
    assert code == 404
    assert "restarted" in body["message"]


async def test_bad_query_parameters_are_400(jp_fetch):
    for params in ({"limit": "0"}, {"limit": "x"}, {"offset": "-1"}, {"limit": "501"}):
        code, body = await get(jp_fetch, "bundles", "sample", "assets", **params)
        assert code == 400, params
        assert body["error"] == "InvalidArgument"
    code, body = await get(jp_fetch, "bundles", "sample", "bars")
    assert code == 400
    assert "symbol" in body["message"]
    code, body = await get(jp_fetch, "bundles", "sample", "bars", symbol="AAPL", start="not-a-date")
    assert code == 400
    assert "not-a-date" in body["message"]


@pytest.mark.parametrize("name", ["..%2Fx", "..", "%2E%2E", "a%2Fb", "x..y", "%2Fetc", "-x"])
async def test_names_the_catalog_refuses_are_400(http_server_client, jp_base_url, jp_auth_header, name):
    for rest, method in (("", "GET"), ("/assets", "GET"), ("/ingest", "POST"), ("/verify", "POST")):
        url = f"{jp_base_url}rustybt/api/bundles/{name}{rest}"
        response = await http_server_client.fetch(
            url, method=method, headers=jp_auth_header, body=b"" if method == "POST" else None, raise_error=False
        )
        body = json.loads(response.body)
        assert response.code == 400, (name, rest)
        assert body["error"] == "InvalidBundleName"
        assert "invalid bundle name" in body["message"]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("bundles", "GET"),
        ("bundles/sample", "GET"),
        ("bundles/sample/assets", "GET"),
        ("bundles/sample/bars?symbol=AAPL", "GET"),
        ("bundles/sample/ingestions", "GET"),
        ("bundles/sample/verify", "POST"),
        ("bundles/sample/ingest", "POST"),
        ("jobs", "GET"),
    ],
)
async def test_no_token_no_data(http_server_client, jp_base_url, jp_serverapp, path, method):
    url = f"{jp_base_url}rustybt/api/{path}"
    body = b"" if method == "POST" else None
    for headers in ({}, {"Authorization": "token wrong-token"}):
        response = await http_server_client.fetch(url, method=method, headers=headers, body=body, raise_error=False)
        assert response.code in (401, 403), (path, headers, response.code)
        assert b"AAPL" not in response.body
        assert b'"bundles"' not in response.body
    # the same request with the token is answered (the routes exist)
    token = {"Authorization": f"token {jp_serverapp.identity_provider.token}"}
    if method == "GET":
        response = await http_server_client.fetch(url, headers=token, raise_error=False)
        assert response.code == 200


async def test_verify_checks_every_file(jp_fetch, catalog):
    response = await jp_fetch("rustybt", "api", "bundles", "sample", "verify", method="POST", body=b"")
    body = json.loads(response.body)
    report = catalog.verify("sample")
    assert body == {
        "bundle": "sample",
        "ingestion": report.ingestion_id,
        "ok": True,
        "files_checked": report.files_checked,
        "problems": [],
    }
    assert report.files_checked > 0
