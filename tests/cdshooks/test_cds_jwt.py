"""JWT verification (CDS Hooks 2.0 "Trusting CDS Clients"): ES384/RS384 from allow-listed
issuers, ``aud`` = the exact URL, ``exp``/``iat``/``jti``; every failure a bare 401."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from cdstools import (
    BASE,
    ISSUER,
    PV,
    SIGN,
    SMALL_RSA_JWKS,
    Client,
    FakeClock,
    Keys,
    example_case,
    fhir_bundle,
    hmac_token,
    prefetch_from_bundle,
    request_body,
    small_rsa_token,
    unsigned_token,
)
from joserfc.jwk import ECKey

from revspine.adapters.cdshooks import CdsService, CdsSettings

pytestmark = pytest.mark.req("REQ-403")

PATH = f"/cds-services/{PV}"
URL = BASE + PATH


@pytest.fixture(scope="module")
def body() -> dict[str, Any]:
    return request_body(
        "patient-view",
        prefetch_from_bundle(fhir_bundle(example_case("07_suspected_pseudarthrosis_no_ct"))),
    )


def _call(
    client: Client, token: str | None, body: dict[str, Any], path: str = PATH
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.post(path, json=body, headers=headers)


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.content == b""  # a bare 401: no reason leaks
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_good_tokens_are_accepted(alg, signed, keys, clock, body) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    assert _call(client, keys.token(URL, alg=alg, now=clock()), body).status_code == 200
    listed = keys.token([URL, "https://other.example/x"], alg=alg, now=clock())
    assert _call(client, listed, body).status_code == 200


def _tampered(token: str) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["iss"] = claims["iss"] + "x"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


BAD_TOKENS = {
    "none alg": lambda k, c: unsigned_token(URL, c()),
    "HS256": lambda k, c: hmac_token(URL, c(), b"0123456789abcdef0123456789abcdef"),
    "ES256 (not allowed)": lambda k, c: k.token(
        URL, alg="ES256", now=c(), key=ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
    ),
    "wrong aud (other service)": lambda k, c: k.token(f"{BASE}/cds-services/{SIGN}", now=c()),
    "aud without path": lambda k, c: k.token(BASE, now=c()),
    "expired": lambda k, c: k.token(URL, now=c(), lifetime=-120),
    "iat in the future": lambda k, c: k.token(URL, now=c().replace(year=c().year + 1)),
    "lifetime too long": lambda k, c: k.token(URL, now=c(), lifetime=86_400),
    "no jti": lambda k, c: k.token(URL, now=c(), drop=("jti",)),
    "no exp": lambda k, c: k.token(URL, now=c(), drop=("exp",)),
    "no iat": lambda k, c: k.token(URL, now=c(), drop=("iat",)),
    "unknown kid": lambda k, c: k.token(URL, now=c(), header={"kid": "nope"}),
    "no kid": lambda k, c: k.token(URL, now=c(), header={"kid": None}),
    "unknown issuer": lambda k, c: k.token(URL, now=c(), iss="https://attacker.example"),
    "foreign key with our kid": lambda k, c: k.token(
        URL, now=c(), key=ECKey.generate_key("P-384", parameters={"kid": "ec-1"})
    ),
    "typ not JWT": lambda k, c: k.token(URL, now=c(), header={"typ": "at+jwt"}),
    "jku elsewhere": lambda k, c: k.token(
        URL, now=c(), header={"jku": "https://attacker.example/jwks"}
    ),
    "nbf in the future": lambda k, c: k.token(
        URL, now=c().replace(year=c().year + 1), lifetime=3000
    ),
    "tampered claims": lambda k, c: _tampered(k.token(URL, now=c())),
    "garbage": lambda k, c: "not.a.jwt",
}


@pytest.mark.parametrize("name", sorted(BAD_TOKENS))
def test_bad_tokens_get_a_bare_401(name, signed, keys, clock, body) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    _refused(_call(client, BAD_TOKENS[name](keys, clock), body))


def test_rsa_key_under_2048_bits_is_refused(make_client, keys, clock, body) -> None:  # type: ignore[no-untyped-def]
    token = small_rsa_token(URL, clock())
    jwks = {"keys": [*keys.jwks["keys"], *SMALL_RSA_JWKS["keys"]]}
    client, _ = make_client(settings=CdsSettings(issuers={ISSUER: jwks}))
    _refused(_call(client, token, body))


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer " + "x" * 20_000])
def test_missing_or_odd_authorization_is_401(header, signed, body) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    headers = {"Authorization": header} if header else {}
    _refused(client.post(PATH, json=body, headers=headers))


def test_replayed_jti_is_refused(signed, keys, clock, body) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    token = keys.token(URL, now=clock())
    assert _call(client, token, body).status_code == 200
    _refused(_call(client, token, body))
    same_jti = keys.token(URL, now=clock(), jti="fixed-jti")
    assert _call(client, same_jti, body).status_code == 200
    _refused(_call(client, keys.token(URL, now=clock(), jti="fixed-jti"), body))


def test_small_clock_skew_is_tolerated(signed, keys, clock, body) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    early = clock().replace(second=30)  # issued 30 s "in the future" by the client's clock
    assert _call(client, keys.token(URL, now=early), body).status_code == 200


def test_failures_are_logged_without_the_token(signed, keys, clock, body, caplog) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    token = keys.token(f"{BASE}/elsewhere", now=clock())
    with caplog.at_level("INFO", logger="revspine.cdshooks.auth"):
        _refused(_call(client, token, body))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "aud is not this service's URL" in logged and ISSUER in logged
    assert token not in logged and token.split(".")[2] not in logged


def test_configured_base_url_is_the_audience(make_client, keys, clock, body) -> None:  # type: ignore[no-untyped-def]
    settings = CdsSettings(issuers={ISSUER: keys.jwks}, base_url="https://cds.example.org")
    client, _ = make_client(settings=settings)
    _refused(_call(client, keys.token(URL, now=clock()), body))  # Host-derived URL not trusted
    public = "https://cds.example.org" + PATH
    assert _call(client, keys.token(public, now=clock()), body).status_code == 200


def test_feedback_needs_a_token_for_the_feedback_url(signed, keys, clock) -> None:  # type: ignore[no-untyped-def]
    client, _ = signed
    path = f"{PATH}/feedback"
    feedback = {
        "feedback": [
            {"card": "c1", "outcome": "overridden", "outcomeTimestamp": "2026-11-01T09:00:00Z"}
        ]
    }
    _refused(
        client.post(
            path, json=feedback, headers={"Authorization": f"Bearer {keys.token(URL, now=clock())}"}
        )
    )
    ok = client.post(
        path,
        json=feedback,
        headers={"Authorization": f"Bearer {keys.token(BASE + path, now=clock())}"},
    )
    assert ok.status_code == 200


def test_unsigned_calls_only_in_development_mode(dev, signed, body) -> None:  # type: ignore[no-untyped-def]
    assert dev[0].post(PATH, json=body).status_code == 200
    _refused(signed[0].post(PATH, json=body))


class JwksServer:
    """The EHR's JWKS endpoint (MockTransport), counting fetches."""

    def __init__(self, keys: Keys) -> None:
        self.jwks = keys.jwks
        self.fetches = 0
        self.fail = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        if self.fail:
            return httpx.Response(503)
        return httpx.Response(200, json=self.jwks)


