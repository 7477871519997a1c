"""The settings registry (STYLE §4): one declaration drives every way of configuring revspine.

Each field of :class:`Settings` is a setting: its name, type, default and help text. The same
list is read, in increasing priority, from the defaults, an optional TOML file
(``REVSPINE_CONFIG`` or ``--config``; top-level keys), ``REVSPINE_<NAME>`` environment variables
and ``--setting NAME VALUE`` on the command line. ``docs/SETTINGS.md`` is generated from it
(``revspine settings --format md``) and a test fails when the page is out of date.

This is the only module that reads ``os.environ``. Settings travel as an object; there are no
module-level globals.
"""

from __future__ import annotations

import difflib
import os
import re
import secrets
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from revspine.errors import ConfigError

__all__ = [
    "ENV_PREFIX",
    "SETTINGS",
    "describe",
    "Setting",
    "Settings",
    "load_settings",
    "render_settings_markdown",
    "resolve_secret_key",
]

ENV_PREFIX = "REVSPINE_"
CONFIG_ENV = "REVSPINE_CONFIG"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _setting(
    default: object, help: str, *, minimum: int | None = None, secret: bool = False
) -> Any:
    return field(default=default, metadata={"help": help, "minimum": minimum, "secret": secret})


@dataclass(frozen=True)
class Settings:
    """Every setting of revspine with its value (defaults work with no setup)."""

    database_url: str = _setting(
        "sqlite:///revspine.db",
        "SQLAlchemy URL of the database. The default is an SQLite file (WAL mode) in the working "
        "directory; PostgreSQL: `postgresql+psycopg://user:password@host/dbname`.",
    )
    db_auto_upgrade: bool = _setting(
        True, "Apply pending database migrations when the web app starts."
    )
    secret_key: str = _setting(
        "",
        "Secret used to sign the anonymous CSRF token of the sign-in forms. Empty: read from "
        "`secret_key_file`, generating it (mode 0600) on first use.",
        secret=True,
    )
    secret_key_file: str = _setting(
        "revspine.secret", "File holding the generated secret key when `secret_key` is empty."
    )
    knowledge_override: str = _setting(
        "",
        "Site override (partial TOML knowledge file) merged on the built-in knowledge base for "
        "every assessment the web app makes. Empty: the built-in base only.",
    )
    session_lifetime_minutes: int = _setting(
        720, "A signed-in session ends this long after sign-in, whatever the activity.", minimum=1
    )
    session_idle_minutes: int = _setting(
        30, "A signed-in session ends after this long without a request.", minimum=1
    )
    cookie_secure: bool = _setting(
        False,
        "Send cookies with the Secure flag (HTTPS only) and HSTS. Turn on whenever the app is "
        "served over TLS, which is required anywhere but loopback.",
    )
    require_totp: bool = _setting(
        False,
        "Require a TOTP second factor for every web sign-in. Users without one cannot sign in "
        "until enrolled with `revspine user totp USER`.",
    )
    login_max_failures: int = _setting(
        5,
        "Failed sign-ins allowed per user name and client address within `login_window_minutes`; "
        "further attempts are refused until the window has passed.",
        minimum=1,
    )
    login_max_failures_per_ip: int = _setting(
        50,
        "Failed sign-ins allowed per client address (any user name) within "
        "`login_window_minutes` (password spraying).",
        minimum=1,
    )
    login_window_minutes: int = _setting(
        15, "The window over which failed sign-ins are counted.", minimum=1
    )
    audit_retention_days: int = _setting(
        2192,
        "Audit entries older than this may be removed by `revspine audit prune` (default six "
        "years, the HIPAA documentation retention period). The chain stays verifiable.",
        minimum=1,
    )
    page_size: int = _setting(
        50, "Cases per page in the case list and the API's default `limit`.", minimum=1
    )
    cds_issuers: str = _setting(
        "",
        "CDS Hooks: allow-listed JWT issuers as a JSON object, `iss` → JWKS URL or inline JWK "
        "Set. Empty: every CDS Hooks call is refused (401) unless `cds_allow_unsigned`.",
    )
    cds_allow_unsigned: bool = _setting(
        False,
        "CDS Hooks, DEVELOPMENT ONLY: accept calls without a JWT (logged loudly at start-up).",
    )
    cds_base_url: str = _setting(
        "",
        "CDS Hooks: public base URL; the JWT `aud` must equal `{base}/cds-services/{id}`. Empty: "
        "taken from the request's Host header (set it in production).",
    )
    cds_require_https_fhir: bool = _setting(
        True, "CDS Hooks: refuse a plain-http `fhirServer` when fetching missing prefetch."
    )


@dataclass(frozen=True)
class Setting:
    """One setting: name, type, default and help (as listed in docs/SETTINGS.md)."""

    name: str
    type: type
    default: object
    help: str
    minimum: int | None = None
    secret: bool = False

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return ENV_PREFIX + self.name.upper()


