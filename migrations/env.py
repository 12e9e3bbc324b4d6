"""Alembic environment of the e-invoice backend (Flask-Migrate's, plus three things):

* a database made before there were migrations — the previous release's ``create_all``:
  the app's tables but no ``alembic_version`` — is stamped with the baseline revision
  (the first one: that release's schema) before the migrations run, so they upgrade it
  instead of creating tables that exist;
* on SQLite, foreign keys are off while migrations run (batch mode rebuilds a table by
  copy, drop and rename; dropping a referenced table would fail or cascade);
* logging is configured from alembic.ini only for the ``flask db`` commands, not when
  the app upgrades its database at start (backend.core.db.upgrade_database, which logs the
  revisions applied itself).
"""
import logging
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from alembic.runtime.migration import MigrationContext
from flask import current_app

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

if config.attributes.get("configure_logger", True) and config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine  # Flask-SQLAlchemy 3


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# the models' MetaData (backend/core/models.py), for 'autogenerate' support
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def adopt_unversioned_database(connection):
    """Stamp a database of the previous release (the app's tables, no alembic_version)
    with the baseline revision. An empty database is left alone (the baseline creates
    its tables)."""
    tables = set(sa.inspect(connection).get_table_names())
    if (not MigrationContext.configure(connection).get_current_heads()
            and tables & (set(get_metadata().tables) | {"number_sequences"})):
        baseline = context.script.get_base()
        logger.warning("database without alembic_version (made before migrations): stamped as the baseline %s",
                       baseline)
        MigrationContext.configure(connection).stamp(context.script, baseline)
    # end the transaction these reads began: with one open, Alembic would take it for the
    # caller's and commit nothing
    connection.commit()


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output. (No database: a database of the previous release is not
    detected; stamp it first, ``flask --app backend db stamp <baseline>``.)

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = dict(current_app.extensions['migrate'].configure_args)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives
    if config.attributes.get("on_version_apply"):  # backend.core.db.upgrade_database logs the steps
        conf_args["on_version_apply"] = config.attributes["on_version_apply"]

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction, or it is ignored
            connection.commit()
        try:
            adopt_unversioned_database(connection)
            context.configure(
                connection=connection,
                target_metadata=get_metadata(),
                **conf_args
            )

            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")  # as backend.core.db sets it on connect
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
