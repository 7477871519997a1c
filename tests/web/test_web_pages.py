"""The human pages: sign-in (CSRF, throttling, TOTP, expiry), roles, the case form, the
assessment view, history with "what changed", exports, and their audit trail."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
import yaml
from webtools import PASSWORD, Client, FakeClock, case_json, example, form_token, sign_in

from revspine.settings import Settings
from revspine.storage import AuditEvent, SqlStore, User
from revspine.web import create_app

pytestmark = pytest.mark.req("REQ-501", "REQ-502", "REQ-503")

MakeClient = Callable[..., Client]
MakeUser = Callable[..., User]


@pytest.fixture
def clinician(client_for: MakeClient, make_user: MakeUser) -> Client:
    make_user("carol", "clinician")
    client = client_for()
    assert sign_in(client, "carol").status_code == 303
    return client


def yaml_case(
    case_id: str = "F1", name: str = "25_recurrent_herniation_l5_candidate", **changes: Any
) -> str:
    data = example(name)
    data["case_id"] = case_id
    data.update(changes)
    return yaml.safe_dump(data, sort_keys=False)


def post_form(client: Client, url: str, data: dict[str, Any], page: str = "/cases") -> Any:
    token = form_token(client.get(page).text)
    return client.post(url, data={"csrf_token": token, **data})


def new_case(client: Client, text: str, **extra: Any) -> Any:
    return post_form(
        client, "/cases/new", {"case_text": text, "fmt": "auto", "as_of": "", **extra}, "/cases/new"
    )


# -- access without a session ------------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["/cases", "/cases/new", "/cases/X1", "/cases/X1/history", "/cases/X1/edit"]
)
def test_pages_redirect_to_sign_in_without_a_session(client_for: MakeClient, url: str) -> None:
    response = client_for().get(url)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Fcases")


def test_form_posts_without_a_session_are_refused(client_for: MakeClient, store: SqlStore) -> None:
    client = client_for()
    response = client.post("/cases/new", data={"case_text": yaml_case(), "csrf_token": "x"})
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert store.list_cases(10).items == []


# -- sign-in ----------------------------------------------------------------------------------
def test_sign_in_sets_a_hardened_session_cookie(
    client_for: MakeClient, make_user: MakeUser, store: SqlStore
) -> None:
    make_user("carol")
    client = client_for()
    response = sign_in(client, "carol")
    assert response.status_code == 303 and response.headers["location"] == "/cases"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("revspine_session=")
    )
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "path=/" in lowered
    assert "secure" not in lowered.replace("samesite", "")
    assert client.get("/cases").status_code == 200
    entry = next(e for e in store.list_audit(5) if e.action == "login")
    assert (entry.action, entry.actor, entry.outcome, entry.source_ip) == (
        "login",
        "carol",
        "success",
        "192.0.2.10",
    )


def test_secure_cookies_use_the_host_prefix(
    settings: Settings,
    store: SqlStore,
    clock: FakeClock,
    passwords: Any,
    knowledge: Any,
    make_user: MakeUser,
) -> None:
    make_user("carol")
    secure = Settings(**{**settings.__dict__, "cookie_secure": True})
    app = create_app(secure, store=store, clock=clock, passwords=passwords, knowledge=knowledge)
    client = Client(app)
    try:
        page = client.get("/login")
        assert "strict-transport-security" in page.headers
        csrf_cookie = page.headers["set-cookie"]
        assert csrf_cookie.startswith("__Host-revspine_csrf=") and "secure" in csrf_cookie.lower()
    finally:
        client.close()


def test_sign_in_needs_the_forms_csrf_token(client_for: MakeClient, make_user: MakeUser) -> None:
    make_user("carol")
    client = client_for()
    client.get("/login")
    missing = client.post("/login", data={"username": "carol", "password": PASSWORD})
    assert missing.status_code == 403
    forged = client.post(
        "/login", data={"username": "carol", "password": PASSWORD, "csrf_token": "0" * 64}
    )
    assert forged.status_code == 403
    no_cookie = client_for().post(
        "/login", data={"username": "carol", "password": PASSWORD, "csrf_token": "0" * 64}
    )
    assert no_cookie.status_code == 403


def test_failed_sign_ins_get_one_generic_message(
    client_for: MakeClient, make_user: MakeUser, store: SqlStore
) -> None:
    make_user("carol")
    client = client_for()
    wrong_password = sign_in(client, "carol", "not the password at all")
    unknown_user = sign_in(client, "nobody", PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "The user name or password is incorrect." in wrong_password.text
    assert "The user name or password is incorrect." in unknown_user.text
    failures = [e for e in store.list_audit(10) if e.action == "login_failed"]
    assert {e.actor for e in failures} == {"carol", "nobody"}
    assert all(e.outcome == "failure" for e in failures)


def test_sign_in_is_throttled_per_user_and_address(
    client_for: MakeClient, make_user: MakeUser, clock: FakeClock
) -> None:
    make_user("carol")
    attacker = client_for("198.51.100.7")
    for _ in range(3):
        assert sign_in(attacker, "carol", "wrong password 123").status_code == 401
    throttled = sign_in(attacker, "carol")  # even the right password
    assert throttled.status_code == 429 and "Too many failed sign-in attempts" in throttled.text
    assert sign_in(client_for("192.0.2.50"), "carol").status_code == 303  # another address
    clock.advance(minutes=16)
    assert sign_in(attacker, "carol").status_code == 303


def test_sign_in_is_throttled_per_address_across_user_names(
    client_for: MakeClient, make_user: MakeUser
) -> None:
    make_user("carol")
    sprayer = client_for("198.51.100.8")
    for i in range(10):
        sign_in(sprayer, f"user{i}", "Password123456")
    assert sign_in(sprayer, "carol").status_code == 429


def test_next_is_only_ever_a_local_path(client_for: MakeClient, make_user: MakeUser) -> None:
    make_user("carol")
    client = client_for()
    page = client.get("/login?next=//evil.example/x")
    response = client.post(
        "/login",
        data={
            "username": "carol",
            "password": PASSWORD,
            "csrf_token": form_token(page.text),
            "next": "https://evil.example/",
        },
    )
    assert response.headers["location"] == "/cases"


# -- sessions -----------------------------------------------------------------------------------
def test_sessions_end_after_idle_time_and_lifetime(clinician: Client, clock: FakeClock) -> None:
    clock.advance(minutes=29)
    assert clinician.get("/cases").status_code == 200
    clock.advance(minutes=31)
    assert clinician.get("/cases").status_code == 303


def test_sessions_end_after_their_lifetime_even_when_active(
    clinician: Client, clock: FakeClock
) -> None:
    for _ in range(36):  # 12 h in 20-minute steps
        clock.advance(minutes=20)
        clinician.get("/cases")
    assert clinician.get("/cases").status_code == 303


def test_sign_out_ends_the_session_and_needs_csrf(clinician: Client, store: SqlStore) -> None:
    assert clinician.post("/logout", data={}).status_code == 403
    assert clinician.get("/cases").status_code == 200
    assert post_form(clinician, "/logout", {}).status_code == 303
    assert clinician.get("/cases").status_code == 303
    assert store.list_audit(1)[0].action == "logout"


def test_another_users_csrf_token_or_dead_cookie_is_refused(
    client_for: MakeClient, make_user: MakeUser, store: SqlStore
) -> None:
    make_user("carol")
    make_user("dave")
    carol, dave = client_for(), client_for()
    sign_in(carol, "carol")
    sign_in(dave, "dave")
    daves_token = form_token(dave.get("/cases/new").text)
    refused = carol.post("/cases/new", data={"case_text": yaml_case(), "csrf_token": daves_token})
    assert refused.status_code == 403
    cookie = dict(carol.cookies)["revspine_session"]
    post_form(carol, "/logout", {})
    replayed = client_for()
    replayed.cookies.set("revspine_session", cookie)
    assert replayed.get("/cases").status_code == 303
    assert store.list_cases(10).items == []


def test_cross_origin_form_posts_are_refused(clinician: Client, store: SqlStore) -> None:
    token = form_token(clinician.get("/cases/new").text)
    response = clinician.post(
        "/cases/new",
        data={"case_text": yaml_case(), "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert store.list_cases(10).items == []


# -- TOTP -------------------------------------------------------------------------------------------
def enrol(store: SqlStore, name: str) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    store.set_totp(name, secret, AuditEvent("test", "totp_enrol", "user", name))
    return pyotp.TOTP(secret)


def test_totp_is_asked_after_the_password_and_codes_are_single_use(
    client_for: MakeClient, make_user: MakeUser, store: SqlStore, clock: FakeClock
) -> None:
    make_user("tina")
    totp = enrol(store, "tina")
    client = client_for()
    first = sign_in(client, "tina")
    assert first.status_code == 303 and first.headers["location"].startswith("/login/totp")
    assert client.get("/cases").status_code == 303  # half signed in: no access
    page = client.get("/login/totp")
    assert page.status_code == 200
    wrong = client.post("/login/totp", data={"code": "000000", "csrf_token": form_token(page.text)})
    assert wrong.status_code == 401 and "incorrect" in wrong.text
    code = totp.at(clock())
    done = client.post(
        "/login/totp", data={"code": code, "csrf_token": form_token(page.text), "next": "/cases"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/cases"
    assert client.get("/cases").status_code == 200
    assert store.list_audit(2)[1].detail == "web: password + totp"

    again = client_for()
    sign_in(again, "tina")
    page = again.get("/login/totp")
    replay = again.post("/login/totp", data={"code": code, "csrf_token": form_token(page.text)})
    assert replay.status_code == 401


def test_a_site_can_require_totp(
    settings: Settings,
    store: SqlStore,
    clock: FakeClock,
    passwords: Any,
    knowledge: Any,
    make_user: MakeUser,
) -> None:
    make_user("carol")
    strict = Settings(**{**settings.__dict__, "require_totp": True})
    client = Client(
        create_app(strict, store=store, clock=clock, passwords=passwords, knowledge=knowledge)
    )
    try:
        refused = sign_in(client, "carol")
        assert refused.status_code == 401 and "requires a second factor" in refused.text
        enrol(store, "carol")
        assert sign_in(client, "carol").headers["location"].startswith("/login/totp")
    finally:
        client.close()


# -- roles --------------------------------------------------------------------------------------------
def test_viewers_read_but_cannot_create_or_edit(
    client_for: MakeClient, make_user: MakeUser, clinician: Client, store: SqlStore
) -> None:
    assert new_case(clinician, yaml_case("R1")).status_code == 303
    make_user("vera", "viewer")
    viewer = client_for()
    sign_in(viewer, "vera")
    assert viewer.get("/cases/R1").status_code == 200
    assert "/cases/R1/edit" not in viewer.get("/cases/R1").text
    assert viewer.get("/cases/new").status_code == 403
    assert viewer.get("/cases/R1/edit").status_code == 403
    token = form_token(viewer.get("/cases").text)
    created = viewer.post("/cases/new", data={"case_text": yaml_case("R2"), "csrf_token": token})
    assert created.status_code == 403
    edited = viewer.post(
        "/cases/R1/edit",
        data={"case_text": yaml_case("R1"), "csrf_token": token, "expected_version": "1"},
    )
    assert edited.status_code == 403
    assert [c.case_id for c in store.list_cases(10).items] == ["R1"]
    assert store.get_case("R1").latest_version == 1


# -- the case form, view, edit and history ------------------------------------------------------------
def test_a_case_entered_in_the_form_is_assessed_and_shown(
    clinician: Client, store: SqlStore
) -> None:
    response = new_case(clinician, yaml_case("F1"))
    assert response.status_code == 303 and response.headers["location"] == "/cases/F1"
    page = clinician.get("/cases/F1")
    assert page.status_code == 200
    disposition = store.get_case("F1").disposition
    assert f"disp-{disposition}" in page.text
    assert "Assessment report" in page.text and "version 1" in page.text
    listing = clinician.get("/cases")
    assert 'href="/cases/F1"' in listing.text


def test_json_in_the_form_is_accepted(clinician: Client, store: SqlStore) -> None:
    assert new_case(clinician, case_json("J1"), fmt="json").status_code == 303
    assert store.get_case("J1").latest_version == 1


def test_invalid_form_input_is_shown_by_field_and_nothing_is_stored(
    clinician: Client, store: SqlStore
) -> None:
    labs = [{"test": "hba1c", "value": 7, "unit": "parsecs"}]
    text = yaml_case("BAD", patient={"age": 300, "sex": "female"}, labs=labs)
    response = new_case(clinician, text)
    assert response.status_code == 422
    assert "<code>patient.age</code>" in response.text
    assert "<code>labs[0].unit</code>" in response.text
    assert "case_id: BAD" in response.text  # the text is kept for correction
    assert store.list_cases(10).items == []
    broken = new_case(clinician, "patient: [unclosed")
    assert broken.status_code == 422 and "(syntax)" in broken.text
    bad_date = new_case(clinician, yaml_case("D1"), as_of="2026-13-45")
    assert bad_date.status_code == 422 and "<code>as_of</code>" in bad_date.text


def test_edit_saves_a_new_version_and_a_stale_form_is_refused(
    clinician: Client, store: SqlStore
) -> None:
    new_case(clinician, yaml_case("E1", name="07_suspected_pseudarthrosis_no_ct"))
    form = clinician.get("/cases/E1/edit")
    assert form.status_code == 200 and 'name="expected_version" value="1"' in form.text
    token = form_token(form.text)
    data = example("07_suspected_pseudarthrosis_no_ct")
    data["case_id"] = "E1"
    data.setdefault("labs", []).append(
        {"test": "hba1c", "value": 9.8, "unit": "%", "date": "2026-10-30"}
    )
    changed = yaml.safe_dump(data, sort_keys=False)
    saved = clinician.post(
        "/cases/E1/edit", data={"case_text": changed, "csrf_token": token, "expected_version": "1"}
    )
    assert saved.status_code == 303
    assert store.get_case("E1").latest_version == 2

    stale = clinician.post(
        "/cases/E1/edit",
        data={"case_text": yaml_case("E1"), "csrf_token": token, "expected_version": "1"},
    )
    assert stale.status_code == 409
    assert "Version 2 is now the latest" in stale.text and "nothing was stored" in stale.text
    assert store.get_case("E1").latest_version == 2
    assert store.get_version("E1").input_sha256 == store.list_versions("E1")[1].input_sha256


def test_history_lists_versions_and_what_changed(clinician: Client, store: SqlStore) -> None:
    new_case(clinician, yaml_case("H1", name="07_suspected_pseudarthrosis_no_ct"))
    data = example("07_suspected_pseudarthrosis_no_ct")
    data["case_id"] = "H1"
    data.setdefault("labs", []).append(
        {"test": "hba1c", "value": 9.8, "unit": "%", "date": "2026-10-30"}
    )
    post_form(
        clinician,
        "/cases/H1/edit",
        {"case_text": yaml.safe_dump(data, sort_keys=False), "expected_version": "1"},
        "/cases/H1/edit",
    )
    page = clinician.get("/cases/H1/history")
    assert page.status_code == 200
    assert "What changed in version 2 since version 1" in page.text
    assert "labs[" in page.text  # the new lab is a fact change
    assert "Recommendations" in page.text
    first = store.list_versions("H1")[0]
    assert first.knowledge_version in page.text
    assert clinician.get("/cases/H1/versions/1").status_code == 200
    assert "not the latest" in clinician.get("/cases/H1/versions/1").text


def test_search_and_filter_the_case_list(clinician: Client) -> None:
    new_case(clinician, yaml_case("S-URG", name="01_cauda_equina"))
    new_case(clinician, yaml_case("S-OTHER"))
    urgent = clinician.get("/cases?disposition=urgent")
    assert "S-URG" in urgent.text and "S-OTHER" not in urgent.text
    found = clinician.get("/cases?q=other")
    assert "S-OTHER" in found.text and "S-URG" not in found.text


def test_user_content_is_escaped(clinician: Client) -> None:
    new_case(clinician, yaml_case("X1", surgeon="<script>alert(1)</script>"))
    page = clinician.get("/cases")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_exports_download_and_are_audited(clinician: Client, store: SqlStore) -> None:
    new_case(clinician, yaml_case("X2"))
    exported = clinician.get("/cases/X2/versions/1/export.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    assert exported.json()["assessment"]["case_id"] == "X2"
    report = clinician.get("/cases/X2/versions/1/report.html")
    assert report.status_code == 200 and report.text.startswith("<!DOCTYPE html>")
    exports = [e for e in store.list_audit(5) if e.action == "export"]
    assert [e.detail for e in exports] == ["web: v1 html", "web: v1 json"]


def test_every_case_page_access_is_audited(clinician: Client, store: SqlStore) -> None:
    new_case(clinician, yaml_case("A1"))
    before = store.audit_state().head_seq
    clinician.get("/cases/A1")
    clinician.get("/cases/A1/history")
    clinician.get("/cases/A1/versions/1")
    clinician.get("/cases/A1/edit")
    clinician.get("/cases/NOPE")
    entries = [e for e in reversed(store.list_audit(20)) if e.seq > before and e.action != "query"]
    assert [(e.action, e.entity_id, e.outcome) for e in entries] == [
        ("view", "A1", "success"),
        ("view", "A1", "success"),
        ("view", "A1", "success"),
        ("view", "A1", "success"),
        ("view", "NOPE", "failure"),
    ]
    assert [e.detail for e in entries][:4] == [
        "web: latest",
        "web: history",
        "web: v1",
        "web: edit form",
    ]


def test_no_case_content_reaches_the_application_log(
    clinician: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    new_case(clinician, yaml_case("LOGCHK", surgeon="dr-secret-name"))
    clinician.get("/cases/LOGCHK")
    clinician.get("/cases?q=LOGCHK")
    server_side = [
        r for r in caplog.records if not r.name.startswith("httpx")
    ]  # the test client's own
    above_debug = [r.getMessage() for r in server_side if r.levelno > logging.DEBUG]
    assert above_debug, "the access log should have recorded the requests"
    assert not [m for m in above_debug if "LOGCHK" in m or "dr-secret-name" in m]


def test_the_error_page_for_an_unknown_case(clinician: Client) -> None:
    response = clinician.get("/cases/NOPE")
    assert response.status_code == 404 and "not found" in response.text
