"""JWT verification for CDS Hooks calls (CDS Hooks 2.0 "Trusting CDS Clients").

Every check fails closed with :class:`AuthenticationError`, whose reason is logged (with the
issuer and ``jti``, never the token) but never returned: the caller sees a bare 401.

* header: ``alg`` is ES384 or RS384 (``none`` and every HMAC algorithm refused), ``kid``
  required, ``typ`` (when present) ``JWT``, ``jku`` (when present) equal to the issuer's
  configured JWKS URL, no ``crit``;
* key: the issuer (``iss``) is allow-listed; its key ``kid`` is looked up in the configured JWK
  Set or the cached JWKS (refetched on an unknown ``kid`` at most every
  ``jwks_refresh_interval_s``); the key type and curve must fit ``alg``;
* claims: ``aud`` (string or array) contains the exact URL being called; ``exp`` not passed,
  ``iat`` not in the future (both with ``clock_skew_s``), ``nbf`` respected, the token expires
  within ``max_token_lifetime_s``; ``jti`` not seen before (in-memory replay cache until
  ``exp``).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from revspine.adapters.cdshooks.config import CdsSettings
from revspine.adapters.cdshooks.errors import AuthenticationError
from revspine.errors import ConfigError

__all__ = ["ALGORITHMS", "JwtVerifier", "KeyStore", "ReplayCache", "VerifiedCaller"]

ALGORITHMS = ("ES384", "RS384")
_KTY = {"ES384": "EC", "RS384": "RSA"}
_MAX_TOKEN_CHARS = 16_384
_MIN_RSA_BITS = 2048
_log = logging.getLogger("revspine.cdshooks.auth")


@dataclass(frozen=True)
class VerifiedCaller:
    """Who called (safe to log): issuer, token id and tenant."""

    iss: str
    jti: str
    tenant: str | None = None


class ReplayCache:
    """``(iss, jti)`` pairs seen, each kept until its token expires. Full → refuse (fail closed)."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._seen: dict[tuple[str, str], float] = {}
        self._next_purge = 0.0

    def add(self, iss: str, jti: str, exp: float, now: float) -> bool:
        """Remember the pair; False when it was already seen (a replay) or the cache is full."""
        if now >= self._next_purge or len(self._seen) >= self.max_size:
            self._seen = {k: e for k, e in self._seen.items() if e > now}
            self._next_purge = now + 60
        key = (iss, jti)
        if key in self._seen or len(self._seen) >= self.max_size:
            return False
        self._seen[key] = exp
        return True


class KeyStore:
    """The allow-listed issuers' public keys: inline JWK Sets, or JWKS URLs fetched and cached."""

    def __init__(
        self,
        settings: CdsSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.monotonic = monotonic
        self._inline: dict[str, KeySet] = {}
        self._fetched: dict[str, tuple[KeySet, float]] = {}
        self._last_try: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        for iss, source in settings.issuers.items():
            if isinstance(source, Mapping):
                self._inline[iss] = _key_set(source, f"issuer {iss!r}")

    async def key(self, iss: str, kid: str, jku: str | None) -> ECKey | RSAKey:
        """The issuer's signing key ``kid``; raises :class:`AuthenticationError`."""
        source = self.settings.issuers.get(iss)
        if source is None:
            raise AuthenticationError("issuer not allow-listed")
        if isinstance(source, Mapping):
            if jku is not None:
                raise AuthenticationError("jku given for an issuer with configured keys")
            return _pick(self._inline[iss], kid)
        if jku is not None and jku != source:
            raise AuthenticationError("jku is not the issuer's allow-listed JWKS URL")
        now = self.monotonic()
        cached = self._fetched.get(source)
        if cached is not None and now - cached[1] < self.settings.jwks_ttl_s:
            try:
                return _pick(cached[0], kid)
            except AuthenticationError:
                if now - self._last_try.get(source, 0.0) < self.settings.jwks_refresh_interval_s:
                    raise
        lock = self._locks.setdefault(source, asyncio.Lock())
        async with lock:
            keys = await self._refresh(source, now)
        return _pick(keys, kid)

    async def _refresh(self, url: str, now: float) -> KeySet:
        cached = self._fetched.get(url)
        if cached is not None and cached[1] >= now:  # refreshed while we waited for the lock
            return cached[0]
        self._last_try[url] = now
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=2.0) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            keys = _key_set(orjson.loads(response.content), url)
        except (httpx.HTTPError, orjson.JSONDecodeError, ConfigError) as exc:
            _log.warning("JWKS fetch failed for %s: %s", url, type(exc).__name__)
            if cached is not None:
                return cached[0]  # keep serving the last good set
            raise AuthenticationError("JWKS unavailable") from None
        self._fetched[url] = (keys, self.monotonic())
        return keys


