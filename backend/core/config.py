"""Configuration: defaults, then instance/config.py, then the environment, then the
mapping passed to create_app (tests).

Dev mode (``EINVOICE_ENV=dev``, as for scripts/deploy.py, or ``EINVOICE_DEV=1``, or
``DEV_MODE=True`` in instance/config.py; unset means production for the backend) is the only mode in which a
SECRET_KEY and a BUYER_TAG_KEY are invented and in which the Anvil dev accounts sign transactions.
"""
import os
from pathlib import Path

from flask import current_app, request

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"

DEFAULTS = {
    "DEV_MODE": False,
    "SQLALCHEMY_DATABASE_URI": None,  # var/einvoice.sqlite unless DATABASE_URL
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "DEPLOYMENT_FILE": str(VAR / "deployment.json"),
    "ARTIFACTS_DIR": str(ROOT / "build" / "contracts"),
    "RPC_URL": None,  # overrides the deployment record's rpc_url
    "KEYSTORE_DIR": None,  # instance/keystore unless set
    "KEYSTORE_PASSWORD": None,  # from the environment; never in a file
    "DEV_MNEMONIC": "test test test test test test test test test test test junk",
    "TX_TIMEOUT": 30,
    "INVOICE_REGION": "53",  # region digits of number prefixes when a USCC has none (53 = Yunnan)
    "NUMBER_RANGE_SIZE": 1_000_000,  # numbers per range the authority allocates to a merchant
    "BUYER_TAG_KEY": None,  # HMAC key of the buyer tags (0x-hex or text); required outside dev mode
    "INVOICE_MAX_ITEMS": 200,
    "INVOICE_MAX_AMOUNT": 10**15,  # fen: ten trillion yuan is "absurd"
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "VERIFY_BATCH_MAX_ROWS": 20000,
    "INVOICE_BATCH_MAX_ROWS": 5000,  # rows of one POST /api/v1/invoices/batch
    "INVOICE_BATCH_CHUNK": 200,  # invoices per issueBatch transaction (the registry takes at most 200)
    "INVOICE_BATCH_MAX_BYTES": 32 * 1024 * 1024,  # body limit of POST /api/v1/invoices/batch
    "INBOX_EXPORT_MAX_INVOICES": 10000,  # invoices of one inbox export (CSV / XLSX; a row per line item)
    # Rate limits (Flask-Limiter): a number = per minute, or a limits string ("120/minute;2000/hour"); 0 = off
    "VERIFY_RATE_LIMIT": 120,  # public verification (pages and API, single, batch, document) per client address
    "LOGIN_RATE_LIMIT": "10/minute",  # failed logins per client address and, separately, per username
    # temporary lockout after failed sign-ins (services.login_throttle): this many wrong passwords or
    # codes of one account, or from one client address, within LOGIN_LOCKOUT_MINUTES lock it for
    # LOGIN_LOCKOUT_MINUTES; 0 = off. An address gets more: an office signs in from one address
    "LOGIN_LOCKOUT_FAILURES": 5,
    "LOGIN_LOCKOUT_ADDRESS_FAILURES": 20,
    "LOGIN_LOCKOUT_MINUTES": 15,
    "SIGNUP_RATE_LIMIT": "10/hour",  # public merchant sign-up posts per client address (spam)
    "LICENCE_MAX_BYTES": 1_500_000,  # a merchant application's licence file (below MAX_CONTENT_LENGTH)
    "RATELIMIT_STORAGE_URI": "memory://",  # one process only; redis://host:6379/0 shares limits between processes
    "RATELIMIT_STRATEGY": "moving-window",
    "RATELIMIT_KEY_PREFIX": "einvoice",
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,  # shared store down: limits per process instead of errors
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SECURE": True,
    "WTF_CSRF_TIME_LIMIT": None,
    "INDEXER_INTERVAL": 1.0,  # seconds between background indexer runs under serve.py; 0 = off
    "CHAIN_ENABLED": True,
    "SQLITE_WAL_AUTOCHECKPOINT": 1000,  # pages; serve.py raises it and checkpoints in the background
    "DATABASE_AUTO_UPGRADE": True,  # create_app upgrades the schema to the newest migration (migrations/)
    # the site's public root (scheme, host, path prefix if any) in the invoice QR codes and PDFs'
    # verification links; None: the root URL of the request that makes them
    "PUBLIC_BASE_URL": None,
    # e-mail of issued invoices (services.mail; docs/delivery.md). MAIL_URL unset: nothing is sent (rows wait)
    "MAIL_URL": None,  # smtp://[user:password@]host[:port], smtps://…, smtp://…?starttls=1
    "MAIL_FROM": "电子发票平台 <noreply@einvoice.localhost>",
    "MAIL_INTERVAL": 5.0,  # seconds between the sender thread's runs under serve.py; 0 = off
    "MAIL_TIMEOUT": 10.0,  # seconds for the SMTP connection
    "MAIL_RETRY_BASE": 30.0,  # seconds before the first retry, doubled each time (at most an hour)
    "MAIL_MAX_ATTEMPTS": 12,  # then the row is failed
    "MAIL_CLAIM_TIMEOUT": 600.0,  # a claim older than this (its sender died mid-send) is taken again
    "MAIL_SINK_PORT": 8025,  # dev mode: the local SMTP sink `make run` starts on 127.0.0.1
    "MAIL_SINK_DIR": str(VAR / "mail"),  # where the sink keeps each message (.eml); the dev mail page reads it
    "PUBLIC_LINK_MAX_AGE_DAYS": 30,  # how long an invoice's public link (/p/<token>) works
    # the anomaly detector's alerts (docs/alerts.md): e-mailed through the mail outbox to
    # ALERT_MAIL_TO (addresses, comma-separated; the detector setting alert_mail_to, when set,
    # replaces it) and, when ALERT_WEBHOOK_URL is set, POSTed there as JSON (retried with backoff)
    "ALERT_MAIL_TO": None,
    "ALERT_WEBHOOK_URL": None,
    "ALERT_WEBHOOK_TIMEOUT": 5.0,  # seconds per attempt
    "ALERT_WEBHOOK_ATTEMPTS": 4,  # then webhook_status is "failed"
    "ALERT_WEBHOOK_BACKOFF": 1.0,  # seconds before the second attempt, doubled each time
    "DETECTOR_ENABLED": True,  # the incremental detection after issuance and indexing (the full scan always runs)
    # the dashboards' charts: Chart.js as npm installs it (package.json pins it), served by the app
    "CHARTJS_FILE": str(ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"),
}


def _flag(value):
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def rate_limit_setting(value):
    """A rate limit from the environment: digits = requests per minute, else a limits string."""
    value = str(value).strip()
    return int(value) if value.isascii() and value.isdigit() else value


ENV_KEYS = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "DEPLOYMENT_FILE": str,
    "ARTIFACTS_DIR": str,
    "RPC_URL": str,
    "KEYSTORE_DIR": str,
    "KEYSTORE_PASSWORD": str,
    "INVOICE_REGION": str,
    "NUMBER_RANGE_SIZE": int,
    "BUYER_TAG_KEY": str,
    "VERIFY_RATE_LIMIT": rate_limit_setting,
    "LOGIN_RATE_LIMIT": rate_limit_setting,
    "SIGNUP_RATE_LIMIT": rate_limit_setting,
    "LICENCE_MAX_BYTES": int,
    "RATELIMIT_STORAGE_URI": str,
    "LOGIN_LOCKOUT_FAILURES": int,
    "LOGIN_LOCKOUT_ADDRESS_FAILURES": int,
    "LOGIN_LOCKOUT_MINUTES": float,
    "TX_TIMEOUT": int,
    "MAX_CONTENT_LENGTH": int,
    "VERIFY_BATCH_MAX_ROWS": int,
    "INVOICE_BATCH_MAX_ROWS": int,
    "INVOICE_BATCH_CHUNK": int,
    "INVOICE_BATCH_MAX_BYTES": int,
    "INBOX_EXPORT_MAX_INVOICES": int,
    "INDEXER_INTERVAL": float,
    "DATABASE_AUTO_UPGRADE": _flag,
    "PUBLIC_BASE_URL": str,
    "MAIL_URL": str,
    "MAIL_FROM": str,
    "MAIL_INTERVAL": float,
    "MAIL_TIMEOUT": float,
    "MAIL_RETRY_BASE": float,
    "MAIL_MAX_ATTEMPTS": int,
    "MAIL_CLAIM_TIMEOUT": float,
    "MAIL_SINK_PORT": int,
    "MAIL_SINK_DIR": str,
    "PUBLIC_LINK_MAX_AGE_DAYS": float,
    "ALERT_MAIL_TO": str,
    "ALERT_WEBHOOK_URL": str,
    "ALERT_WEBHOOK_TIMEOUT": float,
    "ALERT_WEBHOOK_ATTEMPTS": int,
    "ALERT_WEBHOOK_BACKOFF": float,
    "DETECTOR_ENABLED": _flag,
}


