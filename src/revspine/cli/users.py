"""``revspine user add|list|passwd|token|totp``: local accounts, API tokens and TOTP enrolment."""

from __future__ import annotations

import sys
from datetime import timedelta
from enum import StrEnum
from typing import Annotated

import typer

from revspine.cli._store import (
    ConfigOpt,
    SettingOpt,
    SettingsCommand,
    cli_actor,
    load,
    opened_store,
    store_errors,
    typer_app,
)

app = typer_app(
    "user", "Local accounts: add users, set passwords, API tokens, TOTP.", no_args_is_help=True
)


class RoleChoice(StrEnum):
    """Account roles."""

    admin = "admin"
    clinician = "clinician"
    viewer = "viewer"


NameArg = Annotated[str, typer.Argument(help="User name.", metavar="NAME", show_default=False)]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]


def _password(from_stdin: bool, username: str) -> str:
    from revspine.web.credentials import check_password_policy

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    check_password_policy(password, username)
    return password


@app.command("add", cls=SettingsCommand)
def add(
    name: NameArg,
    role: Annotated[
        RoleChoice, typer.Option("--role", help="admin, clinician or viewer.")
    ] = RoleChoice.clinician,
    password_stdin: PasswordStdin = False,
    setting: SettingOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create a local account (the password is prompted for, or read from stdin)."""
    with store_errors():
        from revspine.storage import AuditEvent
        from revspine.web.credentials import Passwords, check_username

        username = check_username(name)
        password = _password(password_stdin, username)
        with opened_store(load(setting, config)) as store:
            event = AuditEvent(
                cli_actor(), "user_create", "user", username, None, "success", f"role {role.value}"
            )
            store.add_user(username, Passwords().hash(password), role.value, event)
            typer.echo(f"added {username} ({role.value})")


@app.command("list", cls=SettingsCommand)
def list_users(setting: SettingOpt = None, config: ConfigOpt = None) -> None:
    """List the accounts: name, role, TOTP, created."""
    with store_errors():
        with opened_store(load(setting, config)) as store:
            for user in store.list_users():
                totp = "totp" if user.totp_secret else "-"
                state = "active" if user.active else "inactive"
                typer.echo(
                    f"{user.username}\t{user.role}\t{totp}\t{state}\t{user.created_at:%Y-%m-%d}"
                )


@app.command("passwd", cls=SettingsCommand)
def passwd(
    name: NameArg,
    password_stdin: PasswordStdin = False,
    setting: SettingOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Set a new password (ends the user's sessions)."""
    with store_errors():
        from revspine.storage import AuditEvent
        from revspine.web.credentials import Passwords

        with opened_store(load(setting, config)) as store:
            if store.get_user(name) is None:
                from revspine.errors import NotFoundError

                raise NotFoundError("user", name)
            password = _password(password_stdin, name)
            event = AuditEvent(
                cli_actor(), "user_update", "user", name.lower(), None, "success", "password"
            )
            store.set_password(name, Passwords().hash(password), event)
            typer.echo(f"password changed for {name.lower()}")


@app.command("token", cls=SettingsCommand)
def token(
    name: NameArg,
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "api",
    expires_days: Annotated[
        int | None,
        typer.Option("--expires-days", min=1, help="Expire after N days (default: never)."),
    ] = None,
    setting: SettingOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create a personal API token (printed once; only its hash is stored)."""
    with store_errors():
        from revspine.storage import AuditEvent, system_clock
        from revspine.web.credentials import new_api_token, token_hash

        with opened_store(load(setting, config)) as store:
            secret = new_api_token()
            expires = system_clock() + timedelta(days=expires_days) if expires_days else None
            event = AuditEvent(
                cli_actor(), "token_create", "user", name.lower(), None, "success", label[:64]
            )
            created = store.add_token(name, token_hash(secret), label[:64], expires, event)
            typer.echo(secret)
            when = f", expires {created.expires_at:%Y-%m-%d}" if created.expires_at else ""
            typer.echo(
                f"token {created.id} for {created.username} ({created.label}{when}); it is shown only once",
                err=True,
            )


@app.command("totp", cls=SettingsCommand)
def totp(
    name: NameArg,
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove the user's second factor.")
    ] = False,
    setting: SettingOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Enrol a TOTP second factor: prints the secret and an otpauth:// URI for an authenticator app."""
    with store_errors():
        import pyotp

        from revspine.storage import AuditEvent

        with opened_store(load(setting, config)) as store:
            user = store.get_user(name)
            if user is None:
                from revspine.errors import NotFoundError

                raise NotFoundError("user", name)
            if remove:
                store.set_totp(
                    user.username,
                    None,
                    AuditEvent(cli_actor(), "totp_remove", "user", user.username),
                )
                typer.echo(f"second factor removed for {user.username}")
                return
            secret = pyotp.random_base32()
            store.set_totp(
                user.username, secret, AuditEvent(cli_actor(), "totp_enrol", "user", user.username)
            )
            typer.echo(f"secret: {secret}")
            typer.echo(
                pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="revspine")
            )
            typer.echo("add it to an authenticator app; the user's sessions were ended", err=True)
