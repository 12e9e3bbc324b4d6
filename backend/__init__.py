"""On-chain e-invoice platform: Flask backend.

``create_app(config)`` builds the app; ``flask --app backend run`` serves it for
development and ``python -m backend.serve`` (waitress) for production.
"""
import os

from flask import Flask, render_template

from .core import config as config_module


def create_app(config=None):
    app = Flask(__name__, instance_relative_config=True, template_folder="web/templates",
                static_folder="web/static")
    os.makedirs(app.instance_path, exist_ok=True)
    config_module.load(app, config)

    from .core import buyer_privacy, db, security

    buyer_privacy.init_app(app)  # BUYER_TAG_KEY parsed once (refuses a short or malformed key)
    db.init_app(app)
    security.init_app(app)

    from . import api, chain, cli, web

    chain.init_app(app)
    cli.init_app(app)
    web.init_app(app)
    api.init_app(app)
    security.init_limits(app)  # rate limits on the verification and login endpoints (Flask-Limiter)

    @app.route("/")
    def index():
        return render_template("index.html")

    @app.route("/healthz")
    def healthz():
        """Liveness + how far the event indexer got (for operators and the benchmark)."""
        from .core.db import get_db
        from .core.models import IndexerCursor

        cursor = get_db().get(IndexerCursor, "events")
        return {"status": "ok", "indexed_block": cursor.last_block if cursor else None}

    return app
