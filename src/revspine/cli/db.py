"""``revspine db upgrade|current``: the database schema (Alembic migrations shipped in the package)."""

from __future__ import annotations

import typer

from revspine.cli._store import (
    ConfigOpt,
    SettingOpt,
    SettingsCommand,
    load,
    store_errors,
    typer_app,
)

app = typer_app(
    "db", "The database: apply migrations, show the schema revision.", no_args_is_help=True
)


@app.command("upgrade", cls=SettingsCommand)
def upgrade(setting: SettingOpt = None, config: ConfigOpt = None) -> None:
    """Apply every pending migration to the configured database."""
    with store_errors():
        from revspine.storage.engine import current_revision, make_engine, run_migrations

        engine = make_engine(load(setting, config).database_url)
        try:
            run_migrations(engine)
            typer.echo(f"database at revision {current_revision(engine)}")
        finally:
            engine.dispose()


@app.command("current", cls=SettingsCommand)
def current(setting: SettingOpt = None, config: ConfigOpt = None) -> None:
    """Print the schema revision of the configured database (none if never migrated)."""
    with store_errors():
        from revspine.storage.engine import current_revision, make_engine

        engine = make_engine(load(setting, config).database_url)
        try:
            typer.echo(current_revision(engine) or "none")
        finally:
            engine.dispose()
