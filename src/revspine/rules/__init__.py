"""The rules as code: one module per pathway step."""

from __future__ import annotations

_LOADED = False


def load_all() -> None:
    """Import every rule module so that its rules register."""
    global _LOADED
    if _LOADED:
        return
    from revspine.rules import (  # noqa: F401
        differential,
        disposition,
        nonsurgical,
        optimisation,
        planning,
        postop,
        red_flags,
        workup,
    )

    _LOADED = True
