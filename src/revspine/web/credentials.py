"""Passwords (argon2id), random tokens and their hashes, and account-name rules.

Passwords are hashed with argon2id (argon2-cffi's RFC 9106 low-memory profile by default).
Session cookies and API tokens are 256-bit random strings; only their SHA-256 is stored, so a
copy of the database does not let anyone sign in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from revspine.errors import InputError

__all__ = [
    "API_TOKEN_PREFIX",
    "Passwords",
    "check_password_policy",
    "check_username",
    "new_api_token",
    "new_token",
    "sign",
    "token_hash",
]

API_TOKEN_PREFIX = "rvs_"
MIN_PASSWORD = 12
MAX_PASSWORD = 256
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")


class Passwords:
    """Hash and verify passwords (argon2id); the cost is fixed per instance."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        """An argon2id hash of ``password``."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; never raises for a wrong or malformed hash."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def burn(self, password: str) -> None:
        """Spend the time of one verification (for unknown users: no timing oracle)."""
        if self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        self.verify(self._dummy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than this instance's."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


def check_username(name: str) -> str:
    """The normalised (lower-case) account name; InputError if it is not acceptable."""
    normal = name.strip().lower()
    if not _USERNAME.match(normal):
        raise InputError(
            "user name: 1-64 characters: letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit"
        )
    return normal


def check_password_policy(password: str, username: str) -> None:
    """InputError unless ``password`` is 12-256 characters and not the user name."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"password: at most {MAX_PASSWORD} characters")
    if password.strip().lower() == username.lower():
        raise InputError("password: must not be the user name")


def new_token() -> str:
    """A new random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    """A new personal API token (recognisable prefix + 256 random bits)."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sign(secret: bytes, value: str) -> str:
    """HMAC-SHA-256 of ``value`` under ``secret`` (hex)."""
    return hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
