"""The database commands: user, db, audit (list, verify, export as FHIR, prune), settings and
the ``serve --demo`` start-up (uvicorn itself is not started)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result
from webtools import PASSWORD, Client, drop_pg_schema, pg_schema_url, sign_in

from revspine.cli._store import join_setting_pairs
from revspine.cli.app import app as cli
from revspine.storage import SqlStore, open_store

pytestmark = pytest.mark.req("REQ-501", "REQ-502")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "REVSPINE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "REVSPINE_SECRET_KEY_FILE": str(tmp_path / "secret"),
    }


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=stdin, catch_exceptions=False)


def db(env: dict[str, str]) -> SqlStore:
    return open_store(env["REVSPINE_DATABASE_URL"])


def test_setting_pairs_are_joined_for_click() -> None:
    assert join_setting_pairs(["-s", "a", "b", "--setting", "c=d", "x", "--", "-s", "e"]) == [
        "-s",
        "a=b",
        "--setting",
        "c=d",
        "x",
        "--",
        "-s",
        "e",
    ]


def test_user_add_list_and_the_password_policy(env: dict[str, str]) -> None:
    added = run(
        env, "user", "add", "Alice", "--role", "viewer", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    assert "added alice (viewer)" in added.output
    again = run(env, "user", "add", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.exit_code == 2 and "already exists" in again.output
    short = run(env, "user", "add", "bob", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "at least 12" in short.output
    bad_name = run(env, "user", "add", "bob smith", "--password-stdin", stdin=PASSWORD + "\n")
    assert bad_name.exit_code == 2
    listed = run(env, "user", "list")
    assert listed.output.startswith("alice\tviewer\t-\tactive")
    store = db(env)
    try:
        user = store.get_user("alice")
        assert user is not None and user.password_hash.startswith("$argon2id$")
        assert [e.action for e in store.list_audit(5)] == ["user_create"]
    finally:
        store.close()


def test_a_cli_token_opens_the_api(env: dict[str, str], passwords: Any, knowledge: Any) -> None:
    run(env, "user", "add", "carol", "--password-stdin", stdin=PASSWORD + "\n")
    made = run(env, "user", "token", "carol", "--label", "ci", "--expires-days", "30")
    assert made.exit_code == 0
    token = made.stdout.strip().splitlines()[0]
    assert token.startswith("rvs_")
    from revspine.settings import Settings
    from revspine.web import create_app

    settings = Settings(database_url=env["REVSPINE_DATABASE_URL"], secret_key="s" * 40)
    client = Client(create_app(settings, passwords=passwords, knowledge=knowledge))
    try:
        assert (
            client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
        assert (
            client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}x"}).status_code
            == 401
        )
    finally:
        client.close()
    store = db(env)
    try:
        stored = store.list_tokens("carol")[0]
        assert stored.label == "ci" and stored.expires_at is not None
        with store.engine.connect() as conn:
            hashes = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
        assert token not in hashes and all(len(h) == 64 for h in hashes)
    finally:
        store.close()


def test_totp_enrolment_prints_a_provisioning_uri(env: dict[str, str]) -> None:
    run(env, "user", "add", "tina", "--password-stdin", stdin=PASSWORD + "\n")
    enrolled = run(env, "user", "totp", "tina")
    assert enrolled.exit_code == 0
    assert "otpauth://totp/revspine:tina?secret=" in enrolled.stdout
    assert run(env, "user", "list").output.split("\t")[2] == "totp"
    assert run(env, "user", "totp", "tina", "--remove").exit_code == 0
    assert run(env, "user", "totp", "nobody").exit_code == 2


def test_passwd_changes_the_password(env: dict[str, str]) -> None:
    run(env, "user", "add", "carol", "--password-stdin", stdin=PASSWORD + "\n")
    changed = run(
        env, "user", "passwd", "carol", "--password-stdin", stdin="another long passphrase\n"
    )
    assert changed.exit_code == 0
    assert (
        run(env, "user", "passwd", "nobody", "--password-stdin", stdin=PASSWORD + "\n").exit_code
        == 2
    )


def test_db_upgrade_and_current(env: dict[str, str]) -> None:
    assert run(env, "db", "current").output.strip() == "none"
    upgraded = run(env, "db", "upgrade")
    assert upgraded.exit_code == 0 and "revision 0001" in upgraded.output
    assert run(env, "db", "current").output.strip() == "0001"


def test_db_upgrade_on_postgresql(pg_server_url: str, env: dict[str, str]) -> None:
    url = pg_schema_url(pg_server_url, "rs_cli_upgrade")
    try:
        pg_env = {**env, "REVSPINE_DATABASE_URL": url}
        assert run(pg_env, "db", "upgrade").exit_code == 0
        assert run(pg_env, "audit", "verify").exit_code == 0
    finally:
        drop_pg_schema(pg_server_url, "rs_cli_upgrade")


def test_settings_on_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    made = run(env, "db", "upgrade", "--setting", "database_url", f"sqlite:///{other}")
    assert made.exit_code == 0 and other.exists()
    unknown = run(env, "db", "upgrade", "--setting", "databse_url", "x")
    assert unknown.exit_code == 2 and "did you mean 'database_url'" in unknown.output
    missing_dir = run(
        env, "db", "upgrade", "-s", "database_url", f"sqlite:///{tmp_path}/no/such/dir.db"
    )
    assert missing_dir.exit_code == 2 and "does not exist" in missing_dir.output
    assert (
        run(env, "settings", "--format", "md").output.strip()
        == (ROOT / "docs" / "SETTINGS.md").read_text().strip()
    )


@pytest.fixture
def busy(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A database with some audit entries."""
    for name in ("ann", "ben", "cat"):
        run(env, "user", "add", name, "--password-stdin", stdin=PASSWORD + "\n")
    run(env, "user", "token", "ann")
    yield env


