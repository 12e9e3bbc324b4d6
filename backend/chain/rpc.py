"""JSON-RPC over a keep-alive HTTP connection per thread, for the reads on the hot path
(``ChainClient.call``: public verification is one eth_call). web3's request path (its
method formatters, middleware, a requests Session) costs about 2.5 ms of CPU a call;
http.client on an open connection costs a few tenths of one (docs/backend.md,
*Verification under load*)."""
import base64
import http.client
import json
import os
import socket
import threading
from urllib.parse import urlsplit

from .errors import ChainUnavailable

# A kept-alive connection the node has closed in the meantime fails on its next use with
# one of these; a read is then sent once more on a new connection.
STALE = (http.client.RemoteDisconnected, http.client.CannotSendRequest, http.client.BadStatusLine,
         ConnectionResetError, BrokenPipeError)


class RpcError(Exception):
    """The node answered a JSON-RPC error: ``code``, ``message``, ``data`` as it sent them."""

    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    @property
    def is_revert(self):
        """A reverted call (Anvil: code 3 with the revert data; Ganache: "revert" in the message)."""
        return self.code == 3 or "revert" in (self.message or "").lower()


class KeepAliveRpc:
    """``request(method, params)`` → the answer's ``result``; one HTTP/1.1 connection per
    thread (waitress's threads each keep theirs), opened on first use."""

    def __init__(self, url, timeout=15):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) JSON-RPC URL: {url}")
        self.https = parts.scheme == "https"
        self.host, self.port = parts.hostname, parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json"}
        if parts.username is not None:  # http://user:secret@host/ as requests would send it
            secret = f"{parts.username}:{parts.password or ''}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(secret).decode()
        self._local = threading.local()

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():  # a forked worker does not share its parent's socket
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = self._local.conn = kind(self.host, self.port, timeout=self.timeout)
            self._local.pid = os.getpid()
        if conn.sock is None:  # new, or closed by a "Connection: close" answer
            conn.connect()
            # http.client sends the headers and the body in two writes: without NODELAY,
            # Nagle holds the body back until the headers are acknowledged (as urllib3 does)
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _drop(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _post(self, body):
        """The answer's bytes; a stale kept-alive connection is replaced once."""
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            reused = conn is not None and conn.sock is not None and self._local.pid == os.getpid()
            try:
                conn = self._connection()
                conn.request("POST", self.path, body, self.headers)
                response = conn.getresponse()
                data = response.read()
            except STALE as exc:
                self._drop()
                if reused and attempt == 1:
                    continue
                raise ChainUnavailable(f"the node at {self.host}:{self.port} closed the connection: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:  # refused, timed out, unreachable, garbled
                self._drop()
                raise ChainUnavailable(f"the node at {self.host}:{self.port} is unreachable: {exc}") from exc
            if response.status != 200 and not data.startswith(b"{"):
                raise ChainUnavailable(f"the node answered HTTP {response.status}: {data[:200]!r}")
            return data

    def request(self, method, params):
        data = self._post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode())
        try:
            answer = json.loads(data)
        except ValueError:
            raise ChainUnavailable(f"the node's answer to {method} is not JSON: {data[:200]!r}") from None
        error = answer.get("error")
        if error is not None:
            raise RpcError(error.get("code"), error.get("message", ""), error.get("data"))
        return answer.get("result")
