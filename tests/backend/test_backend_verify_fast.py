"""The fast path of single verification (docs/backend.md, *Verification under load*): views
called by eth_call over a kept-alive connection per thread (backend.chain.rpc) answer as
web3 does for every outcome, reverts decode to the same named errors, a node that is gone
is 503, every verification is in the history, and POST /api/v1/verify carries its
Server-Timing."""
import http.server
import json
import socket
import threading

import pytest
from backendutil import sample_invoice

from backend.chain import get_chain
from backend.chain.client import REGISTRY
from backend.chain.errors import ChainRefusal, ChainUnavailable
from backend.chain.rpc import KeepAliveRpc, RpcError
from backend.core import canonical
from backend.core.db import db
from backend.core.models import Verification
from backend.schemas.verification import RESULTS


def issue(api, **over):
    r = api("merchant1").post("/invoices", json=sample_invoice(**over))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def query(api, inv, **over):
    d = api("merchant1").get(f"/invoices/{inv['number']}").get_json()["issue_date"]
    return {"number": inv["number"], "issue_date": d, "gross": inv["gross"], "check_code": inv["check_code"][-6:],
            **over}


def web3_verify(app, q):
    """The registry's answer through web3's own contract call (the reference)."""
    with app.app_context():
        fn = get_chain().contract(REGISTRY).functions.verify(
            q["number"], int(q["issue_date"].replace("-", "")), q["gross"], int(q["check_code"]))
        return RESULTS[fn.call()]


def fast_verify(app, q):
    with app.app_context():
        return RESULTS[get_chain().call(REGISTRY, "verify", q["number"], int(q["issue_date"].replace("-", "")),
                                        q["gross"], int(q["check_code"]))]


def test_every_outcome_as_web3_answers_it_and_each_recorded(api, chain_app):
    m, auditor = api("merchant1"), api("auditor")
    plain = issue(api)
    voided = issue(api)
    assert m.post(f"/invoices/{voided['number']}/void").status_code == 200
    flagged = issue(api, buyer_tax_id="91350100M000100Y43")  # self-dealing → Flagged
    rejected = issue(api, buyer_tax_id="91350100M000100Y43")
    assert auditor.post(f"/invoices/{rejected['number']}/reject", json={"reason_code": 4}).status_code == 200
    partly = issue(api)
    r = m.post(f"/invoices/{partly['number']}/red-letter", json={"reason_code": 1, "items": [
        {"name": "退货 return", "quantity": 1, "unit_price": 100_00, "tax_rate": 13}]})
    assert r.status_code == 201, r.get_json()
    note = r.get_json()
    full = issue(api)
    assert m.post(f"/invoices/{full['number']}/red-letter", json={"reason_code": 1}).status_code == 201
    cases = [(query(api, plain), "authentic"), (query(api, plain, gross=1), "mismatch"),
             (query(api, plain, number="1" * 20), "not_found"), (query(api, voided), "voided"),
             (query(api, flagged), "flagged"), (query(api, rejected), "rejected"),
             (query(api, partly), "partly_red_lettered"), (query(api, note), "red_letter_note"),
             (query(api, full), "red_lettered")]
    for q, expected in cases:
        assert web3_verify(chain_app, q) == expected, q
        assert fast_verify(chain_app, q) == expected, q
        r = api().post("/verify", json=q)
        assert r.status_code == 200 and r.get_json()["result"] == expected, (q, r.get_json())
    with chain_app.app_context():
        recorded = [(v.number, v.result, v.kind) for v in db.session.query(Verification).order_by(Verification.id)]
    assert recorded == [(q["number"], expected, "single") for q, expected in cases]


def test_a_revert_decodes_to_the_same_named_error(chain_app, seeded):
    key = bytes.fromhex(canonical.invoice_key("1" * 20)[2:])
    with chain_app.app_context():
        chain = get_chain()
        with pytest.raises(ChainRefusal) as fast:
            chain.call(REGISTRY, "getInvoice", key)
        from web3.exceptions import ContractLogicError

        with pytest.raises(ContractLogicError) as reference:
            chain.contract(REGISTRY).functions.getInvoice(key).call()
        expected = chain.decode_error(reference.value, REGISTRY)
        assert (fast.value.name, fast.value.args_) == (expected.name, expected.args_)
        assert fast.value.name == "InvoiceNotFound"
        # a transaction simulated from an account that may not send it: its refusal, by name
        refusal = chain.refusal_of(seeded["buyer"]["address"], REGISTRY, "voidInvoice", key)
        assert isinstance(refusal, ChainRefusal) and refusal.name != "Reverted"


def test_node_gone_is_503_and_nothing_recorded(chain_app, seeded, monkeypatch):
    with chain_app.app_context():
        rpc = get_chain().rpc
        rpc.request("eth_blockNumber", [])  # this thread's connection is open now
    monkeypatch.setattr(rpc, "port", _closed_port())  # the node moved away: nothing listens there
    monkeypatch.setattr(rpc, "_local", threading.local())
    r = chain_app.test_client().post("/api/v1/verify", json={"number": "1" * 20, "issue_date": "2026-01-01",
                                                             "gross": 1, "check_code": "123456"})
    assert r.status_code == 503 and r.get_json()["error"] == "chain_unavailable"
    with chain_app.app_context():
        assert db.session.query(Verification).count() == 0