def _truthy(value):
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def load(app, overrides=None):
    """Fill app.config. Raises RuntimeError when no SECRET_KEY outside dev mode."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    for name, kind in ENV_KEYS.items():
        prefixed = os.environ.get("EINVOICE_" + name)
        value = prefixed if prefixed is not None else os.environ.get(name)
        if value is not None and value != "":
            app.config[name] = kind(value)
    if os.environ.get("EINVOICE_ENV"):
        app.config["DEV_MODE"] = os.environ["EINVOICE_ENV"].strip().lower() == "dev"
    if "EINVOICE_DEV" in os.environ:
        app.config["DEV_MODE"] = _truthy(os.environ["EINVOICE_DEV"])
    if overrides:
        app.config.update(overrides)

    if app.config.get("DATABASE_URL") and not (overrides or {}).get("SQLALCHEMY_DATABASE_URI"):
        url = app.config["DATABASE_URL"]
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            try:
                import psycopg2  # noqa: F401  (SQLAlchemy's default PostgreSQL driver)
            except ImportError:
                url = "postgresql+psycopg://" + url[len("postgresql://"):]  # psycopg 3
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        VAR.mkdir(exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(VAR / "einvoice.sqlite")
    if not app.config.get("KEYSTORE_DIR"):
        app.config["KEYSTORE_DIR"] = os.path.join(app.instance_path, "keystore")

    if not app.config.get("SECRET_KEY"):
        if app.config["DEV_MODE"] or app.config.get("TESTING"):
            app.config["SECRET_KEY"] = "dev-only-secret-key-not-for-production"
        else:
            raise RuntimeError(
                "SECRET_KEY is not set. Set SECRET_KEY in the environment or instance/config.py "
                "(or EINVOICE_ENV=dev for a development run)."
            )
    if not app.config.get("BUYER_TAG_KEY"):
        if app.config["DEV_MODE"] or app.config.get("TESTING"):
            from .buyer_privacy import DEV_BUYER_TAG_KEY

            app.config["BUYER_TAG_KEY"] = DEV_BUYER_TAG_KEY
        else:
            raise RuntimeError(
                "未设置购买方标签密钥 BUYER_TAG_KEY。BUYER_TAG_KEY is not set: the platform's secret key of the "
                "buyer tags (HMAC-SHA256; 32 random bytes as 0x + 64 hex digits, e.g. "
                "python -c 'import secrets; print(\"0x\" + secrets.token_hex(32))'). Set BUYER_TAG_KEY in the "
                "environment or instance/config.py, keep it secret and never change it "
                "(or EINVOICE_ENV=dev for a development run)."
            )
    base = app.config.get("PUBLIC_BASE_URL")
    if base and not (isinstance(base, str) and base.startswith(("https://", "http://")) and "?" not in base
                     and "#" not in base):
        raise RuntimeError(f"PUBLIC_BASE_URL 无效：{base!r}。PUBLIC_BASE_URL is the site's public root URL, "
                           "e.g. https://einvoice.example.cn (http:// or https://, no query).")
    if app.config["DEV_MODE"] or app.config.get("TESTING"):
        # plain-HTTP development server: cookies still HttpOnly + SameSite, not Secure
        app.config.setdefault("SESSION_COOKIE_SECURE", False)
        if not (overrides or {}).get("SESSION_COOKIE_SECURE"):
            app.config["SESSION_COOKIE_SECURE"] = False
            app.config["REMEMBER_COOKIE_SECURE"] = False


def public_base_url():
    """The site's public root URL, ending in "/": PUBLIC_BASE_URL, else the current request's
    root URL (what links printed on an invoice, such as its QR code, point at)."""
    return (current_app.config.get("PUBLIC_BASE_URL") or request.url_root).rstrip("/") + "/"


def megabytes(size):
    """Bytes as a person reads them: 2097152 → '2 MB', 1572864 → '1.5 MB'."""
    return f"{size / 1024 / 1024:.1f}".removesuffix(".0") + " MB"


def too_large_message():
    """A 413's words, with the limit (MAX_CONTENT_LENGTH) in MB: Werkzeug's own description
    ("exceeds the capacity limit") does not say how much is allowed."""
    from flask_babel import gettext as _

    limit = megabytes(current_app.config["MAX_CONTENT_LENGTH"])
    return _("The file or request is larger than the limit of %(limit)s.", limit=limit)
