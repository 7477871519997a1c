"""Helpers shared by the end-to-end tests (a module name of its own: every test folder's
conftest is called ``conftest``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LiveApp:
    """The served app: its base URL, the test user's credentials and the store."""

    url: str
    username: str
    password: str
    store: Any
