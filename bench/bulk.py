"""Bulk issuance benchmark: 10,000 invoices through POST /api/v1/invoices/batch, with the
app's background indexer keeping up.

    python bench/bulk.py [--invoices 10000] [--per-request 2000] [--output bench/results/bulk.json]

Starts its own Anvil (automine, 30M gas blocks, base fee 0) and deploys the contracts,
seeds the demo users in a temporary SQLite database (merchant1's hourly norm raised so the
run is not about flags), serves the backend with waitress in a subprocess (8 threads,
background indexer every INDEXER_INTERVAL s, default 0.2), then sends the requests one
after another and waits until the index holds every InvoiceIssued event of the run.
Writes {"invoices", "requests", "seconds", "per_s", "indexed", "index_seconds",
"indexer_per_s", "end_to_end_per_s", "anvil_cpu_seconds", "app_cpu_seconds",
"load_average_1m", ...} and prints it. The CPU seconds (from /proc, first request until
indexed) show which side is the limit: on 2 cores the app (one Python process: requests and
indexer share the GIL) has used about 6 s and Anvil about 2 s for 10,000 invoices.
BENCH_PYSPY=/tmp/bulk.txt records a py-spy profile of the app (BENCH_PYSPY_CPU=1: on-CPU only).
"""
import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from api import BODY, deploy, seed, wait_http  # noqa: E402
from scripts.chain import Chain, free_port  # noqa: E402


def indexed(db_path):
    with sqlite3.connect(db_path, timeout=30) as conn:
        return conn.execute("SELECT count(*) FROM chain_events WHERE event = 'InvoiceIssued'").fetchone()[0]


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--per-request", type=int, default=2_000)
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "bulk.json"))
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    chain = Chain(port=free_port(), extra_args=["--base-fee", "0", "--gas-limit", "30000000"]).start()
    server = None
    try:
        deploy(chain.rpc_url, tmp / "deployment.json")
        port = free_port()
        db_path = tmp / "bench.sqlite"
        env = {"EINVOICE_ENV": "dev", "INDEXER_INTERVAL": os.environ.get("INDEXER_INTERVAL", "0.2"),
               "SECRET_KEY": "bench-only", "DATABASE_URL": f"sqlite:///{db_path}",
               "DEPLOYMENT_FILE": str(tmp / "deployment.json"), "VERIFY_RATE_LIMIT": "0"}
        token = seed(env)["merchant1"]["api_token"]
        command = [sys.executable, "-m", "backend.serve", "--port", str(port), "--threads", "8"]
        if os.environ.get("BENCH_PYSPY"):  # a flame graph of the server: BENCH_PYSPY=/tmp/bulk.svg
            idle = [] if os.environ.get("BENCH_PYSPY_CPU") else ["--idle"]  # BENCH_PYSPY_CPU=1: on-CPU samples only
            command = ["py-spy", "record", "--nonblocking", *idle, "--format", "raw", "-o", os.environ["BENCH_PYSPY"],
                       "--"] + command
        server = subprocess.Popen(command,
                                  cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_http(base)
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        r = s.post(base + "/api/v1/invoices/batch", json={"invoices": [BODY] * 10}, timeout=120)  # warm-up
        assert r.status_code == 201, r.text[:300]
        time.sleep(1)
        before = indexed(db_path)
        bodies = []
        for start in range(0, args.invoices, args.per_request):
            n = min(args.per_request, args.invoices - start)
            bodies.append(json.dumps({"invoices": [{**BODY, "idempotency_key": f"bench-{start + i}"}
                                                   for i in range(n)]}))
        counts = {}
        app_pid = server.pid
        if os.environ.get("BENCH_PYSPY"):  # the app is py-spy's child
            app_pid = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        cpu0 = {"anvil": cpu_seconds(chain.process.pid), "app": cpu_seconds(app_pid)}
        t0 = time.perf_counter()
        for body in bodies:
            r = s.post(base + "/api/v1/invoices/batch", data=body, timeout=600,
                       headers={"Content-Type": "application/json"})
            assert r.status_code == 201, r.text[:300]
            for k, v in r.json()["totals"].items():
                counts[k] = counts.get(k, 0) + v
        seconds = time.perf_counter() - t0
        deadline = time.time() + 300
        while (done := indexed(db_path) - before) < args.invoices and time.time() < deadline:
            time.sleep(0.05)
        index_seconds = time.perf_counter() - t0
        cpu = {"anvil": cpu_seconds(chain.process.pid) - cpu0["anvil"], "app": cpu_seconds(app_pid) - cpu0["app"]}
        out = {
            "invoices": args.invoices, "requests": len(bodies), "per_request": args.per_request,
            "seconds": round(seconds, 3), "per_s": round(args.invoices / seconds, 1),
            "issued": counts.get("issued", 0), "indexed": done, "index_seconds": round(index_seconds, 3),
            "indexer_per_s": round(done / index_seconds, 1),
            "end_to_end_per_s": round(args.invoices / index_seconds, 1),
            # CPU seconds spent from the first request until indexed (2 cores: wall x 2 available)
            "anvil_cpu_seconds": round(cpu["anvil"], 2), "app_cpu_seconds": round(cpu["app"], 2),
            "load_average_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews the rates
            "setup": "Anvil automine (30M gas blocks), waitress 8 threads, SQLite (WAL), background indexer on "
                     f"(every {env['INDEXER_INTERVAL']} s), one client sending the requests in turn, same 2-core "
                     "machine; index_seconds from the first request until the index holds every InvoiceIssued",
        }
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(out, indent=2) + "\n")
        for k, v in out.items():
            print(f"{k:20} {v}")
        return 0 if done == args.invoices else 1
    finally:
        if server is not None:
            server.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            server.wait(10)
        chain.stop()


if __name__ == "__main__":
    sys.exit(main())
