"""Server-Timing (W3C) on the public single verification: the milliseconds the app spent
on a request, from the WSGI call to its response headers, so that a client under load
(bench/scale.py) can tell the server's own time from the wait in the server's queue."""
import time

# PATH_INFO → the metric's name in ``Server-Timing: <name>;dur=<ms>``
TIMED = {"/api/v1/verify": "verify"}


class ServerTiming:
    """WSGI middleware around the Flask app: a request to a path of ``timed`` answers with
    ``Server-Timing: <name>;dur=<ms>``; every other request passes through untouched."""

    def __init__(self, wsgi_app, timed=None):
        self.wsgi_app = wsgi_app
        self.timed = TIMED if timed is None else timed

    def __call__(self, environ, start_response):
        name = self.timed.get(environ.get("PATH_INFO"))
        if name is None:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()

        def timed_start(status, headers, exc_info=None):
            # Flask calls start_response once the response is made: the app's whole time
            headers.append(("Server-Timing", f"{name};dur={(time.perf_counter() - started) * 1000:.2f}"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, timed_start)
