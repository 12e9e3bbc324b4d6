"""The SQLAlchemy handle. ``get_db()`` returns the request's session (kept in ``g``
by Flask-SQLAlchemy's scoped session), in the manner of the Flask tutorial."""
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


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
        from . import models  # noqa: F401  (register the tables)

        db.create_all()
        add_missing_columns()


def add_missing_columns():
    """There are no migrations: ``create_all`` makes missing tables, and this adds the
    nullable columns a later version introduced to an existing table (e.g.
    ``invoices.rate_mask``), so a database made by an earlier version keeps working."""
    from sqlalchemy import inspect

    inspector = inspect(db.engine)
    existing_tables = set(inspector.get_table_names())
    with db.engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            if table.name not in existing_tables:
                continue
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have and column.nullable:
                    kind = column.type.compile(dialect=db.engine.dialect)
                    conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}')
