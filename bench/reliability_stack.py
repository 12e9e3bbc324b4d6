"""Processes of the reliability benchmark (bench/reliability.py): a throwaway Anvil, the
contracts, the web app as real OS processes (``python -m backend.serve``), optionally a
throwaway PostgreSQL cluster; HTTP clients; the audit of acknowledged invoices against
the chain. Every process runs in its own process group and is killed with it.

    python bench/reliability_stack.py seed OUT.json   # (internal) seed the demo users
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from eth_utils import event_abi_to_log_topic
from web3 import HTTPProvider, Web3

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts import deploy as deploy_module  # noqa: E402
from scripts.chain import Chain, free_port, rpc_request  # noqa: E402
from scripts.dev_accounts import dev_account  # noqa: E402

ARTIFACTS = ROOT / "build" / "contracts"
RESERVED_PORT = 8545  # the platform's own chain: never touched by the benchmark
BODY = {"buyer_name": "昆明示例商贸有限公司", "buyer_tax_id": "91530100MA6K0002XU",
        "items": [{"name": "办公用品", "quantity": 10, "unit_price": 1250, "tax_rate": 13}]}
ACK = (200, 201, 202)  # 200: an idempotent replay of an acknowledged request


def port():
    p = free_port()
    return p if p != RESERVED_PORT else free_port()


def body(tag, **extra):
    """The invoice of request ``tag``: the tag is in the remarks, so in the hashed document
    (an invoice on chain is traced back to the request that made it)."""
    return {**BODY, "remarks": f"rb:{tag}", **extra}


def tag_of(document):
    try:
        remarks = json.loads(document or "{}").get("remarks") or ""
    except ValueError:
        return None
    return remarks[3:] if remarks.startswith("rb:") else None


class Postgres:
    """A throwaway cluster in /tmp (initdb + pg_ctl; as user postgres when we are root:
    PostgreSQL refuses to run as root). Installs the Debian package and psycopg if missing."""

    def __init__(self):
        self.dir = None
        self.port = port()

    @staticmethod
    def _bin(name):
        found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None)
        return str(found) if found else None

    def _as_owner(self, *cmd):
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(prefix + list(cmd), check=True, capture_output=True, text=True, timeout=120)

    def ensure_installed(self):
        if self._bin("initdb") is None:
            subprocess.run(["apt-get", "update", "-qq"], check=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        probe = subprocess.run([sys.executable, "-c", "import psycopg"], capture_output=True)
        if probe.returncode != 0:  # the project's [postgres] extra
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "psycopg[binary]==3.3.9"], check=True)

    def start(self):
        self.ensure_installed()
        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        self._as_owner(self._bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._as_owner(self._bin("pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"), "-o", opts, "-w", "start")
        self._as_owner(self._bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "bench")
        return f"postgresql://postgres@127.0.0.1:{self.port}/bench"

    def stop(self):
        if self.dir is None:
            return
        try:
            self._as_owner(self._bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        except (subprocess.SubprocessError, OSError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


class Stack:
    """Chain + contracts + demo users + N app processes, in a fresh temporary directory.
    ``state``: Anvil dumps its state to a file every second (kill_chain); ``timestamp``:
    Anvil's clock starts there (idle_chain); ``postgres``: the database is PostgreSQL."""

    def __init__(self, name, *, postgres=False, state=False, timestamp=None, env=None):
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-rel-{name}-"))
        extra = ["--base-fee", "0", "--gas-limit", "30000000"] + (["--timestamp", str(timestamp)] if timestamp else [])
        self.chain = Chain(port=port(), state_file=self.tmp / "chain" / "state.json" if state else None,
                           state_interval=1, log_file=self.tmp / "anvil.log", extra_args=extra)
        self.postgres = Postgres() if postgres else None
        self.extra_env = env or {}
        self.apps = {}  # index -> (Popen, port)
        self.users = {}

    def __enter__(self):
        try:
            self.chain.start()
            db_url = self.postgres.start() if self.postgres else f"sqlite:///{self.tmp}/bench.sqlite"
            record = deploy_module.deploy(Web3(HTTPProvider(self.chain.rpc_url)), dev_account(0), self.chain.rpc_url,
                                          self.tmp / "deployment.json", ARTIFACTS, log=lambda *a: None)
            self.registry = record["contracts"]["InvoiceRegistry"]
            self.env = {**os.environ, "EINVOICE_ENV": "dev", "SECRET_KEY": "bench-only", "DATABASE_URL": db_url,
                        "DEPLOYMENT_FILE": str(self.tmp / "deployment.json"), "RPC_URL": self.chain.rpc_url,
                        "KEYSTORE_DIR": str(self.tmp / "keystore"), "VERIFY_RATE_LIMIT": "0",
                        "INDEXER_INTERVAL": "1.0", "EINVOICE_MAX_CONTENT_LENGTH": str(64 * 1024 * 1024),
                        **self.extra_env}
            self.db_url = db_url
            out = self.tmp / "credentials.json"
            subprocess.run([sys.executable, __file__, "seed", str(out)], cwd=ROOT, env=self.env, check=True,
                           capture_output=True, timeout=300)
            self.users = {u["username"]: u for u in json.loads(out.read_text())["users"]}
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def token(self):
        return self.users["merchant1"]["api_token"]

    @property
    def tokens(self):
        return [self.users[m]["api_token"] for m in ("merchant1", "merchant2")]

    def base(self, i=0):
        return f"http://127.0.0.1:{self.apps[i][1]}"

    def start_app(self, i=0, threads=8):
        """``python -m backend.serve`` (reconciles the outbox first); waits for /healthz."""
        app_port = self.apps[i][1] if i in self.apps else port()
        log = open(self.tmp / f"app{i}.log", "ab")
        proc = subprocess.Popen([sys.executable, "-m", "backend.serve", "--port", str(app_port), "--threads",
                                 str(threads)], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.apps[i] = (proc, app_port)
        deadline = time.time() + 180  # the start-up reconcile may wait for receipts
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"app {i} exited with {proc.returncode}; see {self.tmp}/app{i}.log")
            try:
                requests.get(self.base(i) + "/healthz", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"app {i} did not answer within 180 s")

    def kill_app(self, i=0, sig=signal.SIGKILL):
        proc = self.apps[i][0]
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def kill_chain(self):
        """kill -9 Anvil (its own session/group): what was not dumped is lost."""
        if self.chain.process and self.chain.process.poll() is None:
            os.killpg(self.chain.process.pid, signal.SIGKILL)
            self.chain.process.wait()

    def close(self):
        for i in list(self.apps):
            self.kill_app(i, signal.SIGTERM)
        self.chain.stop()
        if self.postgres:
            self.postgres.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log_count(self, pattern):
        """Lines of the apps' logs matching ``pattern`` (a compiled regex)."""
        return sum(1 for log in self.tmp.glob("app*.log")
                   for line in log.read_text(errors="replace").splitlines() if pattern.search(line))

    # --- reading the chain and the database --------------------------------------------
    def rpc(self, method, *params):
        return rpc_request(self.chain.rpc_url, method, list(params), timeout=30)

    def chain_issued(self):
        """Counter of InvoiceIssued keys, and the set of (tx, log index, block), on chain now."""
        abi = json.loads((ARTIFACTS / "InvoiceRegistry.json").read_text())["abi"]
        event = next(e for e in abi if e.get("type") == "event" and e["name"] == "InvoiceIssued")
        topic = "0x" + event_abi_to_log_topic(event).hex()
        logs = self.rpc("eth_getLogs", {"address": self.registry, "topics": [topic], "fromBlock": "0x0",
                                        "toBlock": "latest"})
        keys = Counter(log["topics"][1] for log in logs)
        events = {(log["transactionHash"], int(log["logIndex"], 16), int(log["blockNumber"], 16)) for log in logs}
        return keys, events

    def query(self, sql):
        from sqlalchemy import create_engine, text

        url = self.db_url.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql))]
        finally:
            engine.dispose()

    def settle(self, timeout=120):
        """Wait until no outbox row is signed/sent and the indexer reached the head.
        Returns the seconds waited, or None when it did not settle in time."""
        t0 = time.time()
        while time.time() - t0 < timeout:
            open_rows = self.query("select count(*) from outbox where status in ('signed', 'sent')")[0][0]
            head = int(self.rpc("eth_blockNumber"), 16)
            indexed = self.query("select last_block from indexer_cursors where name = 'events'")
            if open_rows == 0 and indexed and indexed[0][0] >= head:
                return round(time.time() - t0, 2)
            time.sleep(0.1)  # (0.5 s steps showed in the bulk rate)
        return None


