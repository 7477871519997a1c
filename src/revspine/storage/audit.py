"""The audit chain: how an entry is hashed, and how the chain is verified.

Each entry's ``hash`` is the SHA-256 of the canonical JSON of its content plus ``prev_hash``, the
hash of the entry before it (the first entry follows 64 zeros). ``audit_state`` records the head
(latest seq and hash) so that removing the newest entries is detected too, and the prune anchor
(the last entry removed by ``revspine audit prune``) so that a pruned chain still verifies.
Database triggers refuse UPDATE on the log and DELETE above the anchor; verification catches
what someone with direct database access does after disabling them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from revspine.storage.records import AuditEntry, AuditEvent, AuditState

GENESIS_HASH = "0" * 64
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_ts(when: datetime) -> str:
    """An aware datetime as the fixed-width UTC text stored in the log."""
    return when.astimezone(UTC).strftime(_TS_FORMAT)


def parse_ts(text: str) -> datetime:
    """The inverse of :func:`format_ts`."""
    return datetime.strptime(text, _TS_FORMAT).replace(tzinfo=UTC)


def entry_hash(seq: int, ts: str, event: AuditEvent | AuditEntry, prev_hash: str) -> str:
    """The SHA-256 (hex) of an entry's canonical JSON content and its predecessor's hash."""
    content = {
        "seq": seq,
        "ts": ts,
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "source_ip": event.source_ip,
        "outcome": event.outcome,
        "detail": event.detail,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The result of verifying the chain: ok, or the first problem found."""

    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    problem_seq: int | None = None


def verify_chain(entries: Iterable[AuditEntry], state: AuditState) -> ChainReport:
    """Recompute every hash and link; report the first modified, missing or reordered entry."""
    expected_seq = state.anchor_seq + 1
    prev = state.anchor_hash
    checked = 0

    def bad(seq: int, problem: str) -> ChainReport:
        return ChainReport(False, checked, state.head_seq, state.head_hash, problem, seq)

    for entry in entries:
        if entry.seq > expected_seq:
            missing = (
                f"entry {expected_seq} is missing"
                if entry.seq == expected_seq + 1
                else f"entries {expected_seq}-{entry.seq - 1} are missing"
            )
            return bad(expected_seq, f"{missing} (deleted)")
        if entry.seq < expected_seq:
            return bad(entry.seq, f"entry {entry.seq} is out of sequence or duplicated")
        if entry.prev_hash != prev:
            return bad(
                entry.seq,
                f"entry {entry.seq} does not link to the entry before it "
                "(that entry was changed, or this one was)",
            )
        if entry_hash(entry.seq, entry.ts, entry, entry.prev_hash) != entry.hash:
            return bad(
                entry.seq, f"entry {entry.seq} was modified (its content does not match its hash)"
            )
        prev = entry.hash
        expected_seq = entry.seq + 1
        checked += 1
    last_seq = expected_seq - 1
    if state.head_seq > last_seq:
        first = last_seq + 1
        what = (
            f"entry {first} is missing"
            if first == state.head_seq
            else f"entries {first}-{state.head_seq} are missing"
        )
        return bad(first, f"{what} (deleted from the end of the log)")
    if state.head_seq < last_seq or state.head_hash != prev:
        return bad(
            last_seq, f"the chain head does not match entry {last_seq} (the head was changed)"
        )
    return ChainReport(True, checked, state.head_seq, state.head_hash)
