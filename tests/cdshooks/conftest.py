"""Fixtures for the CDS Hooks tests: keys, a fixed clock, apps with JWT on (inline JWKS) or off
(the development flag)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cdstools import ISSUER, Client, FakeClock, Keys

from revspine.adapters.cdshooks import CdsService, CdsSettings
from revspine.web.cdshooks import cds_app


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(keys: Keys) -> CdsSettings:
    return CdsSettings(issuers={ISSUER: keys.jwks})


@pytest.fixture
def make_client(
    settings: CdsSettings, clock: FakeClock
) -> Iterator[Callable[..., tuple[Client, CdsService]]]:
    """Build an in-process client for a CDS app; keyword arguments: ``settings`` and ports."""
    made: list[Client] = []

    def make(**kwargs: Any) -> tuple[Client, CdsService]:
        cds_settings = kwargs.pop("settings", settings)
        kwargs.setdefault("clock", clock)
        service = CdsService(cds_settings, **kwargs)
        client = Client(cds_app(service=service))
        made.append(client)
        return client, service

    yield make
    for client in made:
        client.close()


@pytest.fixture
def signed(make_client: Callable[..., tuple[Client, CdsService]]) -> tuple[Client, CdsService]:
    """JWT verification on (the default), trusting the test EHR's keys."""
    return make_client()


@pytest.fixture
def dev(make_client: Callable[..., tuple[Client, CdsService]]) -> tuple[Client, CdsService]:
    """JWT verification off (the development setting)."""
    return make_client(settings=CdsSettings(allow_unsigned=True))
