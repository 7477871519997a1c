"""``revspine serve``: run the web app (uvicorn); ``--demo`` loads the example cases and a demo user."""

from __future__ import annotations

import ipaddress
import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from revspine.cli._store import ConfigOpt, SettingOpt, cli_actor, load, store_errors
from revspine.cli._store import SettingsCommand as Command

if TYPE_CHECKING:
    from revspine.web.context import AppContext

__all__ = ["Command", "serve"]

DEMO_USER = "demo"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_demo(ctx: AppContext, directory: Path) -> tuple[int, str]:
    """Store every example case not yet stored; (re)set the demo clinician's password.

    Returns (cases added, the demo password).
    """
    from revspine.casefile import load_case
    from revspine.errors import AlreadyExistsError, CaseValidationError
    from revspine.storage import AuditEvent
    from revspine.web.credentials import Passwords
    from revspine.web.service import evaluate

    actor = cli_actor()
    added = 0
    for path in sorted(directory.glob("*.yaml")):
        try:
            case = load_case(path)
            if case.case_id is None:
                continue
            evaluated = evaluate(ctx, case, None)
            event = AuditEvent(
                actor, "create", "case", case.case_id, None, "success", "demo import v1"
            )
            ctx.store.create_case(case.case_id, evaluated.version, actor, event)
            added += 1
        except AlreadyExistsError:
            continue
        except CaseValidationError as exc:
            typer.echo(f"revspine: skipped {path.name}: {len(exc.problems)} problem(s)", err=True)
    password = secrets.token_urlsafe(12)
    password_hash = Passwords().hash(password)
    if ctx.store.get_user(DEMO_USER) is None:
        event = AuditEvent(
            actor, "user_create", "user", DEMO_USER, None, "success", "demo clinician"
        )
        ctx.store.add_user(DEMO_USER, password_hash, "clinician", event)
    else:
        event = AuditEvent(
            actor, "user_update", "user", DEMO_USER, None, "success", "demo password reset"
        )
        ctx.store.set_password(DEMO_USER, password_hash, event)
    return added, password


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Load examples/*.yaml as cases and create a demo clinician (password printed).",
        ),
    ] = False,
    examples: Annotated[
        Path | None,
        typer.Option(
            "--examples", help="Example cases for --demo (default ./examples).", show_default=False
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "info",
    setting: SettingOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the web app and the JSON API (/api/v1) with uvicorn."""
    with store_errors():
        import uvicorn

        from revspine.cli.demo import find_examples
        from revspine.web import create_app

        logging.basicConfig(
            level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        if log_level.lower() != "debug":
            logging.getLogger("alembic").setLevel(logging.WARNING)
        settings = load(setting, config)
        if not _is_loopback(host) and not settings.cookie_secure:
            typer.echo(
                "revspine: warning: serving beyond loopback without cookie_secure; put TLS in front",
                err=True,
            )
        app = create_app(settings)
        if demo:
            directory = find_examples(examples, Path.cwd())
            if directory is None:
                raise typer.BadParameter(
                    "no examples directory; pass --examples DIR", param_hint="--examples"
                )
            added, password = load_demo(app.state.ctx, directory)
            typer.echo(f"demo: {added} example case(s) added from {directory}")
            typer.echo(
                f"demo sign-in: user {DEMO_USER!r}, password {password!r} (new at every start)"
            )
        typer.echo(
            f"revspine: serving on http://{host}:{port}/ (database {settings.database_url.split('://')[0]})"
        )
        uvicorn.run(
            app,
            host=host,
            port=port,
            access_log=False,
            log_level=log_level.lower(),
            server_header=False,
        )
