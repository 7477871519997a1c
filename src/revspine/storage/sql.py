"""``SqlStore``: the :class:`~revspine.storage.port.Store` port on SQLAlchemy 2.

Every public method runs in one transaction and translates database errors into
:class:`~revspine.errors.StorageError` (its message never carries row contents). Writes run on
the "write" engine (``BEGIN IMMEDIATE`` on SQLite) and append their audit event last, under the
``audit_state`` row lock, so that the chain stays linear under concurrency.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from revspine.errors import (
    AlreadyExistsError,
    InputError,
    NotFoundError,
    StorageError,
    VersionConflictError,
)
from revspine.storage.audit import entry_hash, format_ts
from revspine.storage.engine import WRITE, make_engine, run_migrations
from revspine.storage.models import (
    ApiTokenRow,
    AuditRow,
    AuditStateRow,
    CaseRow,
    CaseVersionRow,
    LoginAttemptRow,
    SessionRow,
    UserRow,
)
from revspine.storage.port import Clock, system_clock
from revspine.storage.records import (
    ApiToken,
    AuditEntry,
    AuditEvent,
    AuditState,
    CaseSummary,
    CaseVersion,
    LoginFailures,
    NewVersion,
    Page,
    Role,
    SessionStage,
    User,
    VersionSummary,
    WebSession,
)

__all__ = ["SqlStore", "open_store"]

_TOUCH_EVERY = timedelta(seconds=60)
_AUDIT_BATCH = 1000


def open_store(url: str, clock: Clock = system_clock) -> SqlStore:
    """A store on the database at ``url`` (not yet migrated: call ``upgrade()``)."""
    return SqlStore(make_engine(url), clock)


def _db_error(exc: SQLAlchemyError) -> StorageError:
    orig = getattr(exc, "orig", None) or exc
    first_line = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    return StorageError(f"database error ({type(orig).__name__}): {first_line}")


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        role=cast(Role, row.role),
        password_hash=row.password_hash,
        totp_secret=row.totp_secret,
        totp_last_counter=row.totp_last_counter,
        active=row.active,
        created_at=row.created_at,
    )


def _summary(row: CaseRow) -> CaseSummary:
    return CaseSummary(
        case_id=row.case_id,
        site=row.site,
        surgeon=row.surgeon,
        latest_version=row.latest_version,
        disposition=row.disposition,
        created_at=row.created_at,
        created_by=row.created_by,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _version_fields(case_id: str, row: CaseVersionRow) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "version": row.version,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "as_of": row.as_of,
        "input_sha256": row.input_sha256,
        "knowledge_id": row.knowledge_id,
        "knowledge_version": row.knowledge_version,
        "knowledge_sha256": row.knowledge_sha256,
        "disposition": row.disposition,
    }


def _full_version(case_id: str, row: CaseVersionRow) -> CaseVersion:
    return CaseVersion(
        **_version_fields(case_id, row),
        case_json=row.case_json,
        assessment_json=row.assessment_json,
    )


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        ts=row.ts,
        actor=row.actor,
        action=row.action,
        entity=row.entity,
        entity_id=row.entity_id,
        source_ip=row.source_ip,
        outcome=row.outcome,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def encode_cursor(case_id: str) -> str:
    """An opaque page cursor for the case after which the next page starts."""
    return base64.urlsafe_b64encode(case_id.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The case id inside a cursor; InputError if it is not one of ours."""
    problem = InputError("cursor: not a valid page cursor (use next_cursor from a previous page)")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)
        case_id = value.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise problem from None
    if not case_id or encode_cursor(case_id) != cursor:
        raise problem
    return case_id


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlStore:
    """The Store port on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, clock: Clock = system_clock) -> None:
        self.engine = engine
        self._clock = clock
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(
            engine.execution_options(**{WRITE: True}), expire_on_commit=False
        )

    # plumbing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _reading(self) -> Iterator[Session]:
        try:
            with self._read.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise _db_error(exc) from exc

    @contextlib.contextmanager
    def _writing(self, on_integrity: StorageError | None = None) -> Iterator[Session]:
        try:
            with self._write.begin() as session:
                yield session
        except IntegrityError as exc:
            raise (on_integrity or _db_error(exc)) from None
        except SQLAlchemyError as exc:
            raise _db_error(exc) from exc

    def _append(self, session: Session, event: AuditEvent) -> AuditEntry:
        state = session.scalars(
            select(AuditStateRow).where(AuditStateRow.id == 1).with_for_update()
        ).one()
        seq = state.head_seq + 1
        ts = format_ts(self._clock())
        digest = entry_hash(seq, ts, event, state.head_hash)
        row = AuditRow(
            seq=seq,
            ts=ts,
            actor=event.actor,
            action=event.action,
            entity=event.entity,
            entity_id=event.entity_id,
            source_ip=event.source_ip,
            outcome=event.outcome,
            detail=event.detail,
            prev_hash=state.head_hash,
            hash=digest,
        )
        session.add(row)
        state.head_seq = seq
        state.head_hash = digest
        session.flush()
        return _entry(row)

    def upgrade(self) -> None:
        """Apply pending migrations."""
        run_migrations(self.engine)

    def close(self) -> None:
        """Release connections."""
        self.engine.dispose()

    # users ------------------------------------------------------------------------------
    def add_user(self, username: str, password_hash: str, role: Role, audit: AuditEvent) -> User:
        """Create an account; AlreadyExistsError if the name is taken."""
        name = username.lower()
        with self._writing(AlreadyExistsError("user", name)) as s:
            if s.scalar(select(UserRow.id).where(UserRow.username == name)) is not None:
                raise AlreadyExistsError("user", name)
            row = UserRow(
                username=name,
                password_hash=password_hash,
                role=role,
                active=True,
                created_at=self._clock(),
            )
            s.add(row)
            s.flush()
            self._append(s, audit)
            return _user(row)

    def get_user(self, username: str) -> User | None:
        """The account with this name (case-insensitive), or None."""
        with self._reading() as s:
            row = s.scalar(select(UserRow).where(UserRow.username == username.lower()))
            return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        """Every account, by name."""
        with self._reading() as s:
            return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.username))]

    def _user_row(self, s: Session, username: str) -> UserRow:
        row = s.scalar(select(UserRow).where(UserRow.username == username.lower()))
        if row is None:
            raise NotFoundError("user", username)
        return row

    def set_password(self, username: str, password_hash: str, audit: AuditEvent | None) -> None:
        """Replace a password hash; an audited change also ends the user's sessions."""
        with self._writing() as s:
            row = self._user_row(s, username)
            row.password_hash = password_hash
            if audit is not None:
                s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
                self._append(s, audit)

    def set_totp(self, username: str, secret: str | None, audit: AuditEvent) -> None:
        """Enrol (or remove with None) a TOTP secret; ends the user's sessions."""
        with self._writing() as s:
            row = self._user_row(s, username)
            row.totp_secret = secret
            row.totp_last_counter = None
            s.execute(delete(SessionRow).where(SessionRow.user_id == row.id))
            self._append(s, audit)

    def use_totp_counter(self, user_id: int, counter: int) -> bool:
        """Record a used TOTP time step; False if it (or a later one) was already used."""
        with self._writing() as s:
            result = s.execute(
                update(UserRow)
                .where(
                    UserRow.id == user_id,
                    or_(UserRow.totp_last_counter.is_(None), UserRow.totp_last_counter < counter),
                )
                .values(totp_last_counter=counter)
                .execution_options(synchronize_session=False)
            )
            return cast(CursorResult[Any], result).rowcount == 1

    # API tokens ---------------------------------------------------------------------------
    def add_token(
        self,
        username: str,
        token_hash: str,
        label: str,
        expires_at: datetime | None,
        audit: AuditEvent,
    ) -> ApiToken:
        """Store a new API token's hash for a user."""
        with self._writing() as s:
            user = self._user_row(s, username)
            row = ApiTokenRow(
                user_id=user.id,
                token_hash=token_hash,
                label=label,
                created_at=self._clock(),
                expires_at=expires_at,
                revoked=False,
            )
            s.add(row)
            s.flush()
            self._append(s, audit)
            return self._token(row, user.username)

    @staticmethod
    def _token(row: ApiTokenRow, username: str) -> ApiToken:
        return ApiToken(
            id=row.id,
            username=username,
            label=row.label,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked=row.revoked,
        )

    def user_for_token(self, token_hash: str) -> User | None:
        """The active user owning a valid (unrevoked, unexpired) token, or None."""
        now = self._clock()
        with self._reading() as s:
            found = s.execute(
                select(ApiTokenRow, UserRow)
                .join(UserRow, UserRow.id == ApiTokenRow.user_id)
                .where(ApiTokenRow.token_hash == token_hash)
            ).one_or_none()
            if found is None:
                return None
            token, user = found
            if token.revoked or not user.active:
                return None
            if token.expires_at is not None and token.expires_at <= now:
                return None
            stale = token.last_used_at is None or now - token.last_used_at > _TOUCH_EVERY
            token_id = token.id
            result = _user(user)
        if stale:
            with self._writing() as s:
                s.execute(
                    update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=now)
                )
        return result

    def list_tokens(self, username: str) -> list[ApiToken]:
        """A user's tokens (metadata only)."""
        with self._reading() as s:
            user = self._user_row(s, username)
            rows = s.scalars(
                select(ApiTokenRow).where(ApiTokenRow.user_id == user.id).order_by(ApiTokenRow.id)
            )
            return [self._token(r, user.username) for r in rows]

    def revoke_token(self, username: str, token_id: int, audit: AuditEvent) -> None:
        """Revoke one of a user's tokens."""
        with self._writing() as s:
            user = self._user_row(s, username)
            row = s.scalar(
                select(ApiTokenRow).where(
                    ApiTokenRow.id == token_id, ApiTokenRow.user_id == user.id
                )
            )
            if row is None:
                raise NotFoundError("token", str(token_id))
            row.revoked = True
            self._append(s, audit)

    # sessions -----------------------------------------------------------------------------
    def create_session(
        self,
        id_hash: str,
        user_id: int,
        stage: SessionStage,
        csrf_token: str,
        expires_at: datetime,
        source_ip: str | None,
    ) -> None:
        """Store a new session."""
        now = self._clock()
        with self._writing() as s:
            s.add(
                SessionRow(
                    id_hash=id_hash,
                    user_id=user_id,
                    stage=stage,
                    csrf_token=csrf_token,
                    source_ip=source_ip,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires_at,
                )
            )

    def get_session(self, id_hash: str) -> WebSession | None:
        """The session and its (active) user, or None."""
        with self._reading() as s:
            found = s.execute(
                select(SessionRow, UserRow)
                .join(UserRow, UserRow.id == SessionRow.user_id)
                .where(SessionRow.id_hash == id_hash, UserRow.active.is_(True))
            ).one_or_none()
            if found is None:
                return None
            row, user = found
            return WebSession(
                id_hash=row.id_hash,
                user=_user(user),
                stage=cast(SessionStage, row.stage),
                csrf_token=row.csrf_token,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                expires_at=row.expires_at,
            )

    def touch_session(self, id_hash: str) -> None:
        """Record activity (written at most once a minute per session)."""
        now = self._clock()
        with self._writing() as s:
            s.execute(
                update(SessionRow)
                .where(SessionRow.id_hash == id_hash, SessionRow.last_seen_at < now - _TOUCH_EVERY)
                .values(last_seen_at=now)
            )

    def delete_session(self, id_hash: str) -> None:
        """End a session."""
        with self._writing() as s:
            s.execute(delete(SessionRow).where(SessionRow.id_hash == id_hash))

    def purge_sessions(self) -> int:
        """Delete expired sessions; returns how many."""
        with self._writing() as s:
            result = s.execute(delete(SessionRow).where(SessionRow.expires_at <= self._clock()))
            return cast(CursorResult[Any], result).rowcount

    # sign-in throttling --------------------------------------------------------------------
    def record_login(self, username: str, source_ip: str, success: bool) -> None:
        """Remember a sign-in attempt (attempts older than 30 days are dropped)."""
        now = self._clock()
        with self._writing() as s:
            s.add(
                LoginAttemptRow(
                    username=username.lower()[:64],
                    source_ip=source_ip[:64],
                    ts=now,
                    success=success,
                )
            )
            if success:
                s.execute(
                    delete(LoginAttemptRow).where(LoginAttemptRow.ts < now - timedelta(days=30))
                )

    def login_failures(self, username: str, source_ip: str, since: datetime) -> LoginFailures:
        """Failed attempts since ``since`` (for the pair: since its last success, if later)."""
        name, ip = username.lower()[:64], source_ip[:64]
        with self._reading() as s:
            pair = (LoginAttemptRow.username == name, LoginAttemptRow.source_ip == ip)
            last_ok = s.scalar(
                select(func.max(LoginAttemptRow.ts)).where(*pair, LoginAttemptRow.success.is_(True))
            )
            start = max(since, last_ok) if last_ok is not None else since
            user_and_ip = s.scalar(
                select(func.count()).where(
                    *pair, LoginAttemptRow.success.is_(False), LoginAttemptRow.ts > start
                )
            )
            by_ip = s.scalar(
                select(func.count()).where(
                    LoginAttemptRow.source_ip == ip,
                    LoginAttemptRow.success.is_(False),
                    LoginAttemptRow.ts > since,
                )
            )
            return LoginFailures(user_and_ip=user_and_ip or 0, ip=by_ip or 0)

    # cases ------------------------------------------------------------------------------
    def _version_row(self, case_pk: int, number: int, v: NewVersion, actor: str) -> CaseVersionRow:
        return CaseVersionRow(
            case_pk=case_pk,
            version=number,
            case_json=v.case_json,
            input_sha256=v.input_sha256,
            created_by=actor,
            created_at=self._clock(),
            as_of=v.as_of,
            knowledge_id=v.knowledge_id,
            knowledge_version=v.knowledge_version,
            knowledge_sha256=v.knowledge_sha256,
            assessment_json=v.assessment_json,
            disposition=v.disposition,
        )

    def create_case(
        self, case_id: str, version: NewVersion, actor: str, audit: AuditEvent
    ) -> CaseVersion:
        """Store a new case as version 1; AlreadyExistsError if the id is taken."""
        now = self._clock()
        with self._writing(AlreadyExistsError("case", case_id)) as s:
            if s.scalar(select(CaseRow.id).where(CaseRow.case_id == case_id)) is not None:
                raise AlreadyExistsError("case", case_id)
            row = CaseRow(
                case_id=case_id,
                site=version.site,
                surgeon=version.surgeon,
                latest_version=1,
                disposition=version.disposition,
                created_at=now,
                created_by=actor,
                updated_at=now,
                updated_by=actor,
            )
            s.add(row)
            s.flush()
            stored = self._version_row(row.id, 1, version, actor)
            s.add(stored)
            s.flush()
            self._append(s, audit)
            return _full_version(case_id, stored)

    def add_version(
        self,
        case_id: str,
        expected_version: int,
        version: NewVersion,
        actor: str,
        audit: AuditEvent,
    ) -> CaseVersion:
        """Store the next version; VersionConflictError unless ``expected_version`` is the latest."""
        # the (case, version) key is the backstop when a concurrent save won
        conflict = VersionConflictError(case_id, expected_version, expected_version + 1)
        with self._writing(conflict) as s:
            row = s.scalar(select(CaseRow).where(CaseRow.case_id == case_id))
            if row is None:
                raise NotFoundError("case", case_id)
            if row.latest_version != expected_version:
                raise VersionConflictError(case_id, expected_version, row.latest_version)
            number = expected_version + 1
            result = s.execute(
                update(CaseRow)
                .where(CaseRow.id == row.id, CaseRow.latest_version == expected_version)
                .values(
                    latest_version=number,
                    disposition=version.disposition,
                    site=version.site,
                    surgeon=version.surgeon,
                    updated_at=self._clock(),
                    updated_by=actor,
                )
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], result).rowcount != 1:  # a concurrent save won
                raise VersionConflictError(case_id, expected_version, number)
            stored = self._version_row(row.id, number, version, actor)
            s.add(stored)
            s.flush()
            self._append(s, audit)
            return _full_version(case_id, stored)

    def _case_row(self, s: Session, case_id: str) -> CaseRow:
        row = s.scalar(select(CaseRow).where(CaseRow.case_id == case_id))
        if row is None:
            raise NotFoundError("case", case_id)
        return row

    def get_case(self, case_id: str) -> CaseSummary:
        """A case's summary; NotFoundError if absent."""
        with self._reading() as s:
            return _summary(self._case_row(s, case_id))

    def list_cases(
        self,
        limit: int,
        cursor: str | None = None,
        query: str | None = None,
        disposition: str | None = None,
    ) -> Page[CaseSummary]:
        """Cases by id, filtered by a case-id substring and/or disposition, one page."""
        stmt = select(CaseRow).order_by(CaseRow.case_id).limit(limit + 1)
        if cursor:
            stmt = stmt.where(CaseRow.case_id > decode_cursor(cursor))
        if query:
            stmt = stmt.where(CaseRow.case_id.ilike(_like_pattern(query), escape="\\"))
        if disposition:
            stmt = stmt.where(CaseRow.disposition == disposition)
        with self._reading() as s:
            rows = list(s.scalars(stmt))
        items = [_summary(r) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, encode_cursor(items[-1].case_id) if more and items else None)

    def list_versions(self, case_id: str) -> list[VersionSummary]:
        """Every version of a case, oldest first; NotFoundError if the case is absent."""
        with self._reading() as s:
            case = self._case_row(s, case_id)
            rows = s.scalars(
                select(CaseVersionRow)
                .where(CaseVersionRow.case_pk == case.id)
                .order_by(CaseVersionRow.version)
            )
            return [VersionSummary(**_version_fields(case_id, r)) for r in rows]

    def get_version(self, case_id: str, version: int | None = None) -> CaseVersion:
        """One version (the latest when None); NotFoundError if absent."""
        with self._reading() as s:
            case = self._case_row(s, case_id)
            number = case.latest_version if version is None else version
            row = s.scalar(
                select(CaseVersionRow).where(
                    CaseVersionRow.case_pk == case.id, CaseVersionRow.version == number
                )
            )
            if row is None:
                raise NotFoundError("version", f"{case_id} v{number}")
            return _full_version(case_id, row)

    # audit --------------------------------------------------------------------------------
    def append_audit(self, event: AuditEvent) -> AuditEntry:
        """Append an entry to the audit chain in its own transaction."""
        with self._writing() as s:
            return self._append(s, event)

    def list_audit(self, limit: int, entity_id: str | None = None) -> list[AuditEntry]:
        """The most recent entries, newest first."""
        stmt = select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)
        if entity_id is not None:
            stmt = stmt.where(AuditRow.entity_id == entity_id)
        with self._reading() as s:
            return [_entry(r) for r in s.scalars(stmt)]

    def iter_audit(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first, read in batches."""
        last = -1
        while True:
            with self._reading() as s:
                batch = [
                    _entry(r)
                    for r in s.scalars(
                        select(AuditRow)
                        .where(AuditRow.seq > last)
                        .order_by(AuditRow.seq)
                        .limit(_AUDIT_BATCH)
                    )
                ]
            yield from batch
            if len(batch) < _AUDIT_BATCH:
                return
            last = batch[-1].seq

    def audit_state(self) -> AuditState:
        """The chain head and prune anchor."""
        with self._reading() as s:
            row = s.scalars(select(AuditStateRow).where(AuditStateRow.id == 1)).one()
            return AuditState(row.head_seq, row.head_hash, row.anchor_seq, row.anchor_hash)

    def prune_audit(self, before: datetime, audit: AuditEvent) -> int:
        """Remove entries older than ``before`` from the start of the chain; returns how many."""
        with self._writing() as s:
            state = s.scalars(
                select(AuditStateRow).where(AuditStateRow.id == 1).with_for_update()
            ).one()
            last = s.scalar(select(func.max(AuditRow.seq)).where(AuditRow.ts < format_ts(before)))
            if last is None or last <= state.anchor_seq:
                self._append(s, audit)
                return 0
            anchor = s.scalars(select(AuditRow).where(AuditRow.seq == last)).one()
            state.anchor_seq = anchor.seq
            state.anchor_hash = anchor.hash
            s.flush()
            result = s.execute(delete(AuditRow).where(AuditRow.seq <= last))
            removed = cast(CursorResult[Any], result).rowcount
            self._append(s, audit)
            return removed
