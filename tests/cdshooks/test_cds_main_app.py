"""The CDS Hooks routes inside the main web app (``create_app``): served, JWT on by default,
CORS kept, and absent from the revspine API's OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import pytest
from cdstools import Client

from revspine.settings import Settings
from revspine.web import create_app

pytestmark = pytest.mark.req("REQ-403")


def test_main_app_serves_cds_hooks_with_jwt_on(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", secret_key="k" * 40)
    client = Client(create_app(settings))
    try:
        discovery = client.get("/cds-services")
        assert discovery.status_code == 200
        assert {s["hook"] for s in discovery.json()["services"]} == {
            "patient-view",
            "order-select",
            "order-sign",
        }
        assert discovery.headers["access-control-allow-origin"] == "*"
        assert discovery.headers["x-content-type-options"] == "nosniff"  # the app's hardening
        refused = client.post("/cds-services/revspine-patient-view", json={})
        assert refused.status_code == 401 and refused.content == b""  # no issuer configured
        paths = client.get("/api/v1/openapi.json").json()["paths"]
        assert not any(p.startswith("/cds-services") for p in paths)
    finally:
        client.close()