def _registry() -> tuple[Setting, ...]:
    hints = get_type_hints(Settings)
    return tuple(
        Setting(
            name=f.name,
            type=hints[f.name],
            default=f.default,
            help=f.metadata["help"],
            minimum=f.metadata["minimum"],
            secret=f.metadata["secret"],
        )
        for f in fields(Settings)
    )


SETTINGS: tuple[Setting, ...] = _registry()
_BY_NAME = {s.name: s for s in SETTINGS}


def _lookup(name: str, where: str) -> Setting:
    key = name.strip().lower().replace("-", "_")
    setting = _BY_NAME.get(key)
    if setting is None:
        close = difflib.get_close_matches(key, list(_BY_NAME), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{where}: unknown setting {name!r}{hint}", name)
    return setting


def _convert(setting: Setting, raw: object, where: str) -> object:
    value: object
    if setting.type is bool:
        if isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            value = raw.strip().lower() in _TRUE
        else:
            raise ConfigError(
                f"{where}: setting {setting.name!r} expects true or false, got {raw!r}",
                setting.name,
            )
    elif setting.type is int:
        try:
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ValueError
            value = int(raw)
        except ValueError:
            raise ConfigError(
                f"{where}: setting {setting.name!r} expects a whole number, got {raw!r}",
                setting.name,
            ) from None
        if setting.minimum is not None and value < setting.minimum:
            raise ConfigError(
                f"{where}: setting {setting.name!r} must be at least {setting.minimum}, got {value}",
                setting.name,
            )
    else:
        if not isinstance(raw, str):
            raise ConfigError(
                f"{where}: setting {setting.name!r} expects text, got {raw!r}", setting.name
            )
        value = raw
    return value


def _read_config(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the settings file: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return data


def load_settings(
    cli: Iterable[tuple[str, str]] = (),
    *,
    env: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Settings from defaults < TOML file < ``REVSPINE_*`` environment < ``--setting`` pairs.

    Raises :class:`ConfigError` naming the setting and its source for an unknown name or a
    value of the wrong type. Unknown ``REVSPINE_*`` variables are ignored (tests and tools use
    the prefix too).
    """
    environ = os.environ if env is None else env
    values: dict[str, Any] = {}
    path = config_file or (Path(environ[CONFIG_ENV]) if environ.get(CONFIG_ENV) else None)
    if path is not None:
        for name, raw in _read_config(path).items():
            setting = _lookup(name, str(path))
            values[setting.name] = _convert(setting, raw, str(path))
    for setting in SETTINGS:
        if setting.env in environ:
            values[setting.name] = _convert(setting, environ[setting.env], setting.env)
    for name, raw in cli:
        setting = _lookup(name, "--setting")
        values[setting.name] = _convert(setting, raw, f"--setting {setting.name}")
    return Settings(**values)


def resolve_secret_key(settings: Settings) -> bytes:
    """The secret key: the setting, else the key file (created with mode 0600 when missing)."""
    if settings.secret_key:
        return settings.secret_key.encode("utf-8")
    path = Path(settings.secret_key_file)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot create the secret key file: {exc.strerror or exc}", "secret_key_file"
        ) from None
    else:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the secret key file: {exc.strerror or exc}", "secret_key_file"
        ) from None
    if len(key) < 32:
        raise ConfigError(
            f"{path}: the secret key is too short (at least 32 characters)", "secret_key_file"
        )
    return key.encode("utf-8")


def describe(settings: Settings) -> dict[str, object]:
    """The effective settings as a mapping, secrets masked (for ``/settings`` and the CLI)."""
    out: dict[str, object] = {}
    for setting in SETTINGS:
        value = getattr(settings, setting.name)
        if setting.secret and value:
            value = "********"
        elif isinstance(value, str) and "://" in value:
            value = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1********@", value)  # a password in a URL
        out[setting.name] = value
    return out


def _default_text(setting: Setting) -> str:
    if setting.type is bool:
        return "true" if setting.default else "false"
    if setting.default == "":
        return "(empty)"
    return str(setting.default)


def render_settings_markdown() -> str:
    """docs/SETTINGS.md: every setting with its type, default, variable and help."""
    lines = [
        "# Settings",
        "",
        "<!-- Generated by `revspine settings --format md`; do not edit by hand. -->",
        "",
        "Every setting can be given, in increasing priority, in a TOML file (top-level keys; "
        f"path in `{CONFIG_ENV}`), as an environment variable `{ENV_PREFIX}<NAME>` or on the "
        "command line as `--setting NAME VALUE`. Booleans accept true/false, yes/no, on/off, 1/0.",
        "",
        "| Setting | Type | Default | Environment variable |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        lines.append(f"| `{s.name}` | {s.type.__name__} | `{_default_text(s)}` | `{s.env}` |")
    lines.append("")
    for s in SETTINGS:
        lines += [f"## `{s.name}`", "", s.help]
        if s.minimum is not None:
            lines += ["", f"Minimum: {s.minimum}."]
        lines.append("")
    return "\n".join(lines)