def test_server_timing_on_single_verification_only(app):
    c = app.test_client()
    r = c.post("/api/v1/verify", json={"number": "12"})  # a 400 is timed too
    assert r.status_code == 400
    name, _, dur = r.headers["Server-Timing"].partition(";dur=")
    assert name == "verify" and float(dur) > 0
    assert "Server-Timing" not in c.get("/healthz").headers
    assert "Server-Timing" not in c.post("/api/v1/verify/batch", json=[]).headers


# ---------------------------------------------------------------- KeepAliveRpc on its own
def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Node(http.server.BaseHTTPRequestHandler):
    """A JSON-RPC node in miniature: eth_blockNumber answers the client's port (one per
    connection); "close"
    answers and drops the connection without saying so; "garbage" answers HTML with a 502;
    anything else is a revert error."""
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        call = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((call["method"], self.headers.get("Authorization")))
        status, body = 200, {"jsonrpc": "2.0", "id": call["id"], "result": hex(self.client_address[1])}
        if call["method"] == "garbage":
            status, body = 502, None
        elif call["method"] not in ("eth_blockNumber", "close"):
            body = {"jsonrpc": "2.0", "id": call["id"],
                    "error": {"code": 3, "message": "execution reverted", "data": "0x1234"}}
        data = json.dumps(body).encode() if body is not None else b"<html>bad gateway</html>"
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if call["method"] == "close":
            self.close_connection = True  # as a restarted node: the kept-alive connection is gone

    def log_message(self, *args):
        pass


@pytest.fixture
def node():
    class Server(http.server.ThreadingHTTPServer):
        connections = 0

        def get_request(self):
            self.connections += 1
            return super().get_request()

    server = Server(("127.0.0.1", 0), _Node)
    server.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_rpc_keeps_one_connection_per_thread(node):
    rpc = KeepAliveRpc(f"http://127.0.0.1:{node.server_address[1]}")
    first = {rpc.request("eth_blockNumber", []) for _ in range(5)}
    answers = []
    threads = [threading.Thread(target=lambda: answers.extend(rpc.request("eth_blockNumber", []) for _ in range(3)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(first) == 1 and len(answers) == 9 and len(set(answers) | first) == 4
    assert node.connections == 4


def test_rpc_reconnects_once_when_the_node_dropped_the_connection(node):
    rpc = KeepAliveRpc(f"http://127.0.0.1:{node.server_address[1]}")
    before = rpc.request("close", [])
    assert rpc.request("eth_blockNumber", []) != before  # a new connection, no error
    assert node.connections == 2


def test_rpc_errors(node):
    rpc = KeepAliveRpc(f"http://user:secret@127.0.0.1:{node.server_address[1]}/rpc")
    with pytest.raises(RpcError) as exc:
        rpc.request("eth_call", [{}, "latest"])
    assert exc.value.is_revert and exc.value.data == "0x1234"
    assert node.seen[-1] == ("eth_call", "Basic dXNlcjpzZWNyZXQ=")  # user:secret, as requests sends it
    with pytest.raises(ChainUnavailable, match="HTTP 502"):
        rpc.request("garbage", [])
    with pytest.raises(ChainUnavailable, match="unreachable"):
        KeepAliveRpc(f"http://127.0.0.1:{_closed_port()}").request("eth_blockNumber", [])
    with pytest.raises(ValueError):
        KeepAliveRpc("ws://127.0.0.1:8545")


def test_history_writers_take_turns_and_every_row_is_committed(app):
    """8 threads recording at once (as waitress's threads do): every row committed, none lost
    to a locked database."""
    from backend.services import verification

    errors = []

    def work(k):
        try:
            with app.app_context():
                for i in range(25):
                    verification.record(None, "single", f"{k:02d}{i:018d}", {"k": k, "i": i}, "authentic",
                                        client="127.0.0.1")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with app.app_context():
        numbers = {v.number for v in db.session.query(Verification)}
    assert numbers == {f"{k:02d}{i:018d}" for k in range(8) for i in range(25)}


def test_rpc_a_forked_process_opens_its_own_connection(node):
    """A worker forked after the parent read (gunicorn --preload) must not share its socket."""
    import multiprocessing

    rpc = KeepAliveRpc(f"http://127.0.0.1:{node.server_address[1]}")
    parent = rpc.request("eth_blockNumber", [])
    answers = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=lambda: answers.put(rpc.request("eth_blockNumber", [])))
    child.start()
    child.join(30)
    assert child.exitcode == 0 and answers.get(timeout=5) != parent
    assert rpc.request("eth_blockNumber", []) == parent and node.connections == 2