class JwtVerifier:
    """Verifies the bearer JWT of one call against the exact URL being called."""

    def __init__(
        self,
        settings: CdsSettings,
        keys: KeyStore,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.now = now
        self.replay = ReplayCache(settings.replay_cache_size)

    async def verify(self, authorization: str | None, audience: str) -> VerifiedCaller:
        """Check the ``Authorization`` header; return the caller or raise (reason logged)."""
        iss = jti = None
        try:
            token = _bearer(authorization)
            header, claims = _unverified(token)
            iss, jti = claims.get("iss"), claims.get("jti")
            alg, kid = header.get("alg"), header.get("kid")
            if alg not in ALGORITHMS:
                raise AuthenticationError(f"algorithm {alg!r} refused")
            if not isinstance(kid, str) or not kid:
                raise AuthenticationError("kid missing")
            if header.get("typ") not in (None, "JWT") or "crit" in header:
                raise AuthenticationError("typ or crit header refused")
            if not isinstance(iss, str) or not iss:
                raise AuthenticationError("iss missing")
            jku = header.get("jku")
            key = await self.keys.key(iss, kid, jku if isinstance(jku, str) else None)
            if key.key_type != _KTY[alg]:
                raise AuthenticationError("key type does not fit alg")
            try:
                jwt.decode(token, key, algorithms=[alg])
            except JoseError as exc:
                raise AuthenticationError(f"signature: {exc.error}") from None
            return self._claims(claims, audience)
        except AuthenticationError as exc:
            _log.info("CDS Hooks JWT refused: %s (iss=%r, jti=%r)", exc.reason, iss, jti)
            raise

    def _claims(self, claims: dict[str, Any], audience: str) -> VerifiedCaller:
        now, skew = self.now(), self.settings.clock_skew_s
        aud = claims.get("aud")
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if audience not in auds:
            raise AuthenticationError("aud is not this service's URL")
        exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
        nbf = _number(claims.get("nbf"))
        if exp is None or iat is None:
            raise AuthenticationError("exp or iat missing")
        if now > exp + skew:
            raise AuthenticationError("expired")
        if iat > now + skew:
            raise AuthenticationError("iat in the future")
        if ("nbf" in claims and nbf is None) or (nbf is not None and nbf > now + skew):
            raise AuthenticationError("not yet valid (nbf)")
        if exp - now > self.settings.max_token_lifetime_s:
            raise AuthenticationError("token lifetime too long")
        jti, iss = claims.get("jti"), claims["iss"]
        if not isinstance(jti, str) or not 0 < len(jti) <= 256:
            raise AuthenticationError("jti missing")
        if not self.replay.add(iss, jti, exp + skew, now):
            raise AuthenticationError("jti replayed (or replay cache full)")
        tenant = claims.get("tenant")
        return VerifiedCaller(iss, jti, tenant if isinstance(tenant, str) else None)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationError("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > _MAX_TOKEN_CHARS:
        raise AuthenticationError("not a bearer token")
    return token


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before the signature is checked (used only to find the key)."""
    try:
        obj = jws.extract_compact(token.encode("ascii"))
        claims = orjson.loads(obj.payload)
    except (JoseError, ValueError, UnicodeError):
        raise AuthenticationError("malformed token") from None
    if not isinstance(claims, dict):
        raise AuthenticationError("claims are not an object")
    return dict(obj.protected), claims


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _key_set(data: Any, where: str) -> KeySet:
    """Public signing keys (EC P-384 and RSA) of a JWK Set; anything else is left out."""
    if not isinstance(data, Mapping) or not isinstance(data.get("keys"), list):
        raise ConfigError(f"{where}: not a JWK Set (an object with 'keys')")
    usable = [
        {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
        for jwk in data["keys"]
        if isinstance(jwk, Mapping)
        and isinstance(jwk.get("kid"), str)
        and jwk.get("use", "sig") == "sig"
        and (
            (jwk.get("kty") == "RSA" and _rsa_bits(jwk) >= _MIN_RSA_BITS)
            or (jwk.get("kty") == "EC" and jwk.get("crv") == "P-384")
        )
    ]
    if len(usable) < len(data["keys"]):
        _log.warning(
            "%s: %d key(s) left out (not an ES384/RS384 signing key)",
            where,
            len(data["keys"]) - len(usable),
        )
    try:
        return KeySet.import_key_set({"keys": usable})
    except (JoseError, ValueError) as exc:
        raise ConfigError(f"{where}: invalid JWK Set: {exc}") from None


def _rsa_bits(jwk: Mapping[str, Any]) -> int:
    """Modulus length of an RSA JWK (0 when unreadable)."""
    n = jwk.get("n")
    if not isinstance(n, str):
        return 0
    try:
        raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except ValueError:
        return 0
    return int.from_bytes(raw, "big").bit_length()


def _pick(keys: KeySet, kid: str) -> ECKey | RSAKey:
    try:
        key = keys.get_by_kid(kid)
    except (JoseError, ValueError, KeyError):
        raise AuthenticationError("unknown kid") from None
    if not isinstance(key, ECKey | RSAKey):
        raise AuthenticationError("unusable key type")
    if isinstance(key, RSAKey) and key.public_key.key_size < _MIN_RSA_BITS:
        raise AuthenticationError("RSA key shorter than 2048 bits")
    return key
