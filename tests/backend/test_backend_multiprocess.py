"""Several backend processes on one database sign for one merchant (issue 10, item 8):
nonces and numbers are coordinated through the database (row locks on PostgreSQL, the
single writer with a busy timeout on SQLite). Two OS processes, two threads each, issue
concurrently: every invoice 201 and on chain exactly once, no nonce error, the merchant's
nonces consecutive. On SQLite and on a throwaway PostgreSQL cluster (pgutil)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.chain import get_chain
from backend.core.db import db
from backend.core.models import Invoice, OutboxTx
from backendutil import make_app


ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("multiprocess_worker.py")
PROCESSES, THREADS, PER_THREAD = 2, 2, 5


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, monkeypatch):
    """Environment of the test and its worker processes: TEST_DATABASE_URL for PostgreSQL."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database("multiprocess")
        monkeypatch.setenv("TEST_DATABASE_URL", url)
    else:
        monkeypatch.delenv("TEST_DATABASE_URL", raising=False)
    return request.param


def run_workers(tmp_path, deployment, token):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(WORKER.parent)])}
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(tmp_path), deployment, token, str(i), str(THREADS),
                               str(PER_THREAD)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(PROCESSES)]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{i}").exists() for i in range(PROCESSES)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), \
            [p.communicate()[1][-2000:] for p in procs if p.poll() is not None]
        time.sleep(0.05)
    (tmp_path / "go").touch()
    results = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr[-3000:]
        results += json.loads(stdout.strip().splitlines()[-1])
    return results


def test_two_processes_issue_for_one_merchant(tmp_path, chain, database):
    from backend.services import seed

    deployment = chain["record"]["path"]
    app = make_app(tmp_path, deployment)
    with app.app_context():
        users = {u["username"]: u for u in seed.seed_users(password="pw")}
        sender = users["merchant1"]["address"]
    results = run_workers(tmp_path, deployment, users["merchant1"]["api_token"])
    total = PROCESSES * THREADS * PER_THREAD
    assert [s for s, _ in results] == [201] * total, [r for r in results if r[0] != 201][:3]
    numbers = [n for _, n in results]
    assert len(set(numbers)) == total
    with app.app_context():
        chain_client = get_chain()
        for n in numbers:  # on chain, each once (a number is registered only once)
            assert chain_client.call_named("InvoiceRegistry", "getInvoiceByNumber", n)["gross"] == 226_00
        assert db.session.query(Invoice).filter(Invoice.number.in_(numbers), Invoice.state == "issued").count() \
            == total
        every = db.session.query(OutboxTx).filter_by(sender=sender).order_by(OutboxTx.nonce).all()
        assert all(r.status == "mined" for r in every), [(r.nonce, r.function, r.status, r.error) for r in every]
        rows = [r for r in every if r.function == "issue"]  # (the others: the merchant's registration)
        assert len(rows) == total
        assert [r.nonce for r in rows] == list(range(rows[0].nonce, rows[0].nonce + total))
        assert chain_client.w3.eth.get_transaction_count(sender) == rows[-1].nonce + 1
        db.engine.dispose()
