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


# --- runtime switches ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1", True), ("true", True), ("YES", True), (" On ", True), ("0", False), ("False", False), ("no", False),
     ("OFF", False)],
)  # fmt: skip
def test_env_flag_has_one_rule_for_true_and_false(monkeypatch, raw, value):
    from rustybt.config import env_flag

    monkeypatch.setenv("RUSTYBT_BARS_CACHE", raw)
    assert env_flag("RUSTYBT_BARS_CACHE") is value


def test_env_flag_unset_or_empty_gives_the_registered_default(monkeypatch):
    from rustybt.config import SWITCHES, env_flag

    defaults = {s.name: s.default for s in SWITCHES if s.kind == "flag"}
    assert defaults == {
        "RUSTYBT_OFFLINE": False,
        "RUSTYBT_BARS_CACHE": True,
        "RUSTYBT_CALENDAR_CACHE": True,
        "RUSTYBT_PROGRESS": None,
    }
    for name, default in defaults.items():
        monkeypatch.delenv(name, raising=False)
        assert env_flag(name) is default
        monkeypatch.setenv(name, "  ")
        assert env_flag(name) is default
    assert env_flag("RUSTYBT_SOMETHING_ELSE", default=True) is True


def test_env_flag_rejects_anything_else_naming_the_variable(monkeypatch):
    from rustybt.config import env_flag

    monkeypatch.setenv("RUSTYBT_OFFLINE", "maybe")
    with pytest.raises(ConfigError, match=r"RUSTYBT_OFFLINE='maybe' is not an on/off value.*1, true, yes or on"):
        env_flag("RUSTYBT_OFFLINE")
    with pytest.raises(ConfigError, match="RUSTYBT_NOPE is not a registered on/off switch"):
        env_flag("RUSTYBT_NOPE")


def test_every_environment_read_in_the_package_is_registered():
    """grep the package for RUSTYBT_* names: each one the code reads is in SWITCHES (one place to look)."""
    import re

    from rustybt.config import SWITCHES

    package = Path(__file__).resolve().parents[1] / "rustybt"
    used = set()
    for path in package.rglob("*.py"):
        used |= set(re.findall(r"[\"'](RUSTYBT_[A-Z_]+)[\"']", path.read_text(encoding="utf-8")))
    assert used, "the scan found nothing"
    assert used <= {s.name for s in SWITCHES}, sorted(used - {s.name for s in SWITCHES})


def test_switch_readers_use_the_one_rule(monkeypatch):
    """The offline switch, the speed-up files and the progress bars all accept 'on'/'off' and refuse junk."""
    from rustybt._cache_files import cache_subdir
    from rustybt.data.adapters.network import is_offline

    monkeypatch.setenv("RUSTYBT_OFFLINE", "on")
    assert is_offline() is True
    monkeypatch.setenv("RUSTYBT_OFFLINE", "off")
    assert is_offline() is False
    monkeypatch.setenv("RUSTYBT_CALENDAR_CACHE", "off")
    assert cache_subdir("calendars", "RUSTYBT_CALENDAR_CACHE") is None
    monkeypatch.setenv("RUSTYBT_CALENDAR_CACHE", "No")
    assert cache_subdir("calendars", "RUSTYBT_CALENDAR_CACHE") is None
    monkeypatch.setenv("RUSTYBT_CALENDAR_CACHE", "nah")
    with pytest.raises(ConfigError, match="RUSTYBT_CALENDAR_CACHE"):
        cache_subdir("calendars", "RUSTYBT_CALENDAR_CACHE")


def test_describe_switches_reports_value_and_source(monkeypatch, tmp_path):
    from rustybt.config import SWITCHES, describe_config, describe_switches

    monkeypatch.setenv("RUSTYBT_OFFLINE", "1")
    monkeypatch.delenv("RUSTYBT_BARS_CACHE", raising=False)
    monkeypatch.setenv("RUSTYBT_PROGRESS", "sometimes")
    monkeypatch.setenv("RUSTYBT_DATA_DIR", str(tmp_path))
    rows = {name: (value, source) for name, value, source, _ in describe_switches()}
    assert list(rows) == [s.name for s in SWITCHES]
    assert rows["RUSTYBT_OFFLINE"] == ("on", "environment")
    assert rows["RUSTYBT_BARS_CACHE"] == ("on", "default")
    assert rows["RUSTYBT_PROGRESS"] == ("invalid: 'sometimes'", "environment")
    assert rows["RUSTYBT_DATA_DIR"] == (str(tmp_path), "environment")
    config = dict(describe_config())
    assert config["catalog root"] == str(tmp_path) and config["root comes from"] == "RUSTYBT_DATA_DIR"
    assert dict(describe_config(root=tmp_path / "x"))["root comes from"] == "explicit argument"
