"""Config precedence (argument > env > file > default) and errors naming key and file."""

from __future__ import annotations

from pathlib import Path

import pytest

from rustybt.config import AdapterConfig, load_config
from rustybt.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_without_file(monkeypatch, tmp_path):
    monkeypatch.delenv("RUSTYBT_DATA_DIR")
    cfg = load_config()
    assert cfg.data.root_dir == Path("~/.rustybt/data").expanduser()
    assert cfg.data.compression == "zstd"
    assert cfg.cache.max_size_mb == 512
    assert cfg.source is None


def test_file_values_are_read(monkeypatch, tmp_path):
    monkeypatch.delenv("RUSTYBT_DATA_DIR")
    f = write(
        tmp_path / "c.yaml",
        "data: {root_dir: /tmp/x, compression: snappy}\ncache: {max_size_mb: 64, disk_cache: /tmp/cache}\n"
        "adapters: {ccxt: {rate_limit: 5}}\n",
    )
    cfg = load_config(f)
    assert cfg.data.root_dir == Path("/tmp/x")
    assert cfg.data.compression == "snappy"
    assert cfg.cache.max_size_mb == 64
    assert cfg.cache.disk_cache and cfg.cache.disk_cache_dir == Path("/tmp/cache")
    assert cfg.adapter("ccxt").rate_limit == 5.0
    assert cfg.adapter("yfinance").rate_limit is None


def test_env_beats_file_and_argument_beats_env(monkeypatch, tmp_path):
    f = write(tmp_path / "c.yaml", "data: {root_dir: /from/file}\ncache: {max_size_mb: 64}\n")
    monkeypatch.setenv("RUSTYBT_DATA_DIR", "/from/env")
    monkeypatch.setenv("RUSTYBT_CACHE_SIZE_MB", "128")
    cfg = load_config(f)
    assert cfg.data.root_dir == Path("/from/env")
    assert cfg.cache.max_size_mb == 128
    cfg = load_config(f, root_dir="/from/arg", cache_size_mb=32)
    assert cfg.data.root_dir == Path("/from/arg")
    assert cfg.cache.max_size_mb == 32


def test_default_file_location_via_env(monkeypatch, tmp_path):
    monkeypatch.delenv("RUSTYBT_DATA_DIR")
    f = write(tmp_path / "c.yaml", "data: {root_dir: /via/env/config}\n")
    monkeypatch.setenv("RUSTYBT_CONFIG", str(f))
    assert load_config().data.root_dir == Path("/via/env/config")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("data: {compression: gzip}", "data.compression"),
        ("cache: {max_size_mb: -5}", "cache.max_size_mb"),
        ("cache: {max_size_mb: lots}", "cache.max_size_mb"),
        ("cache: {enabled: maybe}", "cache.enabled"),
        ("adapters: {ccxt: {rate_limit: 0}}", "adapters.ccxt.rate_limit"),
        ("data: {rootdir: /x}", "rootdir"),
        ("stuff: {a: 1}", "stuff"),
        ("data: [1, 2]", "data"),
    ],
)
def test_invalid_values_name_key_and_file(tmp_path, text, key):
    f = write(tmp_path / "bad.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_config(f)
    assert key in str(info.value)
    assert str(f) in str(info.value)


def test_invalid_env_value_is_named(monkeypatch):
    monkeypatch.setenv("RUSTYBT_CACHE_SIZE_MB", "zero")
    with pytest.raises(ConfigError, match="RUSTYBT_CACHE_SIZE_MB"):
        load_config()


def test_broken_yaml_names_the_file(tmp_path):
    f = write(tmp_path / "broken.yaml", "data: {root_dir: [unclosed\n")
    with pytest.raises(ConfigError, match="broken.yaml"):
        load_config(f)


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_secrets_never_in_repr(tmp_path):
    f = write(tmp_path / "c.yaml", "adapters: {polygon: {api_key: SUPERSECRET123, rate_limit: 5}}\n")
    cfg = load_config(f)
    assert cfg.adapter("polygon").get("api_key") == "SUPERSECRET123"
    assert "SUPERSECRET123" not in repr(cfg)
    assert "SUPERSECRET123" not in repr(AdapterConfig(options={"api_secret": "SUPERSECRET123"}))
