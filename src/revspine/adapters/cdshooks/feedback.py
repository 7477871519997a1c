"""Card feedback: what clinicians did with revspine's cards, stored idempotently.

The same outcome may be reported more than once (CDS Hooks 2.0); a repeat is recognised by its
content key and stored once. :class:`FeedbackStore` is the port; :class:`InMemoryFeedbackStore`
the implementation used until the SQL store grows a table for it. Cards issued by this process
are remembered (bounded) so that each record carries the rule ids of the card it is about.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC
from typing import Protocol

from revspine.adapters.cdshooks.models import FeedbackItem

__all__ = ["FeedbackRecord", "FeedbackStore", "InMemoryFeedbackStore", "IssuedCards"]


@dataclass(frozen=True)
class FeedbackRecord:
    """One reported outcome of one card."""

    service_id: str
    card: str
    outcome: str
    outcome_timestamp: str
    accepted_suggestions: tuple[str, ...] = ()
    override_system: str | None = None
    override_code: str | None = None
    user_comment: str | None = None
    rule_ids: tuple[str, ...] = ()
    known_card: bool = False

    @property
    def key(self) -> str:
        """Identity for idempotency: the same report twice has the same key."""
        parts = (
            self.service_id,
            self.card,
            self.outcome,
            self.outcome_timestamp,
            ",".join(sorted(self.accepted_suggestions)),
            self.override_system or "",
            self.override_code or "",
            self.user_comment or "",
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    @classmethod
    def of(
        cls, service_id: str, item: FeedbackItem, rule_ids: tuple[str, ...] | None
    ) -> FeedbackRecord:
        """The record of one feedback entry (``rule_ids`` None: the card is not known here)."""
        reason = item.overrideReason.reason if item.overrideReason else None
        return cls(
            service_id=service_id,
            card=item.card,
            outcome=item.outcome,
            outcome_timestamp=item.outcomeTimestamp.astimezone(UTC).isoformat(),
            accepted_suggestions=tuple(s.id for s in item.acceptedSuggestions or ()),
            override_system=reason.system if reason else None,
            override_code=reason.code if reason else None,
            user_comment=item.overrideReason.userComment if item.overrideReason else None,
            rule_ids=rule_ids or (),
            known_card=rule_ids is not None,
        )


class FeedbackStore(Protocol):
    """Where feedback goes."""

    def record(self, record: FeedbackRecord) -> bool:
        """Store ``record`` unless already stored; True when it was new."""

    def records(self) -> list[FeedbackRecord]:
        """Every stored record, oldest first."""


class InMemoryFeedbackStore:
    """A :class:`FeedbackStore` in a dict (lost at restart)."""

    def __init__(self) -> None:
        self._items: dict[str, FeedbackRecord] = {}
        self._lock = threading.Lock()

    def record(self, record: FeedbackRecord) -> bool:
        with self._lock:
            if record.key in self._items:
                return False
            self._items[record.key] = record
            return True

    def records(self) -> list[FeedbackRecord]:
        with self._lock:
            return list(self._items.values())


class IssuedCards:
    """The most recent cards issued by this process: uuid → (service id, rule ids)."""

    def __init__(self, max_size: int = 50_000) -> None:
        self.max_size = max_size
        self._cards: OrderedDict[str, tuple[str, tuple[str, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, service_id: str, card_uuid: str, rule_ids: tuple[str, ...]) -> None:
        with self._lock:
            self._cards[card_uuid] = (service_id, rule_ids)
            self._cards.move_to_end(card_uuid)
            while len(self._cards) > self.max_size:
                self._cards.popitem(last=False)

    def rule_ids(self, service_id: str, card_uuid: str) -> tuple[str, ...] | None:
        """The card's rule ids, or None when this process did not issue it for that service."""
        with self._lock:
            found = self._cards.get(card_uuid)
        return found[1] if found and found[0] == service_id else None
