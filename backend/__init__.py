"""On-chain e-invoice platform: Flask backend.

``create_app(config)`` builds the app; ``flask --app backend run`` serves it for
development and ``python -m backend.serve`` (waitress) for production.
"""
import os

from flask import Flask, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from .core import config as config_module


def _fast_keccak():
    """keccak256 (eth_utils.keccak, eth-account, web3) through safe-pysha3, installed with
    eth-brownie, instead of eth-hash's first choice pycryptodome: ~7x faster a call, and it
    keeps the GIL for short inputs where pycryptodome lets it go and takes it back on every
    hash (with another thread busy, each take can wait a switch interval: bulk issuance
    hashes tens of thousands of short inputs). The same digests."""
    try:
        from eth_hash.auto import keccak
        from eth_hash.backends import pysha3
    except ImportError:
        return
    keccak.hasher, keccak.preimage = pysha3.keccak256, pysha3.preimage


_fast_keccak()


def _http_error(exc):
    """HTTP errors answer JSON under /api/, an HTML page elsewhere; both keep the headers of
    the error (Allow on a 405, Retry-After on a 429)."""
    from .api import errors as api_errors
    from .core import security

    if request.path.startswith("/api/"):
        return api_errors.handle(exc)
    if exc.code == 429:
        return security.rate_limited_response(exc)
    name, description = api_errors.http_error_words(exc)  # in words, in the request's language
    page = make_response(render_template("error.html", code=exc.code, name=name, description=description),
                         exc.code)
    return api_errors.with_headers_of(exc, page)


def create_app(config=None):
    app = Flask(__name__, instance_relative_config=True, template_folder="web/templates",
                static_folder="web/static")
    os.makedirs(app.instance_path, exist_ok=True)
    config_module.load(app, config)
    app.json.ensure_ascii = False  # the API's messages readable as they are (UTF-8), not as \uXXXX escapes

    from .core import buyer_privacy, db, i18n, security

    buyer_privacy.init_app(app)  # BUYER_TAG_KEY parsed once (refuses a short or malformed key)
    db.init_app(app)
    security.init_app(app)
    i18n.init_app(app)  # Chinese by default, English second (docs/i18n.md)

    from . import api, chain, cli, web

    chain.init_app(app)
    from .chain import indexer
    from .services import detector

    indexer.add_listener(detector.on_indexed)  # anomaly detection as events arrive (docs/alerts.md)
    cli.init_app(app)
    web.init_app(app)
    api.init_app(app)
    security.init_limits(app)  # rate limits on the verification and login endpoints (Flask-Limiter)
    web.onboarding.init_limits(app)  # and on the public merchant sign-up
    from .core.timing import ServerTiming

    app.wsgi_app = ServerTiming(app.wsgi_app)  # Server-Timing on POST /api/v1/verify (docs/backend.md)
    app.register_error_handler(HTTPException, _http_error)

    @app.route("/")
    def index():
        """Home: what needs the signed-in user's attention (web.home), else the verification pages."""
        from .web import home

        return home.page()

    @app.route("/healthz")
    def healthz():
        """Liveness + how far the event indexer got (for operators and the benchmark)."""
        from .core.db import get_db
        from .core.models import IndexerCursor

        cursor = get_db().get(IndexerCursor, "events")
        return {"status": "ok", "indexed_block": cursor.last_block if cursor else None}

    return app