def audit(stack, acked):
    """``acked``: {tag: number} of acknowledged requests. lost = acknowledged, its number not
    on chain; duplicated = more than one invoice on chain for one request (tag)."""
    from backend.core import canonical

    keys, _ = stack.chain_issued()
    rows = stack.query("select key, document from invoices")
    per_tag = Counter()
    for key, document in rows:
        tag = tag_of(document)
        if tag is not None and keys.get(key):
            per_tag[tag] += keys[key]
    lost = sorted(t for t, number in acked.items() if not keys.get(canonical.invoice_key(number)))
    known = {key for key, _ in rows}
    return {"acknowledged": len(acked), "on_chain": len(acked) - len(lost), "lost": len(lost),
            "duplicated": sum(c - 1 for c in per_tag.values() if c > 1),
            "on_chain_without_row": sum(1 for k in keys if k not in known),
            "lost_examples": lost[:5]}


class Clients:
    """HTTP clients in threads, each request with its own Idempotency-Key (the tag). A
    client retries a request on connection errors and 5xx (the same key, as a real
    client would) until ``retry_s`` has passed."""

    def __init__(self, stack, token, retry_s=0.0, tokens=None):
        self.stack, self.token, self.retry_s = stack, token, retry_s
        self.tokens = tokens or [token]  # client c signs in with tokens[c % len(tokens)]
        self.acked, self.statuses, self.errors = {}, Counter(), []
        self.lock = threading.Lock()

    def post(self, session, base, tag, payload, key=None):
        deadline = time.time() + self.retry_s
        while True:
            try:
                r = session.post(base + "/api/v1/invoices", json=payload, timeout=120,
                                 headers={"Idempotency-Key": key or tag})
                if r.status_code < 500 or time.time() >= deadline:
                    break
            except requests.RequestException as exc:
                if time.time() >= deadline:
                    with self.lock:
                        self.statuses["connection_error"] += 1
                        self.errors.append(f"{tag}: {exc.__class__.__name__}")
                    return None
            time.sleep(0.25)
        with self.lock:
            self.statuses[r.status_code] += 1
            if r.status_code in ACK:
                self.acked[tag] = r.json()["number"]
            elif len(self.errors) < 20:
                self.errors.append(f"{tag}: {r.status_code} {r.text[:200]}")
        return r

    def run(self, tags, clients, bases=None):
        """POST body(tag) for every tag from ``clients`` threads; returns the seconds taken.
        ``bases``: app indexes; client c talks to bases[c % len(bases)]."""
        bases = bases or [0]
        queue, qlock = list(reversed(tags)), threading.Lock()

        def work(c):
            s = requests.Session()
            s.headers["Authorization"] = f"Bearer {self.tokens[c % len(self.tokens)]}"
            while True:
                with qlock:
                    if not queue:
                        return
                    tag = queue.pop()
                self.post(s, self.stack.base(bases[c % len(bases)]), tag, body(tag))

        threads = [threading.Thread(target=work, args=(c,), daemon=True) for c in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0


def _seed(out):
    """In the stack's environment: demo users (tokens), merchants registered with a
    number range, limits raised so that the benchmark is not about flags."""
    from backend import create_app
    from backend.chain import get_signer
    from backend.services import seed

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        seed.seed_dev(out=out, password="bench")
        users = json.loads(Path(out).read_text())["users"]
        authority = next(u for u in users if u["role"] == "authority")
        for u in users:
            if u["role"] == "merchant":
                get_signer().transact(authority["address"], "MerchantRegistry", "setLimits", u["address"],
                                      (10**13, 10**14, 10**6))


if __name__ == "__main__" and sys.argv[1:2] == ["seed"]:
    _seed(sys.argv[2])
