"""What every request handler needs: settings, store, knowledge, clock and credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import Request

from revspine.knowledge import Knowledge
from revspine.settings import Settings
from revspine.storage import Clock, Store
from revspine.web.credentials import Passwords


@dataclass(frozen=True)
class AppContext:
    """The application's collaborators, built once by ``create_app``."""

    settings: Settings
    store: Store
    knowledge: Knowledge
    clock: Clock
    secret: bytes
    passwords: Passwords

    def today(self) -> date:
        """Today's date (UTC) by the app's clock."""
        return self.clock().date()


def app_context(request: Request) -> AppContext:
    """The context of the app serving ``request``."""
    ctx: AppContext = request.app.state.ctx
    return ctx


def client_ip(request: Request) -> str:
    """The client's address as the server sees it (no proxy headers are trusted)."""
    return request.client.host if request.client else "unknown"
