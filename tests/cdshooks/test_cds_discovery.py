"""Discovery (CDS Hooks 2.0 §Discovery), its prefetch templates, CORS and the start-up warning."""

from __future__ import annotations

import logging
from urllib.parse import unquote

import jsonschema
import pytest
from cds_schemas import DISCOVERY, RESPONSE
from cdstools import CDS_DOCS, Client, load_json

from revspine.adapters.cdshooks import CdsService, CdsSettings, prefetch_specs
from revspine.adapters.cdshooks.prefetch import expand
from revspine.adapters.fhir._maps import load_maps
from revspine.web.cdshooks import cds_app

pytestmark = pytest.mark.req("REQ-403")


def test_discovery_validates_and_lists_the_three_hooks(signed: tuple[Client, CdsService]) -> None:
    client, _ = signed
    response = client.get("/cds-services")  # no JWT needed: discovery holds no patient data
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    jsonschema.validate(body, DISCOVERY)
    hooks = {s["hook"]: s for s in body["services"]}
    assert set(hooks) == {"patient-view", "order-select", "order-sign"}
    for service in body["services"]:
        assert service["title"] and service["description"]
        assert set(service["prefetch"]) >= {"patient", "conditions", "observations", "procedures"}


def test_our_schemas_accept_the_official_examples() -> None:
    """The test schemas are no stricter than the spec: the official examples pass them."""
    jsonschema.validate(load_json(CDS_DOCS / "discovery-response.json"), DISCOVERY)
    jsonschema.validate(load_json(CDS_DOCS / "discovery-response-with-extension.json"), DISCOVERY)
    for name in ("response-cards.json", "response-empty.json", "example-opioid-card.json"):
        body = load_json(CDS_DOCS / name)
        body.setdefault("cards", [])
        jsonschema.validate(body, RESPONSE)


def test_observation_prefetch_asks_for_every_loinc_code_the_importer_maps() -> None:
    template = next(s.template for s in prefetch_specs() if s.key == "observations")
    mapped = {
        r.code
        for r in load_maps().rows
        if r.resource == "Observation"
        and r.system == "http://loinc.org"
        and not r.target.startswith("ignore:")
    }
    for code in mapped:
        assert f"http://loinc.org|{code}" in template
    assert "8310-5" not in template  # body temperature is ignored by the importer


def test_templates_expand_context_and_user_tokens() -> None:
    context = {"patientId": "a b/1", "userId": "PractitionerRole/pr-9", "encounterId": 42}
    assert expand("Patient/{{context.patientId}}", context) == "Patient/a%20b%2F1"
    assert expand("Encounter/{{ context.encounterId }}", context) == "Encounter/42"
    assert expand("PractitionerRole?_id={{userPractitionerRoleId}}", context).endswith("pr-9")
    spec_template = next(s.template for s in prefetch_specs() if s.key == "observations")
    assert unquote(expand(spec_template, context)).startswith("Observation?patient=a b/1&code=")


@pytest.mark.parametrize("template", ["{{context.missing}}", "{{userPractitionerId}}"])
def test_unresolvable_token_is_a_request_error(template: str) -> None:
    from revspine.adapters.cdshooks import CdsHooksRequestError

    with pytest.raises(CdsHooksRequestError):
        expand(template, {"userId": "PractitionerRole/1"})


@pytest.mark.parametrize(
    "path",
    ["/cds-services", "/cds-services/revspine-order-sign", "/cds-services/x/feedback"],
)
def test_cors_preflight_allows_any_origin_with_authorization(
    signed: tuple[Client, CdsService], path: str
) -> None:
    client, _ = signed
    response = client.request(
        "OPTIONS",
        path,
        headers={
            "Origin": "https://ehr.example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in response.headers["access-control-allow-headers"]
    assert "Content-Type" in response.headers["access-control-allow-headers"]
    assert "POST" in response.headers["access-control-allow-methods"]


def test_cors_header_on_answers_and_errors(signed: tuple[Client, CdsService]) -> None:
    client, _ = signed
    assert client.get("/cds-services").headers["access-control-allow-origin"] == "*"
    refused = client.post("/cds-services/revspine-patient-view", json={})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "*"


def test_discovery_can_require_a_jwt(make_client, keys, clock) -> None:  # type: ignore[no-untyped-def]
    from cdstools import ISSUER, auth

    client, _ = make_client(
        settings=CdsSettings(issuers={ISSUER: keys.jwks}, discovery_requires_jwt=True)
    )
    assert client.get("/cds-services").status_code == 401
    ok = client.get("/cds-services", headers=auth(keys, "/cds-services", clock))
    assert ok.status_code == 200


def test_unsigned_mode_says_so_loudly_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="revspine.cdshooks"):
        cds_app(CdsSettings(allow_unsigned=True))
    loud = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert loud and "DISABLED" in loud[0].getMessage()


def test_jwt_is_on_by_default(caplog: pytest.LogCaptureFixture) -> None:
    assert CdsSettings().allow_unsigned is False
    assert CdsSettings.from_env({}).allow_unsigned is False
    assert CdsSettings.from_env({"REVSPINE_CDS_ALLOW_UNSIGNED": "1"}).allow_unsigned is True
    with caplog.at_level(logging.WARNING, logger="revspine.cdshooks"):
        cds_app(CdsSettings())
    assert not any("DISABLED" in r.getMessage() for r in caplog.records)
