"""API benchmark: issuance through the JSON API (sequential and 8 concurrent clients)
vs raw web3 sends of the same call, single verification latency, a 10,000-row batch.

    python bench/api.py [--issues 200] [--verifies 500] [--output bench/results/api.json]

Everything runs on this machine: an Anvil of its own (127.0.0.1, free port in
8570-8599), the contracts deployed with scripts.deploy, the backend served by waitress
in a subprocess (8 threads, SQLite in a temporary directory), HTTP clients in threads.
Writes {"issue_per_s_api", "issue_per_s_api_8_clients", "issue_per_s_raw",
"verify_p50_ms", "verify_p99_ms", "verify_batch_10000_s", ...} and prints it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from eth_utils import keccak
from web3 import HTTPProvider, Web3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.core import buyer_privacy  # noqa: E402
from scripts import deploy as deploy_module  # noqa: E402
from scripts.chain import Chain, free_port  # noqa: E402
from scripts.dev_accounts import dev_account  # noqa: E402

ARTIFACTS = ROOT / "build" / "contracts"
BODY = {"buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": "91530100MA6K0002XU",
        "items": [{"name": "办公用品", "quantity": 10, "unit_price": 1250, "tax_rate": 13}]}


def deploy(url, path):
    w3 = Web3(HTTPProvider(url))
    return deploy_module.deploy(w3, dev_account(0), url, path, ARTIFACTS, log=lambda *a: None)


def seed(env):
    """Seed the demo users in the bench DB; returns {username: credentials}."""
    os.environ.update(env)
    from backend import create_app
    from backend.services import seed as seed_module

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        users = seed_module.seed_users(password="bench")
        # a large hourly norm / quota so that the benchmark is not about flags
        from backend.chain import get_signer

        chain = get_signer()
        for u in users:
            if u["role"] == "merchant":
                chain.transact(users[0]["address"], "MerchantRegistry", "setLimits", u["address"],
                               (10**13, 10**14, 10**6))
    return {u["username"]: u for u in users}


def wait_http(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(url + "/healthz", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("backend did not start")


def issue_api(base, token, n, results):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    for _ in range(n):
        r = s.post(base + "/api/v1/invoices", json=BODY, timeout=60)
        if r.status_code != 201:
            raise RuntimeError(f"{r.status_code} {r.text[:300]}")
        results.append(r.json())


def raw_rate(url, record, n):
    """The same issue() call the way a web3 user sends it: build_transaction (web3
    estimates gas and fills the fees), sign with eth-account, send raw, wait for the
    receipt (polled every 2 ms, as the backend does) — sequentially, like the API run.
    The request is v2's: a number from merchant2's own range, the buyer as a salted
    commitment (dev buyer-tag key), one 13 % rate group."""
    w3 = Web3(HTTPProvider(url))
    abi = json.loads((ARTIFACTS / "InvoiceRegistry.json").read_text())["abi"]
    c = w3.eth.contract(address=record["contracts"]["InvoiceRegistry"], abi=abi)
    acct = dev_account(2)  # merchant2 (the API run issues as merchant1)
    first, last = c.functions.numberRangeOf(acct.address).call()
    assert first and last - first + 1 >= n, "merchant2 has no number range large enough"
    key = buyer_privacy.parse_key(buyer_privacy.DEV_BUYER_TAG_KEY)
    tag = buyer_privacy.buyer_tag(BODY["buyer_tax_id"], key)
    tag_for_seller = buyer_privacy.buyer_tag_for_seller(BODY["buyer_tax_id"], acct.address, key)
    nonce = w3.eth.get_transaction_count(acct.address)
    t0 = time.perf_counter()
    for i in range(n):
        number = f"{first + i:020d}"
        net, tax = 12500, 1625
        commitment, _ = buyer_privacy.commitment_of(buyer_privacy.new_salt(), BODY["buyer_tax_id"], tag)
        req = (number, acct.address, commitment, tag_for_seller, net, tax, net + tax, 0, int(time.time()) - 5,
               keccak(text=number), [(13, 1, net, tax)])
        tx = c.functions.issue(req).build_transaction({"from": acct.address, "nonce": nonce})
        h = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
        assert w3.eth.wait_for_transaction_receipt(h, poll_latency=0.002)["status"] == 1
        nonce += 1
    return n / (time.perf_counter() - t0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--verifies", type=int, default=500)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "api.json"))
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    chain = Chain(port=free_port(), extra_args=["--base-fee", "0", "--gas-limit", "30000000"]).start()
    server = None
    try:
        record = deploy(chain.rpc_url, tmp / "deployment.json")
        port = free_port()
        env = {"EINVOICE_ENV": "dev", "INDEXER_INTERVAL": os.environ.get("INDEXER_INTERVAL", "1.0"), "SECRET_KEY": "bench-only", "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite",
               "DEPLOYMENT_FILE": str(tmp / "deployment.json"), "VERIFY_RATE_LIMIT": "0",
               "EINVOICE_MAX_CONTENT_LENGTH": str(8 * 1024 * 1024)}
        users = seed(env)
        server = subprocess.Popen([sys.executable, "-m", "backend.serve", "--port", str(port), "--threads", "8"],
                                  cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_http(base)
        token = users["merchant1"]["api_token"]
        issue_api(base, token, 5, [])  # warm-up

        results = []
        t0 = time.perf_counter()
        issue_api(base, token, args.issues, results)
        api_seq = args.issues / (time.perf_counter() - t0)

        results8, threads = [], []
        per = max(1, args.issues // 8)
        t0 = time.perf_counter()
        for _ in range(8):
            threads.append(threading.Thread(target=issue_api, args=(base, token, per, results8)))
            threads[-1].start()
        for t in threads:
            t.join()
        api_8 = len(results8) / (time.perf_counter() - t0)
        assert len(results8) == per * 8, "a concurrent client failed"

        raw = raw_rate(chain.rpc_url, record, args.issues)

        issued = results + results8
        raw_w3 = Web3(HTTPProvider(chain.rpc_url))
        head = raw_w3.eth.block_number
        deadline = time.time() + 60
        while time.time() < deadline:  # let the background indexer catch up on the issuance bursts first
            if (s_ := requests.get(base + "/healthz").json().get("indexed_block")) is not None and s_ >= head:
                break
            time.sleep(0.2)
        time.sleep(1.5)
        s = requests.Session()
        today = requests.get(f"{base}/api/v1/invoices/{issued[0]['number']}",
                             headers={"Authorization": f"Bearer {token}"}).json()["issue_date"]
        rows = [{"number": x["number"], "issue_date": today, "gross": x["gross"], "check_code": x["check_code"][-6:]}
                for x in issued]
        lat = []
        for i in range(args.verifies):
            t = time.perf_counter()
            r = s.post(base + "/api/v1/verify", json=rows[i % len(rows)])
            lat.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200 and r.json()["result"] == "authentic", r.text
        if os.environ.get("BENCH_DEBUG"):
            print("slowest", sorted(((round(v, 1), i) for i, v in enumerate(lat)), reverse=True)[:12])
        lat.sort()
        batch = [rows[i % len(rows)] for i in range(args.batch)]
        t0 = time.perf_counter()
        r = s.post(base + "/api/v1/verify/batch", json=batch, timeout=120)
        batch_s = time.perf_counter() - t0
        assert r.status_code == 200 and r.json()["summary"] == {"authentic": args.batch}, r.text[:300]

        out = {
            "issue_per_s_api": round(api_seq, 2),
            "issue_per_s_api_8_clients": round(api_8, 2),
            "issue_per_s_raw": round(raw, 2),
            "api_vs_raw": round(api_seq / raw, 3),
            "api_8_clients_vs_raw": round(api_8 / raw, 3),
            "verify_p50_ms": round(statistics.median(lat), 2),
            "verify_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2),
            "verify_batch_10000_s": round(batch_s, 3),
            "issues": args.issues, "verifies": args.verifies, "batch_rows": args.batch,
            "setup": "Anvil automine, waitress 8 threads, SQLite (WAL), background indexer on, HTTP clients in "
                     "threads, same 2-core machine; verification measured after the indexer caught up",
        }
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(out, indent=2) + "\n")
        for k, v in out.items():
            print(f"{k:28} {v}")
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        chain.stop()


if __name__ == "__main__":
    sys.exit(main())
