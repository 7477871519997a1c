"""Configuration of the CDS Hooks service: trusted issuers, JWT rules, FHIR call-back limits.

:class:`CdsSettings` is a plain frozen value. It can be built directly (tests, embedding), from
a mapping of ``REVSPINE_CDS_*`` variables (:meth:`CdsSettings.from_env`; the caller passes the
mapping, this module never reads ``os.environ``) or from the project's
:class:`~revspine.settings.Settings` (:meth:`CdsSettings.from_settings`, which reads the
``cds_*`` settings once they are registered there and falls back to the defaults).

JWT verification is on by default. Only ``allow_unsigned=True`` turns it off, for development.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from revspine.errors import ConfigError

__all__ = ["ENV_PREFIX", "CdsSettings", "IssuerKeys"]

ENV_PREFIX = "REVSPINE_CDS_"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})

IssuerKeys = str | Mapping[str, Any]
"""Where an issuer's keys come from: a JWKS URL, or an inline JWK Set (``{"keys": [...]}``)."""


@dataclass(frozen=True)
class CdsSettings:
    """Every setting of the CDS Hooks service, with safe defaults."""

    issuers: Mapping[str, IssuerKeys] = field(default_factory=dict)
    """Allow-listed JWT issuers (``iss``) → JWKS URL or inline JWK Set. Empty: every call is
    refused (401) unless ``allow_unsigned``."""
    allow_unsigned: bool = False
    """DEVELOPMENT ONLY: accept calls without a JWT. Logged loudly at start-up."""
    base_url: str = ""
    """Public base URL (``https://cds.example.org``); the JWT ``aud`` must equal
    ``{base_url}/cds-services/{id}``. Empty: taken from the request (trusts the Host header)."""
    discovery_requires_jwt: bool = False
    """Also require a JWT for ``GET /cds-services`` (it carries no patient data)."""
    clock_skew_s: int = 60
    """Tolerance for ``exp`` and ``iat`` against the server clock, in seconds."""
    max_token_lifetime_s: int = 3600
    """Tokens that expire further in the future are refused (bounds the replay cache)."""
    jwks_ttl_s: int = 600
    """How long a fetched JWKS is cached."""
    jwks_refresh_interval_s: int = 60
    """An unknown ``kid`` refetches the issuer's JWKS at most this often (key rotation)."""
    replay_cache_size: int = 1_000_000
    """Most ``jti`` values remembered; when full (after expiry), new tokens are refused."""
    fhir_timeout_s: float = 2.0
    """Total time budget for fetching missing prefetch from ``fhirServer``."""
    fhir_max_pages: int = 5
    """Most search pages followed per prefetch key (``Bundle.link[next]``)."""
    require_https_fhir: bool = True
    """Refuse a plain-http ``fhirServer`` (the spec requires https in production)."""
    fhir_server_allowlist: tuple[str, ...] = ()
    """URL prefixes a ``fhirServer`` must start with. Empty: any (https) server."""
    feedback_max_items: int = 100
    """Most feedback entries accepted in one POST."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CdsSettings:
        """Settings from ``REVSPINE_CDS_<NAME>`` entries of ``env`` (e.g. ``os.environ``).

        ``REVSPINE_CDS_ISSUERS`` is a JSON object (iss → JWKS URL or JWK Set);
        ``REVSPINE_CDS_FHIR_SERVER_ALLOWLIST`` is comma-separated."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _convert(f.name, raw, ENV_PREFIX + f.name.upper())
        return replace(cls(), **values)

    @classmethod
    def from_settings(cls, settings: object) -> CdsSettings:
        """Settings from the project's settings object: its ``cds_<name>`` attributes, when
        present (text values are parsed as for :meth:`from_env`)."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if hasattr(settings, "cds_" + f.name):
                raw = getattr(settings, "cds_" + f.name)
                if isinstance(raw, str) and not raw.strip() and f.name == "issuers":
                    continue  # not configured
                values[f.name] = (
                    _convert(f.name, raw, "cds_" + f.name) if isinstance(raw, str) else raw
                )
        return replace(cls(), **values)


def _convert(name: str, raw: str, where: str) -> Any:
    default = getattr(CdsSettings(), name)
    text = raw.strip()
    if isinstance(default, bool):
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ConfigError(f"{where}: expected true or false, got {raw!r}", where)
    if isinstance(default, int | float):
        try:
            number = type(default)(text)
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {raw!r}", where) from None
        if number <= 0:
            raise ConfigError(f"{where}: must be positive, got {raw!r}", where)
        return number
    if isinstance(default, tuple):
        return tuple(p.strip() for p in text.split(",") if p.strip())
    if name == "issuers":
        return _issuers(text, where)
    return text.rstrip("/") if name == "base_url" else text


def _issuers(text: str, where: str) -> dict[str, IssuerKeys]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{where}: invalid JSON: {exc}", where) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object iss -> JWKS URL or JWK Set", where)
    for iss, keys in data.items():
        if not (isinstance(keys, str) and keys) and not (
            isinstance(keys, dict) and isinstance(keys.get("keys"), list)
        ):
            raise ConfigError(
                f"{where}: issuer {iss!r}: expected a JWKS URL or a JWK Set object", where
            )
    return data
