"""CSRF on every form, security headers, a small in-process rate limiter."""
import threading
import time

from flask import request
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)


def init_app(app):
    csrf.init_app(app)

    @app.after_request
    def headers(response):
        h = response.headers
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith("/api/") or request.endpoint in {"auth.login", "auth.token"}:
            h.setdefault("Cache-Control", "no-store")
        return response


class RateLimiter:
    """Sliding one-minute window per client key. In-process (one waitress process)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._hits = {}

    def allow(self, key, limit, window=60.0):
        if not limit:
            return True
        now = time.monotonic()
        with self._lock:
            hits = [t for t in self._hits.get(key, ()) if now - t < window]
            if len(hits) >= limit:
                self._hits[key] = hits
                return False
            hits.append(now)
            self._hits[key] = hits
            if len(self._hits) > 10000:
                self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] < window}
            return True


limiter = RateLimiter()
