"""Where settings come from: flags, then ``READINGLIST_*`` environment variables, then a TOML file.

The file is ``--config PATH``, else ``$READINGLIST_CONFIG``, else
``config.toml`` in the user's config directory (``~/.config/readinglist`` on
Linux). Its keys are the :class:`harvester.settings.Settings` field names, at
the top level or under ``[fetch]`` / ``[urls]``, and every value from every
source is checked by :func:`harvester.settings.check_setting` before any work::

    concurrency = 16
    allow_hosts = ["intranet.example", "10.1.0.0/16"]

    [urls]
    arxiv_api = "http://127.0.0.1:8000/api/query"
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Mapping

from harvester.settings import SETTING_NAMES, Settings, SettingError, check_settings, env_overrides

CONFIG_ENV = "READINGLIST_CONFIG"
SECTIONS = ("fetch", "urls", "network")


class ConfigError(ValueError):
    """Settings that cannot be used: a config file that cannot be read, an
    unknown setting, or a value of the wrong type or out of range (in the file,
    the environment or the flags)."""


def default_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("readinglist")) / "config.toml"


def read_config_file(path: str | os.PathLike | None, *, required: bool) -> dict:
    """The settings in a TOML file; ``{}`` if it is the default path and absent."""
    if path is None:
        return {}
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: no such config file") from None
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config file ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    flat: dict = {}
    for key, value in data.items():
        if key in SECTIONS and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    unknown = sorted(set(flat) - SETTING_NAMES)
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r}")
    try:
        return check_settings(flat, label=lambda key: f"{path}: {key}")
    except SettingError as error:
        raise ConfigError(str(error)) from None


def load_settings(
    config_path: str | os.PathLike | None = None,
    flags: Mapping | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from defaults, overridden by the config file, the environment, then ``flags`` (None = unset)."""
    environ = os.environ if environ is None else environ
    required = config_path is not None or bool(environ.get(CONFIG_ENV))
    path = config_path or environ.get(CONFIG_ENV) or default_config_path()
    values = read_config_file(path, required=required)
    try:
        values.update(env_overrides(environ))
        values.update(check_settings({key: value for key, value in (flags or {}).items() if value is not None}))
    except SettingError as error:
        raise ConfigError(str(error)) from None
    return Settings(**values)