def _jwks_client(make_client, keys: Keys, server: JwksServer) -> tuple[Client, CdsService]:  # type: ignore[no-untyped-def]
    settings = CdsSettings(issuers={ISSUER: "https://ehr.example.org/.well-known/jwks.json"})
    return make_client(settings=settings, jwks_transport=httpx.MockTransport(server.handle))  # type: ignore[no-any-return]


def test_jwks_url_is_fetched_once_and_cached(make_client, keys, clock, body) -> None:  # type: ignore[no-untyped-def]
    server = JwksServer(keys)
    client, _ = _jwks_client(make_client, keys, server)
    for alg in ("ES384", "RS384", "ES384"):
        assert _call(client, keys.token(URL, alg=alg, now=clock()), body).status_code == 200
    assert server.fetches == 1
    jku = keys.token(
        URL, now=clock(), header={"jku": "https://ehr.example.org/.well-known/jwks.json"}
    )
    assert _call(client, jku, body).status_code == 200


def test_key_rotation_refetches_on_an_unknown_kid(make_client, keys, clock, body) -> None:  # type: ignore[no-untyped-def]
    server = JwksServer(keys)
    client, service = _jwks_client(make_client, keys, server)
    assert _call(client, keys.token(URL, now=clock()), body).status_code == 200
    rotated = ECKey.generate_key("P-384", parameters={"kid": "ec-2"})
    server.jwks = {"keys": [*keys.jwks["keys"], rotated.as_dict(private=False)]}
    service.verifier.keys.monotonic = lambda: 1e12  # the refresh interval has passed
    assert _call(client, keys.token(URL, now=clock(), key=rotated), body).status_code == 200
    assert server.fetches == 2
    _refused(_call(client, keys.token(URL, now=clock(), header={"kid": "ec-3"}), body))
    assert server.fetches == 2  # an unknown kid does not refetch again within the interval


def test_jwks_unavailable_is_401(make_client, keys, clock, body) -> None:  # type: ignore[no-untyped-def]
    server = JwksServer(keys)
    server.fail = True
    client, _ = _jwks_client(make_client, keys, server)
    _refused(_call(client, keys.token(URL, now=clock()), body))


def test_replay_cache_forgets_expired_tokens_and_fails_closed_when_full() -> None:
    from revspine.adapters.cdshooks.auth import ReplayCache

    cache = ReplayCache(max_size=2)
    assert cache.add("i", "a", exp=100, now=0)
    assert not cache.add("i", "a", exp=100, now=1)
    assert cache.add("i", "b", exp=100, now=1)
    assert not cache.add("i", "c", exp=100, now=2)  # full: refuse rather than forget
    assert cache.add("i", "c", exp=300, now=200)  # a and b expired and were purged
    assert isinstance(FakeClock()(), object)
