"""Configuration: explicit argument > environment variable > ``~/.rustybt/config.yaml`` > built-in default.

The file has three sections::

    data:
      root_dir: ~/.rustybt/data      # RUSTYBT_DATA_DIR
      default_format: parquet
      compression: zstd              # snappy | zstd
    cache:
      enabled: true
      max_size_mb: 512               # RUSTYBT_CACHE_SIZE_MB
      disk_cache: false              # true, or a directory; RUSTYBT_CACHE_DIR sets the directory
    adapters:
      ccxt: {rate_limit: 10}         # requests per second
      yfinance: {rate_limit: 2}

Secrets (API keys) may sit in the ``adapters`` section; :class:`AdapterConfig` never shows them in its repr.

Runtime switches are environment variables read while RustyBT runs (offline mode, the on-disk speed-up files,
progress bars). Every one is listed in :data:`SWITCHES`; on/off switches are read with :func:`env_flag`, the one
rule for "true" (``1``, ``true``, ``yes``, ``on``) and "false" (``0``, ``false``, ``no``, ``off``), case-insensitive;
anything else is a :class:`~rustybt.errors.ConfigError` naming the variable. :func:`describe_switches` reports their
current values and where each comes from (``rustybt config`` and ``%rustybt config`` show it).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from rustybt.errors import ConfigError

__all__ = [
    "SWITCHES",
    "AdapterConfig",
    "CacheConfig",
    "Config",
    "DataConfig",
    "Switch",
    "default_config_path",
    "describe_config",
    "describe_switches",
    "env_flag",
    "load_config",
]

COMPRESSIONS = ("snappy", "zstd")
FORMATS = ("parquet",)
_SECRET_MARKERS = ("key", "secret", "token", "password")


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Switch:
    """One environment variable RustyBT reads at run time.

    ``kind`` is ``"flag"`` (on/off, read with :func:`env_flag`; ``default`` None means "automatic") or
    ``"setting"`` (a value such as a directory; :func:`load_config` resolves those against the config file).
    """

    name: str
    description: str
    kind: str = "flag"
    default: bool | None = None


#: Every environment variable RustyBT reads, flags first.
SWITCHES: tuple[Switch, ...] = (
    Switch("RUSTYBT_OFFLINE", "refuse every network request: adapters raise instead of fetching", default=False),
    Switch(
        "RUSTYBT_BARS_CACHE", "dense float64 copy of daily bars under <cache dir>/bars for wide reads", default=True
    ),
    Switch("RUSTYBT_CALENDAR_CACHE", "calendar session files under <cache dir>/calendars", default=True),
    Switch("RUSTYBT_PROGRESS", "pipeline progress bars (unset: automatic, for long or chunked runs)", default=None),
    Switch("RUSTYBT_DATA_DIR", "catalog root (config: data.root_dir)", kind="setting"),
    Switch("RUSTYBT_CONFIG", "config file (default ~/.rustybt/config.yaml)", kind="setting"),
    Switch("RUSTYBT_CACHE_DIR", "cache directory, turns the disk cache on (config: cache.disk_cache)", kind="setting"),
    Switch("RUSTYBT_CACHE_SIZE_MB", "memory cache bound in MiB (config: cache.max_size_mb)", kind="setting"),
    Switch(
        "RUSTYBT_PLOTLY_TEMPLATE",
        "plotly template of the charts (default: auto, follows JupyterLab's theme)",
        kind="setting",
    ),
    Switch(
        "RUSTYBT_SAMPLE_DIR",
        "directory of the shipped sample data (default: the repository's data/sample)",
        kind="setting",
    ),
)
_BY_NAME = {s.name: s for s in SWITCHES}
_REGISTERED: Any = object()  # env_flag's default: the registry's


def env_flag(name: str, default: bool | None = _REGISTERED) -> bool | None:
    """The on/off environment variable ``name``: True for ``1/true/yes/on``, False for ``0/false/no/off``
    (case-insensitive, surrounding spaces ignored), ``default`` when unset or empty.

    Parameters
    ----------
    name
        The variable, e.g. ``"RUSTYBT_OFFLINE"``.
    default
        The value when the variable is unset; by default the one :data:`SWITCHES` lists for ``name``.

    Raises
    ------
    ConfigError
        The variable holds anything else, or ``name`` is not a registered flag and no default was given.
    """
    if default is _REGISTERED:
        switch = _BY_NAME.get(name)
        if switch is None or switch.kind != "flag":
            raise ConfigError(f"{name} is not a registered on/off switch (rustybt.config.SWITCHES)")
        default = switch.default
    raw = os.environ.get(name, "")
    text = raw.strip().lower()
    if not text:
        return default
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(
        f"environment variable {name}={raw!r} is not an on/off value: use 1, true, yes or on to turn it on, "
        "0, false, no or off to turn it off (or unset it for the default)"
    )


def describe_switches() -> list[tuple[str, str, str, str]]:
    """``(variable, current value, source, what it does)`` for every entry of :data:`SWITCHES`.

    Flags read ``on`` / ``off`` / ``auto``, settings their value or ``(not set)``; the source is ``environment`` or
    ``default``. A flag holding something that is not on/off reads ``invalid: ...`` here (the code that reads the
    flag raises).
    """
    rows = []
    for switch in SWITCHES:
        raw = os.environ.get(switch.name, "")
        source = "environment" if raw.strip() else "default"
        if switch.kind == "flag":
            try:
                value = env_flag(switch.name)
            except ConfigError:
                rows.append((switch.name, f"invalid: {raw!r}", source, switch.description))
                continue
            text = "auto" if value is None else ("on" if value else "off")
        else:
            text = raw.strip() or "(not set)"
        rows.append((switch.name, text, source, switch.description))
    return rows


def describe_config(config: Config | None = None, *, root: str | Path | None = None) -> list[tuple[str, str]]:
    """Label/value rows of the resolved configuration: the catalog root and where it comes from, the config file,
    compression, the cache (what ``rustybt config`` and ``%rustybt config`` show above the switches).

    ``root`` is an explicit catalog root (``--root``), which wins over everything.
    """
    config = load_config() if config is None else config
    if root is not None:
        root_text, source = str(Path(root).expanduser()), "explicit argument"
    else:
        root_text = str(config.data.root_dir)
        if os.environ.get("RUSTYBT_DATA_DIR"):
            source = "RUSTYBT_DATA_DIR"
        elif config.source is not None and _file_sets_root(config.source):
            source = f"config file {config.source}"
        else:
            source = "built-in default"
    cache = config.cache
    cache_text = f"{'on' if cache.enabled else 'off'}, {cache.max_size_mb} MiB in memory"
    if cache.disk_cache:
        cache_text += f", disk {cache.disk_cache_dir}"
    return [
        ("catalog root", root_text),
        ("root comes from", source),
        ("config file", str(config.source) if config.source else f"none ({default_config_path()} does not exist)"),
        ("compression", config.data.compression),
        ("cache", cache_text),
    ]


def _file_sets_root(path: Path) -> bool:
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(raw, dict) and isinstance(raw.get("data"), dict) and "root_dir" in raw["data"]


def default_config_path() -> Path:
    """``$RUSTYBT_CONFIG`` if set, else ``~/.rustybt/config.yaml``."""
    env = os.environ.get("RUSTYBT_CONFIG")
    return Path(env).expanduser() if env else Path("~/.rustybt/config.yaml").expanduser()


@dataclass(frozen=True)
class DataConfig:
    """Where bundles live and how their Parquet files are written."""

    root_dir: Path = field(default_factory=lambda: Path("~/.rustybt/data").expanduser())
    default_format: str = "parquet"
    compression: str = "zstd"


@dataclass(frozen=True)
class CacheConfig:
    """Memory LRU bound and optional disk cache used by the data portal."""

    enabled: bool = True
    max_size_mb: int = 512
    disk_cache: bool = False
    disk_cache_dir: Path = field(default_factory=lambda: Path("~/.rustybt/cache").expanduser())


@dataclass(frozen=True)
class AdapterConfig:
    """Per-adapter settings. ``options`` may hold credentials; they never appear in ``repr``."""

    rate_limit: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = {k: ("***" if _is_secret(k) else v) for k, v in self.options.items()}
        return f"AdapterConfig(rate_limit={self.rate_limit!r}, options={shown!r})"

    def get(self, key: str, default: Any = None) -> Any:
        """Option ``key`` (e.g. ``api_key``), or ``default``."""
        return self.options.get(key, default)


def _is_secret(key: str) -> bool:
    return any(marker in key.lower() for marker in _SECRET_MARKERS)


@dataclass(frozen=True)
class Config:
    """The resolved configuration. Build it with :func:`load_config`."""

    data: DataConfig = field(default_factory=DataConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    adapters: Mapping[str, AdapterConfig] = field(default_factory=dict)
    source: Path | None = None

    def adapter(self, name: str) -> AdapterConfig:
        """Settings for adapter ``name`` (defaults if the file has none)."""
        return self.adapters.get(name, AdapterConfig())


def load_config(
    path: str | Path | None = None,
    *,
    root_dir: str | Path | None = None,
    compression: str | None = None,
    cache_size_mb: int | None = None,
    cache_dir: str | Path | None = None,
) -> Config:
    """Resolve the configuration.

    Parameters
    ----------
    path
        Config file to read. Default: ``$RUSTYBT_CONFIG`` or ``~/.rustybt/config.yaml`` (a missing default file is
        fine; a missing explicit file is an error).
    root_dir, compression, cache_size_mb, cache_dir
        Explicit values; they win over the environment and the file.

    Raises
    ------
    ConfigError
        An invalid value, naming the key and the file it came from.
    """
    explicit = path is not None
    cfg_path = Path(path).expanduser() if explicit else default_config_path()
    raw: dict[str, Any] = {}
    if cfg_path.exists():
        try:
            loaded = yaml.safe_load(cfg_path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{cfg_path}: not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{cfg_path}: the top level must be a mapping with sections data, cache, adapters")
        raw = loaded
    elif explicit:
        raise ConfigError(f"config file {cfg_path} does not exist")

    where = str(cfg_path)
    unknown = set(raw) - {"data", "cache", "adapters"}
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {sorted(unknown)}; expected data, cache, adapters")
    data_raw = _section(raw, "data", where)
    cache_raw = _section(raw, "cache", where)
    adapters_raw = _section(raw, "adapters", where)

    data = DataConfig()
    if "root_dir" in data_raw:
        data = replace(data, root_dir=_path(data_raw["root_dir"], "data.root_dir", where))
    if "default_format" in data_raw:
        data = replace(data, default_format=_choice(data_raw["default_format"], FORMATS, "data.default_format", where))
    if "compression" in data_raw:
        data = replace(data, compression=_choice(data_raw["compression"], COMPRESSIONS, "data.compression", where))
    _reject_unknown(data_raw, {"root_dir", "default_format", "compression"}, "data", where)

    cache = CacheConfig()
    if "enabled" in cache_raw:
        cache = replace(cache, enabled=_bool(cache_raw["enabled"], "cache.enabled", where))
    if "max_size_mb" in cache_raw:
        cache = replace(cache, max_size_mb=_positive_int(cache_raw["max_size_mb"], "cache.max_size_mb", where))
    if "disk_cache" in cache_raw:
        value = cache_raw["disk_cache"]
        if isinstance(value, bool):
            cache = replace(cache, disk_cache=value)
        elif isinstance(value, str) and value:
            cache = replace(cache, disk_cache=True, disk_cache_dir=Path(value).expanduser())
        else:
            raise ConfigError(f"{where}: cache.disk_cache must be true, false or a directory, got {value!r}")
    _reject_unknown(cache_raw, {"enabled", "max_size_mb", "disk_cache"}, "cache", where)

    adapters: dict[str, AdapterConfig] = {}
    for name, settings in adapters_raw.items():
        key = f"adapters.{name}"
        if settings is None:
            settings = {}
        if not isinstance(settings, dict):
            raise ConfigError(f"{where}: {key} must be a mapping, got {type(settings).__name__}")
        options = dict(settings)
        for option in options:  # the adapter's own options pass through; a misspelt common key is refused
            close = difflib.get_close_matches(str(option), _ADAPTER_KEYS, n=1, cutoff=0.8)
            if close and close[0] != option:
                raise ConfigError(f"{where}: unknown key {key}.{option}; did you mean {key}.{close[0]}?")
        rate = options.pop("rate_limit", None)
        if rate is not None:
            rate = _positive_float(rate, f"{key}.rate_limit", where)
        adapters[str(name)] = AdapterConfig(rate_limit=rate, options=options)

    # Environment beats the file.
    env = os.environ
    if env.get("RUSTYBT_DATA_DIR"):
        data = replace(data, root_dir=Path(env["RUSTYBT_DATA_DIR"]).expanduser())
    if env.get("RUSTYBT_CACHE_SIZE_MB"):
        cache = replace(
            cache,
            max_size_mb=_positive_int(env["RUSTYBT_CACHE_SIZE_MB"], "RUSTYBT_CACHE_SIZE_MB", "the environment"),
        )
    if env.get("RUSTYBT_CACHE_DIR"):
        cache = replace(cache, disk_cache=True, disk_cache_dir=Path(env["RUSTYBT_CACHE_DIR"]).expanduser())

    # Explicit arguments beat everything.
    if root_dir is not None:
        data = replace(data, root_dir=Path(root_dir).expanduser())
    if compression is not None:
        data = replace(data, compression=_choice(compression, COMPRESSIONS, "compression", "the argument"))
    if cache_size_mb is not None:
        cache = replace(cache, max_size_mb=_positive_int(cache_size_mb, "cache_size_mb", "the argument"))
    if cache_dir is not None:
        cache = replace(cache, disk_cache=True, disk_cache_dir=Path(cache_dir).expanduser())

    return Config(data=data, cache=cache, adapters=adapters, source=cfg_path if cfg_path.exists() else None)


#: keys every adapter section understands, besides the adapter's own options
_ADAPTER_KEYS = ("rate_limit",)


def _section(raw: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    value = raw.get(name) or {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: section {name!r} must be a mapping, got {type(value).__name__}")
    return value


def _reject_unknown(section: Mapping[str, Any], allowed: set[str], name: str, where: str) -> None:
    unknown = set(section) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)} in section {name!r}; allowed: {sorted(allowed)}")


def _path(value: Any, key: str, where: str) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty path, got {value!r}")
    return Path(value).expanduser()


def _choice(value: Any, allowed: tuple[str, ...], key: str, where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: {key} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _bool(value: Any, key: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def _positive_int(value: Any, key: str, where: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        number = -1
    if isinstance(value, bool) or number <= 0:
        raise ConfigError(f"{where}: {key} must be a positive integer, got {value!r}")
    return number


def _positive_float(value: Any, key: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or not number > 0:
        raise ConfigError(f"{where}: {key} must be a positive number, got {value!r}")
    return number
