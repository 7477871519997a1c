"""The store on SQLite and PostgreSQL: migrations, cases and versions, concurrency, accounts,
sessions, throttling counts and the audit chain."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from webtools import FakeClock, drop_pg_schema, pg_schema_url

from revspine.errors import AlreadyExistsError, InputError, NotFoundError, VersionConflictError
from revspine.storage import AuditEvent, NewVersion, SqlStore, open_store, verify_chain
from revspine.storage.engine import current_revision
from revspine.storage.models import Base

pytestmark = pytest.mark.req("REQ-502", "REQ-503")


def new_version(disposition: str = "non_surgical", marker: str = "a") -> NewVersion:
    return NewVersion(
        case_json=f'{{"case_id":"C","marker":"{marker}"}}',
        input_sha256=marker * 64 if len(marker) == 1 else "0" * 64,
        as_of=date(2026, 11, 1),
        knowledge_id="revspine-kb",
        knowledge_version="1.0.0",
        knowledge_sha256="f" * 64,
        assessment_json=json.dumps({"disposition": {"code": disposition}}),
        disposition=disposition,
        site="S1",
        surgeon="dr-x",
    )


def ev(action: str, entity_id: str | None = None, actor: str = "alice") -> AuditEvent:
    return AuditEvent(actor, action, "case", entity_id, "192.0.2.1", "success", "test")


# -- migrations --------------------------------------------------------------------------------
@pytest.fixture
def empty_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database that has never been migrated."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = request.getfixturevalue("pg_server_url")
    schema = f"rs_empty_{request.node.name[-12:].strip('[]-')}_{id(request) % 10000}"
    yield pg_schema_url(server, schema)
    drop_pg_schema(server, schema)


def test_migrations_upgrade_from_empty_and_match_the_models(empty_url: str) -> None:
    store = open_store(empty_url)
    try:
        assert current_revision(store.engine) is None
        store.upgrade()
        store.upgrade()  # idempotent
        assert current_revision(store.engine) == "0001"
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], f"the migrations and the models disagree: {diff}"
        state = store.audit_state()
        assert (state.head_seq, state.anchor_seq) == (0, 0)
    finally:
        store.close()


def test_migrations_downgrade_to_base_and_up_again(empty_url: str) -> None:
    store = open_store(empty_url)
    try:
        store.upgrade()
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", "revspine.storage:migrations")
        with store.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
        assert current_revision(store.engine) is None
        store.upgrade()
        assert current_revision(store.engine) == "0001"
    finally:
        store.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_store: SqlStore) -> None:
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_sqlite_file_is_private(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'private.db'}")
    store.upgrade()
    store.close()
    assert (tmp_path / "private.db").stat().st_mode & 0o077 == 0


# -- cases and versions ------------------------------------------------------------------------
def test_create_and_read_a_case(store: SqlStore) -> None:
    stored = store.create_case("C1", new_version(), "alice", ev("create", "C1"))
    assert (stored.case_id, stored.version, stored.created_by) == ("C1", 1, "alice")
    summary = store.get_case("C1")
    assert (summary.latest_version, summary.disposition, summary.site) == (1, "non_surgical", "S1")
    again = store.get_version("C1")
    assert again.case_json == stored.case_json
    assert again.assessment_json == stored.assessment_json
    assert again.as_of == date(2026, 11, 1)
    assert again.created_at.tzinfo is not None
    assert [v.version for v in store.list_versions("C1")] == [1]


def test_a_duplicate_case_id_is_refused_and_nothing_is_written(store: SqlStore) -> None:
    store.create_case("C1", new_version(marker="a"), "alice", ev("create", "C1"))
    with pytest.raises(AlreadyExistsError):
        store.create_case("C1", new_version(marker="b"), "bob", ev("create", "C1", "bob"))
    assert store.get_version("C1").case_json.endswith('"a"}')
    assert [e.actor for e in store.list_audit(10)] == ["alice"]


def test_missing_case_and_version_are_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFoundError):
        store.get_case("nope")
    store.create_case("C1", new_version(), "alice", ev("create", "C1"))
    with pytest.raises(NotFoundError):
        store.get_version("C1", 7)
    with pytest.raises(NotFoundError):
        store.list_versions("nope")


def test_versions_are_appended_with_optimistic_concurrency(store: SqlStore) -> None:
    store.create_case("C1", new_version(marker="a"), "alice", ev("create", "C1"))
    v2 = store.add_version(
        "C1", 1, new_version("surgical_candidate", "b"), "bob", ev("update", "C1", "bob")
    )
    assert v2.version == 2
    with pytest.raises(VersionConflictError) as caught:
        store.add_version("C1", 1, new_version("urgent", "c"), "carol", ev("update", "C1", "carol"))
    assert (caught.value.expected, caught.value.current) == (1, 2)
    summary = store.get_case("C1")
    assert (summary.latest_version, summary.disposition, summary.updated_by) == (
        2,
        "surgical_candidate",
        "bob",
    )
    assert store.get_version("C1").case_json.endswith('"b"}')
    assert [v.version for v in store.list_versions("C1")] == [1, 2]
    assert [e.actor for e in store.list_audit(10)] == ["bob", "alice"]


def test_concurrent_saves_of_one_version_let_exactly_one_win(store: SqlStore) -> None:
    store.create_case("C1", new_version(), "alice", ev("create", "C1"))
    barrier = threading.Barrier(4)
    results: list[str] = []

    def save(n: int) -> None:
        barrier.wait()
        try:
            store.add_version(
                "C1", 1, new_version(marker=str(n)), f"u{n}", ev("update", "C1", f"u{n}")
            )
            results.append("ok")
        except VersionConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "conflict", "conflict", "ok"]
    assert [v.version for v in store.list_versions("C1")] == [1, 2]
    assert verify_chain(store.iter_audit(), store.audit_state()).ok


def test_list_cases_pages_and_filters(store: SqlStore) -> None:
    for i in range(7):
        disposition = "urgent" if i % 3 == 0 else "non_surgical"
        store.create_case(
            f"EX{i:02d}", new_version(disposition), "alice", ev("create", f"EX{i:02d}")
        )
    store.create_case("OTHER_1", new_version(), "alice", ev("create", "OTHER_1"))
    first = store.list_cases(3)
    assert [c.case_id for c in first.items] == ["EX00", "EX01", "EX02"]
    second = store.list_cases(3, first.next_cursor)
    third = store.list_cases(3, second.next_cursor)
    assert [c.case_id for c in third.items] == ["EX06", "OTHER_1"]
    assert third.next_cursor is None
    assert [c.case_id for c in store.list_cases(50, query="ex0").items][:2] == ["EX00", "EX01"]
    assert [c.case_id for c in store.list_cases(50, query="r_1").items] == ["OTHER_1"]
    assert [c.case_id for c in store.list_cases(50, query="%").items] == []
    urgent = store.list_cases(50, disposition="urgent")
    assert [c.case_id for c in urgent.items] == ["EX00", "EX03", "EX06"]
    with pytest.raises(InputError):
        store.list_cases(3, "***not a cursor***")


def test_stored_versions_cannot_be_changed_or_deleted(store: SqlStore) -> None:
    store.create_case("C1", new_version(), "alice", ev("create", "C1"))
    for statement in ("UPDATE case_versions SET case_json = '{}'", "DELETE FROM case_versions"):
        with pytest.raises(DatabaseError), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert store.get_version("C1").case_json.endswith('"a"}')


# -- accounts, tokens, sessions, sign-in attempts -------------------------------------------------
def test_users_are_unique_case_insensitively(store: SqlStore) -> None:
    store.add_user("Alice", "h1", "clinician", ev("user_create", "alice"))
    with pytest.raises(AlreadyExistsError):
        store.add_user("ALICE", "h2", "viewer", ev("user_create", "alice"))
    user = store.get_user("aLiCe")
    assert user is not None and (user.username, user.role, user.can_edit) == (
        "alice",
        "clinician",
        True,
    )


def test_tokens_are_found_by_hash_until_revoked_or_expired(
    store: SqlStore, clock: FakeClock
) -> None:
    store.add_user("alice", "h", "viewer", ev("user_create"))
    token = store.add_token("alice", "1" * 64, "ci", None, ev("token_create"))
    store.add_token("alice", "2" * 64, "short", clock() + timedelta(days=1), ev("token_create"))
    assert store.user_for_token("1" * 64) is not None
    assert store.user_for_token("3" * 64) is None
    store.revoke_token("alice", token.id, ev("token_revoke"))
    assert store.user_for_token("1" * 64) is None
    assert store.user_for_token("2" * 64) is not None
    clock.advance(days=2)
    assert store.user_for_token("2" * 64) is None
    assert [t.revoked for t in store.list_tokens("alice")] == [True, False]


def test_sessions_can_be_created_read_and_ended(store: SqlStore, clock: FakeClock) -> None:
    user = store.add_user("alice", "h", "clinician", ev("user_create"))
    store.create_session(
        "a" * 64, user.id, "active", "csrf", clock() + timedelta(hours=1), "192.0.2.1"
    )
    session = store.get_session("a" * 64)
    assert session is not None and session.user.username == "alice" and session.stage == "active"
    clock.advance(minutes=5)
    store.touch_session("a" * 64)
    touched = store.get_session("a" * 64)
    assert touched is not None and touched.last_seen_at == clock()
    clock.advance(hours=2)
    assert store.purge_sessions() == 1
    assert store.get_session("a" * 64) is None


def test_a_password_change_ends_the_users_sessions(store: SqlStore, clock: FakeClock) -> None:
    user = store.add_user("alice", "h", "clinician", ev("user_create"))
    store.create_session("a" * 64, user.id, "active", "csrf", clock() + timedelta(hours=1), None)
    store.set_password("alice", "h2", ev("user_update"))
    assert store.get_session("a" * 64) is None


def test_login_failures_are_counted_per_user_and_address(store: SqlStore, clock: FakeClock) -> None:
    since = clock() - timedelta(minutes=15)
    for _ in range(3):
        store.record_login("alice", "192.0.2.1", False)
    store.record_login("bob", "192.0.2.1", False)
    store.record_login("alice", "192.0.2.9", False)
    counts = store.login_failures("ALICE", "192.0.2.1", since)
    assert (counts.user_and_ip, counts.ip) == (3, 4)
    clock.advance(seconds=1)
    store.record_login("alice", "192.0.2.1", True)
    assert store.login_failures("alice", "192.0.2.1", since).user_and_ip == 0
    clock.advance(minutes=30)
    assert store.login_failures("bob", "192.0.2.1", clock() - timedelta(minutes=15)).ip == 0


def test_a_totp_time_step_is_accepted_once(store: SqlStore) -> None:
    user = store.add_user("alice", "h", "clinician", ev("user_create"))
    assert store.use_totp_counter(user.id, 100)
    assert not store.use_totp_counter(user.id, 100)
    assert not store.use_totp_counter(user.id, 99)
    assert store.use_totp_counter(user.id, 101)


# -- the audit chain ---------------------------------------------------------------------------
def tamper(store: SqlStore, statement: str) -> None:
    """Change the audit log behind the application's back (the guard triggers disabled)."""
    postgres = store.engine.dialect.name == "postgresql"
    with store.engine.begin() as conn:
        if postgres:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_guard"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(text(statement))
        if postgres:
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_guard"))


