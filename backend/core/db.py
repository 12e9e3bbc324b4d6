"""The SQLAlchemy handle. ``get_db()`` returns the request's session (kept in ``g``
by Flask-SQLAlchemy's scoped session), in the manner of the Flask tutorial.

The schema is defined by the Alembic revisions in migrations/ (Flask-Migrate), not by
``create_all``: ``init_app`` (so every ``create_app``) upgrades the database to the newest
revision (``upgrade_database``) unless DATABASE_AUTO_UPGRADE is off. A database made
before there were migrations (the previous release's ``create_all``: tables but no
``alembic_version``) is recorded as the first revision, the baseline, by
migrations/env.py and then upgraded. ``flask --app backend db …`` are the operator's
commands (``upgrade``, ``current``, ``migrate -m …`` to write a revision, ``check``)."""
import logging
import sqlite3
from contextlib import contextmanager
from pathlib import Path

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

log = logging.getLogger(__name__)


@contextmanager
def quiet_alembic():
    """Alembic's INFO lines (context, plugins, steps) off while the app migrates: its own
    log says what was done. An alembic logger configured with a level is left alone."""
    logger = logging.getLogger("alembic")
    level = logger.level
    if level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


with quiet_alembic():
    from flask_migrate import Migrate  # (Alembic logs its plugins as it loads them)


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

# the invoice search index (migration 0012): SQLite's FTS5 table, PostgreSQL's pg_trgm index
SEARCH_TABLE, SEARCH_PG_INDEX = "invoice_search", "ix_invoices_search_trgm"


def in_models(name, type_, parent_names):
    """False for what the migrations make that the models do not describe, so that
    autogenerate (``flask db check``, ``migrate``) leaves it alone: the invoice search
    index of migration 0012 (SQLite's FTS5 table and its shadow tables, PostgreSQL's
    pg_trgm index)."""
    if type_ == "table":
        return not name.startswith(SEARCH_TABLE)
    return not (type_ == "index" and name == SEARCH_PG_INDEX)


# render_as_batch: SQLite cannot ALTER most things, Alembic's batch mode rebuilds the table
migrate = Migrate(directory=str(MIGRATIONS_DIR), render_as_batch=True, compare_type=True, include_name=in_models)


def get_db():
    return db.session


def checkpoint():
    """Passive WAL checkpoint (SQLite only; never blocks writers)."""
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def init_app(app):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {}).setdefault("timeout", 30)
    db.init_app(app)
    migrate.init_app(app, db)
    if uri.startswith("sqlite"):
        from sqlalchemy import event

        with app.app_context():
            @event.listens_for(db.engine, "connect")
            def _sqlite_pragmas(dbapi_conn, _record):
                cur = dbapi_conn.cursor()
                # WAL: readers do not block the writer; NORMAL sync is durable across a
                # process crash (the outbox's case), fsync at checkpoints.
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                # under serve.py the background thread checkpoints (fsync) every few
                # seconds, so requests rarely pay for a checkpoint themselves
                cur.execute(f"PRAGMA wal_autocheckpoint={int(app.config['SQLITE_WAL_AUTOCHECKPOINT'])}")
                cur.close()
    with app.app_context():
        from . import models  # noqa: F401  (register the tables: autogenerate compares them)

        if app.config.get("DATABASE_AUTO_UPGRADE", True):
            upgrade_database()
        else:
            current, head = schema_revisions()
            if current != (head,):
                app.logger.warning(
                    "数据库结构不是最新版本（%s，最新 %s），请运行 flask --app backend db upgrade。"
                    "The database schema is at %s, not at the newest revision %s: run flask --app backend db upgrade.",
                    ", ".join(current) or "none", head, ", ".join(current) or "none", head)


def migrations_config():
    """The Alembic configuration of migrations/ (in an app context). It tells env.py to
    leave logging alone: the app's (or the test runner's) logging is kept."""
    config = migrate.get_config()
    config.attributes["configure_logger"] = False
    return config


def schema_revisions():
    """(the database's current revisions, the newest revision of migrations/)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrations_config()).get_current_head()
    with quiet_alembic(), db.engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    return tuple(current), head


def upgrade_database(revision="head"):
    """Upgrade the database to ``revision`` (in an app context); a fresh database is
    created by the migrations. A SQLite file with tables is copied first (SQLite runs
    DDL outside transactions, so a failed upgrade may leave it half done). Returns the
    copy's path or None. Raises RuntimeError (Chinese, then English) when the database
    is at a revision this version does not know (upgraded by a newer release) or the
    upgrade fails."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    config = migrations_config()
    script = ScriptDirectory.from_config(config)
    current, head = schema_revisions()
    if revision == "head" and current == (head,):
        return None
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = [rev for rev in current if rev not in known]
    if unknown:
        raise RuntimeError(
            f"数据库的结构版本 {', '.join(unknown)} 不在本程序的迁移（migrations/）中，可能已被更新的版本升级；"
            f"请运行更新的版本，或恢复备份。The database's schema revision {', '.join(unknown)} is not one of this "
            "version's migrations (migrations/): a newer release upgraded it. Run the newer release or restore "
            "a backup.")
    backup = None
    if inspect(db.engine).get_table_names():
        backup = backup_sqlite(f"before-{head if revision == 'head' else revision}")
    log.info("upgrading the database schema from %s to %s%s", ", ".join(current) or "none", revision,
             f" (the database before: {backup})" if backup else "")

    def applied(step, **_):
        doc = (step.up_revision.doc or "").splitlines()
        log.info("database schema: %s %s (%s)", "applied" if step.is_upgrade else "reverted",
                 step.up_revision_id, doc[0] if doc else "")

    config.attributes["on_version_apply"] = applied
    try:
        with quiet_alembic():
            command.upgrade(config, revision)
    except (CommandError, SQLAlchemyError) as exc:
        raise RuntimeError(f"数据库升级失败：{exc}。The database upgrade failed: {exc}"
                           + (f" (the database before the upgrade: {backup})" if backup else "")) from exc
    return backup


def backup_sqlite(label):
    """Copy a file SQLite database next to it as <name>.<label>.sqlite (the online backup
    API: consistent with its WAL). Returns the path, or None (not a SQLite file)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return None
    path = Path(url.database)
    target, n = path.with_name(f"{path.stem}.{label}.sqlite"), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.stem}.{label}.{n}.sqlite")
    source, copy = sqlite3.connect(path), sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return target
