"""The ``revspine`` command line (Typer + Rich): one module per command family.

Start-up stays fast: the Typer app and the command modules import only the standard library
and Typer at module level; pydantic models, the engine, YAML, Jinja2 and Rich are imported
inside the command that needs them. ``--version`` is answered before Typer is imported.

Exit codes: 0 success; 2 invalid input or usage (every problem is printed to stderr as
``path: message``); 3 a check found problems (``trace --check``, ``knowledge
check-changelog``); 1 internal error (a bug). Results go to stdout, progress and errors to stderr.
"""

from __future__ import annotations

import os
import sys

__all__ = ["main"]


def main() -> None:
    """Run the ``revspine`` command line (console-script entry point)."""
    if sys.argv[1:] == ["--version"]:
        from revspine import __version__

        print(f"revspine {__version__}")
        return
    # revspine uses no pydantic plugins; skipping their discovery saves start-up time.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from revspine.cli.app import app

    app(prog_name="revspine")