def test_audit_lists_newest_first(busy: dict[str, str]) -> None:
    listed = run(busy, "audit", "--limit", "2")
    lines = listed.output.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("4\t") and "token_create" in lines[0]
    as_json = json.loads(run(busy, "audit", "--format", "json").output)
    assert [e["seq"] for e in as_json] == [4, 3, 2, 1]


def test_audit_verify_detects_a_modified_and_a_deleted_entry(busy: dict[str, str]) -> None:
    ok = run(busy, "audit", "verify")
    assert ok.exit_code == 0 and "intact: 4 entries" in ok.output
    store = db(busy)
    try:
        with store.engine.begin() as conn:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    finally:
        store.close()
    modified = run(busy, "audit", "verify")
    assert modified.exit_code == 1
    assert "entry 2 was modified" in modified.output and "first bad entry: 2" in modified.output
    store = db(busy)
    try:
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'cli:root' WHERE seq = 2"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    finally:
        store.close()
    deleted = run(busy, "audit", "verify")
    assert deleted.exit_code == 1 and "entry 3 is missing" in deleted.output


def test_audit_export_is_a_valid_fhir_r4_bundle(busy: dict[str, str], tmp_path: Path) -> None:
    from fhir.resources.R4B.auditevent import AuditEvent as FhirAuditEvent
    from fhir.resources.R4B.bundle import Bundle

    out = tmp_path / "audit.json"
    exported = run(busy, "audit", "export", "--format", "fhir", "--out", str(out))
    assert exported.exit_code == 0
    bundle = json.loads(out.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    resources = [e["resource"] for e in bundle["entry"]]
    for resource in resources:
        FhirAuditEvent.model_validate(resource)
    assert [r["id"] for r in resources] == [f"revspine-audit-{n}" for n in range(1, 6)]
    assert resources[0]["type"]["code"] == "110137" and resources[0]["action"] == "C"
    assert resources[-1]["type"]["code"] == "110101"  # the export itself: Audit Log Used
    assert all(r["outcome"] == "0" for r in resources)
    assert resources[0]["agent"][0]["who"]["identifier"]["value"].startswith("cli:")
    assert run(busy, "audit", "verify").exit_code == 0


def test_audit_prune_respects_retention(busy: dict[str, str]) -> None:
    pruned = run(busy, "audit", "prune", "--yes")
    assert pruned.exit_code == 0 and "removed 0 entries" in pruned.output
    everything = run(busy, "audit", "prune", "--yes", "-s", "audit_retention_days", "1")
    assert everything.exit_code == 0
    assert run(busy, "audit", "verify").exit_code == 0


# -- serve --demo ----------------------------------------------------------------------------------
def test_serve_demo_loads_the_examples_and_prints_the_credentials(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import uvicorn

    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    result = run(env, "serve", "--demo", "--examples", str(ROOT / "examples"), "--port", "8123")
    assert result.exit_code == 0, result.output
    assert "demo: 36 example case(s) added" in result.stdout
    password = result.stdout.split("password '")[1].split("'")[0]
    assert password not in caplog.text
    assert (
        started["host"] == "127.0.0.1"
        and started["port"] == 8123
        and started["access_log"] is False
    )
    client = Client(started["app"])
    try:
        assert sign_in(client, "demo", password).status_code == 303
        page = client.get("/cases?disposition=urgent")
        assert "EX01" in page.text
    finally:
        client.close()
        started["app"].state.ctx.store.close()
    again = run(env, "serve", "--demo", "--examples", str(ROOT / "examples"))
    assert "demo: 0 example case(s) added" in again.stdout
    assert again.stdout.split("password '")[1].split("'")[0] != password
    started["app"].state.ctx.store.close()
