"""Immutable knowledge versions: a change to the built-in knowledge needs a new version and a
CHANGELOG entry (REQ-304, HAZ-005; STYLE §5 and §11).

``src/revspine/knowledge/RELEASED`` records the version and content hash (the sha256 every
assessment carries) of the last released knowledge base. When ``default.toml``'s content hash
differs from it, the ``[meta] version`` must differ too, and CHANGELOG.md must have an entry
naming the new version and the rule ids it affects. At release, ``revspine knowledge
check-changelog --record`` writes the new version and hash to RELEASED.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

RELEASED_PATH = "src/revspine/knowledge/RELEASED"
_RULE_ID = re.compile(r"\b(RF|DX|WU|DS|OP|PL|PO|NS)\d{3}\b")


@dataclass(frozen=True)
class Released:
    """The last released knowledge base: version and content hash."""

    version: str
    sha256: str


def parse_released(text: str) -> Released:
    """Read a RELEASED file (TOML: ``version`` and ``sha256``); ValueError names what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"RELEASED is not TOML: {exc}") from exc
    version, sha = data.get("version"), data.get("sha256")
    if not isinstance(version, str) or not version:
        raise ValueError("RELEASED: 'version' is missing")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ValueError("RELEASED: 'sha256' is not a 64-digit hex hash")
    return Released(version, sha)


def render_released(knowledge_id: str, version: str, sha256: str) -> str:
    """The text of a RELEASED file for this knowledge version."""
    return (
        "# The last released built-in knowledge base (revspine knowledge check-changelog).\n"
        "# Written at release by `revspine knowledge check-changelog --record`; do not edit.\n"
        f'id = "{knowledge_id}"\n'
        f'version = "{version}"\n'
        f'sha256 = "{sha256}"\n'
    )


def _entries(changelog: str) -> list[str]:
    """CHANGELOG list items (a ``- `` line with its indented continuation lines) and headings."""
    entries: list[str] = []
    for line in changelog.splitlines():
        if line.startswith(("- ", "* ", "#")) or not entries:
            entries.append(line)
        elif line.startswith((" ", "\t")) and line.strip():
            entries[-1] += " " + line.strip()
        else:
            entries.append(line)
    return entries


def check_changelog(version: str, sha256: str, released: Released, changelog: str) -> list[str]:
    """Problems with the built-in knowledge's version bookkeeping (empty when all is well)."""
    if sha256 == released.sha256:
        return []
    problems: list[str] = []
    if version == released.version:
        problems.append(
            f"default.toml content changed (sha256 {sha256[:12]}, released {released.sha256[:12]}) "
            f"but [meta] version is still {version}: released versions are immutable, bump it"
        )
        return problems
    mentions = [e for e in _entries(changelog) if version in e]
    if not mentions:
        problems.append(f"CHANGELOG.md has no entry naming knowledge version {version}")
    elif not any(_RULE_ID.search(e) for e in mentions):
        problems.append(
            f"the CHANGELOG.md entry for knowledge version {version} names no rule id "
            "(knowledge changes name the rules they affect)"
        )
    return problems
