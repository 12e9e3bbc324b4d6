"""The SQLAlchemy handle. ``get_db()`` returns the request's session (kept in ``g``
by Flask-SQLAlchemy's scoped session), in the manner of the Flask tutorial."""
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def get_db():
    return db.session


def init_app(app):
    db.init_app(app)
    with app.app_context():
        from . import models  # noqa: F401  (register the tables)

        db.create_all()
