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
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from rustybt.errors import ConfigError

__all__ = [
    "AdapterConfig",
    "CacheConfig",
    "Config",
    "DataConfig",
    "default_config_path",
    "load_config",
]

COMPRESSIONS = ("snappy", "zstd")
FORMATS = ("parquet",)
_SECRET_MARKERS = ("key", "secret", "token", "password")


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