def fill(store: SqlStore, n: int = 5) -> None:
    for i in range(n):
        store.append_audit(ev("view", f"C{i}"))


def test_the_audit_chain_verifies(store: SqlStore) -> None:
    fill(store)
    report = verify_chain(store.iter_audit(), store.audit_state())
    assert report.ok and report.checked == 5 and report.head_seq == 5
    entries = list(store.iter_audit())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))


def test_the_audit_log_refuses_updates_and_deletes(store: SqlStore) -> None:
    fill(store, 2)
    for statement in (
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log WHERE seq = 2",
    ):
        with pytest.raises(DatabaseError), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert verify_chain(store.iter_audit(), store.audit_state()).ok


@pytest.mark.parametrize(
    ("statement", "seq", "words"),
    [
        ("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3", 3, "modified"),
        ("UPDATE audit_log SET outcome = 'failure' WHERE seq = 1", 1, "modified"),
        ("DELETE FROM audit_log WHERE seq = 2", 2, "missing"),
        ("DELETE FROM audit_log WHERE seq >= 4", 4, "missing"),
        ("DELETE FROM audit_log WHERE seq = 1", 1, "missing"),
    ],
    ids=["modified", "modified-first", "deleted", "deleted-tail", "deleted-first"],
)
def test_verification_reports_the_first_tampered_or_missing_entry(
    store: SqlStore, statement: str, seq: int, words: str
) -> None:
    fill(store)
    tamper(store, statement)
    report = verify_chain(store.iter_audit(), store.audit_state())
    assert not report.ok
    assert report.problem_seq == seq
    assert words in (report.problem or "")


def test_a_rewritten_hash_breaks_the_link_to_the_next_entry(store: SqlStore) -> None:
    fill(store)
    tamper(store, "UPDATE audit_log SET actor = 'mallory', hash = '" + "e" * 64 + "' WHERE seq = 2")
    report = verify_chain(store.iter_audit(), store.audit_state())
    assert not report.ok and report.problem_seq == 2


def test_pruning_keeps_the_chain_verifiable(store: SqlStore, clock: FakeClock) -> None:
    fill(store, 3)
    clock.advance(days=10)
    fill(store, 2)
    removed = store.prune_audit(
        clock() - timedelta(days=5), AuditEvent("cli:root", "audit_prune", "audit_log")
    )
    assert removed == 3
    assert [e.seq for e in store.iter_audit()] == [4, 5, 6]
    assert store.audit_state().anchor_seq == 3
    assert verify_chain(store.iter_audit(), store.audit_state()).ok
    tamper(store, "DELETE FROM audit_log WHERE seq = 4")
    assert verify_chain(store.iter_audit(), store.audit_state()).problem_seq == 4
