"""Reliability benchmark (issue 10): load, same-key races, kill -9 of the web app and of
the chain, an idle chain, two app processes on one PostgreSQL, bulk issuance.

    python bench/reliability.py [--quick] [--only load,idle_chain] [--output FILE]

Each scenario starts its own stack (bench/reliability_stack.py): Anvil on a free
127.0.0.1 port (never 8545), the contracts, the demo users, the web app as real
``python -m backend.serve`` processes on free ports, SQLite in a temporary directory
(PostgreSQL in a throwaway cluster for multi_process), and stops all of it afterwards,
also on failure. A scenario that fails records {"error": ...} and the others still run.
Writes bench/results/reliability.json: one object per scenario, "goals" (each goal and
whether it was met; null when its scenario did not run or failed), "machine", "date".
"""
import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_stack import ROOT, Clients, Stack, audit, body  # noqa: E402

SIZES = {  # full run, --quick
    "load": ({"requests": 2000, "clients": 16, "single": 300}, {"requests": 80, "clients": 16, "single": 20}),
    "same_key_race": ({"rounds": 20, "clients": 16}, {"rounds": 2, "clients": 16}),
    "kill_backend": ({"requests": 600, "clients": 16}, {"requests": 60, "clients": 8}),
    "kill_chain": ({"requests": 600, "clients": 16}, {"requests": 60, "clients": 8}),
    "idle_chain": ({"idle_s": 600}, {"idle_s": 600}),
    "multi_process": ({"processes": 2, "requests": 1000, "clients": 16},
                      {"processes": 2, "requests": 60, "clients": 8}),
    "bulk": ({"invoices": 10000, "chunk": 2000}, {"invoices": 200, "chunk": 100}),
}
CHINA = timezone(timedelta(hours=8))
# an exception line of an app log that is about a nonce (PostgreSQL and SQLite wordings)
NONCE_FAILURE = re.compile(r"^\S*(Error|Exception)\b.*(outbox_sender_nonce|outbox\.sender, outbox\.nonce|nonce too low)",
                           re.IGNORECASE)


def load(size, quick):
    with Stack("load", env=_env(quick)) as s:
        s.start_app()
        warm = Clients(s, s.token)
        warm.run([f"warm-{i}" for i in range(5)], 1)
        many = Clients(s, s.token)
        t16 = many.run([f"load-{i}" for i in range(size["requests"])], size["clients"])
        one = Clients(s, s.token)
        t1 = one.run([f"one-{i}" for i in range(size["single"])], 1)
        settled = s.settle()
        found, found_1 = audit(s, many.acked), audit(s, one.acked)
        per_s, per_s_1 = len(many.acked) / t16, len(one.acked) / t1 if one.acked else 0.0
        return {"requests": size["requests"], "clients": size["clients"], **found,
                "per_s": round(per_s, 2), "per_s_1_client": round(per_s_1, 2),
                "single_client_requests": size["single"], "single_client_lost": found_1["lost"],
                "single_client_duplicated": found_1["duplicated"],
                "ratio_16_to_1": round(per_s / per_s_1, 3) if per_s_1 else None,
                "statuses": _statuses(many, one), "settled_s": settled, "errors": many.errors[:5]}


def same_key_race(size, quick):
    """Per round: ``clients`` threads send one body with one key at the same moment; then
    a fresh invoice of the same merchant is timed (a wedged merchant answers 202 late)."""
    with Stack("race", env=_env(quick)) as s:
        s.start_app()
        clients = Clients(s, s.token)
        next_ms, statuses, wedged_at = [], Counter(), None
        for r in range(size["rounds"]):
            tag, barrier = f"race-{r}", threading.Barrier(size["clients"])

            def racer():
                session = requests.Session()
                session.headers["Authorization"] = f"Bearer {s.token}"
                barrier.wait()
                resp = clients.post(session, s.base(), tag, body(tag))
                with clients.lock:
                    statuses[resp.status_code if resp is not None else "connection_error"] += 1

            threads = [threading.Thread(target=racer, daemon=True) for _ in range(size["clients"])]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            fresh = Clients(s, s.token)
            t0 = time.perf_counter()
            fresh.run([f"next-{r}"], 1)
            next_ms.append(round((time.perf_counter() - t0) * 1000, 1))
            clients.acked.update(fresh.acked)
            if 201 not in fresh.statuses:
                wedged_at = r  # the merchant no longer gets invoices mined: later rounds only repeat it
                break
        s.settle(timeout=15 if quick else 60)  # a wedged merchant never settles
        keys, _ = s.chain_issued()
        rounds_run = len(next_ms)
        per_key = _per_tag_on_chain(s, keys, prefix="race-")
        found = audit(s, clients.acked)
        return {"rounds": size["rounds"], "clients": size["clients"],
                "invoices_per_key": max(per_key.values(), default=0),
                "rounds_run": rounds_run,
                "keys_without_exactly_one": sum(1 for r in range(rounds_run) if per_key.get(f"race-{r}") != 1),
                "next_issue_ms": max(next_ms), "next_issue_ms_each": next_ms, "wedged_at_round": wedged_at,
                "race_statuses": {str(k): v for k, v in statuses.items()}, "lost": found["lost"],
                "duplicated": found["duplicated"], "errors": clients.errors[:5]}


def kill_backend(size, quick):
    """kill -9 of the app process group once a third of the requests were acknowledged;
    restarted at once on the same port (its start-up reconciles the outbox); the clients
    retry the requests that failed meanwhile with the same Idempotency-Key."""
    with Stack("killapp", env=_env(quick)) as s:
        s.start_app()
        clients = Clients(s, s.token, retry_s=240)
        done = _background(clients, [f"ka-{i}" for i in range(size["requests"])], size["clients"])
        _wait_acked(clients, size["requests"] // 3)
        at = len(clients.acked)
        s.kill_app()
        s.start_app()
        done.join()
        settled = s.settle()
        found = audit(s, clients.acked)
        return {"requests": size["requests"], **found, "killed_after_acknowledged": at, "settled_s": settled,
                "statuses": _statuses(clients), "errors": clients.errors[:5]}


def kill_chain(size, quick):
    """Anvil dumps its state every second; at a quarter of the load the dump is copied, kill
    -9 of Anvil at half of it, Anvil restarted from the copy (older: blocks are lost), a
    block mined, the app restarted (its start-up reconciles the outbox); both merchants
    issue, so re-sent transactions land in other blocks than before. Then acknowledged vs
    on chain and the index vs the chain."""
    with Stack("killchain", state=True, env=_env(quick)) as s:
        s.start_app()
        clients = Clients(s, s.token, retry_s=240, tokens=s.tokens)
        done = _background(clients, [f"kc-{i}" for i in range(size["requests"])], size["clients"])
        _wait_acked(clients, size["requests"] // 4)
        old = _copy_dump(s.chain.state_file)
        at_dump, head_at_dump = len(clients.acked), int(s.rpc("eth_blockNumber"), 16)
        time.sleep(1)
        _wait_acked(clients, size["requests"] // 2)  # the other half is sent to the restored chain
        at_kill, head_at_kill = len(clients.acked), int(s.rpc("eth_blockNumber"), 16)
        s.kill_chain()
        s.chain.state_file.write_text(old)
        s.chain.start()
        s.rpc("evm_mine")  # someone else's block meanwhile: the lost transactions cannot land where they were
        s.kill_app(sig=signal.SIGTERM)
        s.start_app()
        done.join()
        settled = s.settle()
        found = audit(s, clients.acked)
        index = index_check(s)
        return {"requests": size["requests"], **found, "index_matches_chain": index.pop("matches"),
                "index_check": index, "acknowledged_at_dump": at_dump, "acknowledged_at_kill": at_kill,
                "blocks_lost": head_at_kill - head_at_dump, "settled_s": settled,
                "statuses": _statuses(clients), "errors": clients.errors[:5]}


def idle_chain(size, quick):
    """Anvil's clock starts ``idle_s`` in the past (--timestamp): the deployment and the
    seeding mine blocks that old; then evm_setTime(now) puts the clock back on the wall
    clock without mining, so the latest block is ``idle_s`` old and the next one gets the
    current time: the chain as it is after ``idle_s`` without a block."""
    with Stack("idle", timestamp=int(time.time()) - size["idle_s"], env=_env(quick)) as s:
        s.start_app()
        s.rpc("evm_setTime", int(time.time()))
        latest = s.rpc("eth_getBlockByNumber", "latest", False)
        age = int(time.time()) - int(latest["timestamp"], 16)
        today = datetime.now(CHINA).date().isoformat()
        r = requests.post(s.base() + "/api/v1/invoices", json=body("idle", issue_date=today), timeout=120,
                          headers={"Authorization": f"Bearer {s.token}", "Idempotency-Key": "idle"})
        return {"idle_s": size["idle_s"], "issue_status": r.status_code, "latest_block_age_s": age,
                "issue_date": today, "answer": r.text[:300] if r.status_code != 201 else None,
                "method": "anvil --timestamp <now - idle_s> for deployment and seeding, then evm_setTime(<now>) "
                          "without mining: the latest block is idle_s old, the next block gets wall-clock time"}


def multi_process(size, quick):
    """``processes`` app processes on one PostgreSQL database, all signing for merchant1;
    client c talks to process c mod N."""
    with Stack("multi", postgres=True, env=_env(quick)) as s:
        for i in range(size["processes"]):
            s.start_app(i)  # one after the other: each upgrades the schema on start
        clients = Clients(s, s.token)
        t = clients.run([f"mp-{i}" for i in range(size["requests"])], size["clients"],
                        bases=list(range(size["processes"])))
        settled = s.settle()
        found = audit(s, clients.acked)
        # a nonce clash answers a generic 500 (the outbox's unique (sender, nonce) refuses the
        # second row): counted from the apps' logs; a clash the node saw is in the outbox
        nonce_answers = sum(1 for e in clients.errors if "nonce" in e.lower())
        nonce_logged = s.log_count(NONCE_FAILURE)
        nonce_rows = s.query("select count(*) from outbox where lower(coalesce(error, '')) like '%nonce%' "
                             "or status = 'rejected'")[0][0]
        failed = sum(v for k, v in clients.statuses.items() if k == "connection_error" or k >= 500)
        return {"processes": size["processes"], "requests": size["requests"],
                "nonce_errors": max(nonce_answers, nonce_logged) + nonce_rows, "nonce_error_answers": nonce_answers,
                "nonce_failures_logged": nonce_logged, "nonce_error_outbox_rows": nonce_rows,
                "failed_requests": failed, **found,
                "per_s": round(len(clients.acked) / t, 2), "settled_s": settled,
                "statuses": _statuses(clients), "errors": clients.errors[:5]}


def bulk(size, quick):
    """POST /api/v1/invoices/batch in chunks ({"invoices": [...]}, a per-row
    idempotency_key), timed until every acknowledged row is on chain and indexed."""
    with Stack("bulk", env=_env(quick)) as s:
        s.start_app()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {s.token}"
        acked, statuses, n = {}, Counter(), size["invoices"]
        t0 = time.perf_counter()
        for start in range(0, n, size["chunk"]):
            rows = [body(f"bulk-{i}", idempotency_key=f"bulk-{i}") for i in range(start, min(n, start + size["chunk"]))]
            r = session.post(s.base() + "/api/v1/invoices/batch", json={"invoices": rows}, timeout=1800)
            if r.status_code >= 300 and r.status_code != 207:
                return {"invoices": n, "error": f"POST /api/v1/invoices/batch answered {r.status_code}: {r.text[:300]}"}
            results = r.json().get("results") or r.json().get("invoices") or []
            for row, res in zip(rows, results):
                statuses[res.get("status")] += 1
                if res.get("status") in ("issued", "pending", "replayed") and res.get("number"):
                    acked[row["remarks"][3:]] = res["number"]
        answered = time.perf_counter() - t0
        settled = s.settle(timeout=600)
        total = time.perf_counter() - t0
        found = audit(s, acked)
        return {"invoices": n, "per_s": round(found["on_chain"] / total, 2) if settled is not None else None,
                "answered_per_s": round(len(acked) / answered, 2), "seconds_to_chain_and_index": round(total, 2),
                "chunk": size["chunk"], "row_statuses": {str(k): v for k, v in statuses.items()}, **found}


SCENARIOS = {f.__name__: f for f in (load, same_key_race, kill_backend, kill_chain, idle_chain, multi_process, bulk)}


def index_check(s):
    """Does the database agree with the chain? Uses the backend's own check when it has
    one (`flask verify-chain`, issue 10); otherwise [FALLBACK] the bench's comparison:
    indexed InvoiceIssued events = the chain's logs (tx, log index, block; none twice),
    invoices 'issued' = on chain, outbox 'mined' = a receipt in that block."""
    cli = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", "verify-chain"], cwd=ROOT, env=s.env,
                         capture_output=True, text=True, timeout=600)
    if "No such command" not in cli.stderr:
        return {"matches": cli.returncode == 0, "method": "flask verify-chain",
                "output": (cli.stdout + cli.stderr)[-600:]}
    keys, events = s.chain_issued()
    indexed = s.query("select tx_hash, log_index, block_number from chain_events where event = 'InvoiceIssued'")
    indexed_set = {(h, i, b) for h, i, b in indexed}
    issued = {k for (k,) in s.query("select key from invoices where state = 'issued'")}
    bad_rows = sum(1 for k in issued if not keys.get(k)) + sum(
        1 for (k,) in s.query("select key from invoices where state != 'issued'") if keys.get(k))
    bad_outbox = 0
    for tx_hash, block in s.query("select tx_hash, block_number from outbox where status = 'mined'"):
        receipt = s.rpc("eth_getTransactionReceipt", tx_hash)
        bad_outbox += receipt is None or int(receipt["blockNumber"], 16) != block
    out = {"method": "bench comparison (no verify-chain command yet)",
           "events_not_indexed": len(events - indexed_set), "events_indexed_wrongly": len(indexed_set - events),
           "events_indexed_twice": len(indexed) - len(indexed_set),
           "invoice_rows_disagreeing": bad_rows, "outbox_rows_disagreeing": bad_outbox}
    out["matches"] = not any(v for k, v in out.items() if k != "method")
    return out


def _env(quick):
    # --quick: a wedged merchant's 202 comes after 5 s instead of 30 s
    return {"TX_TIMEOUT": "5"} if quick else {}


def _statuses(*clients):
    total = Counter()
    for c in clients:
        total.update(c.statuses)
    return {str(k): v for k, v in total.items()}


def _per_tag_on_chain(s, keys, prefix):
    from reliability_stack import tag_of

    per = Counter()
    for key, document in s.query("select key, document from invoices"):
        tag = tag_of(document)
        if tag and tag.startswith(prefix) and keys.get(key):
            per[tag] += 1
    return per


def _background(clients, tags, n):
    t = threading.Thread(target=clients.run, args=(tags, n), daemon=True)
    t.start()
    return t


def _wait_acked(clients, n, timeout=300):
    deadline = time.time() + timeout
    while len(clients.acked) < n and time.time() < deadline:
        time.sleep(0.05)


def _copy_dump(path, timeout=30):
    """The state file Anvil dumped last (retried while it is being rewritten)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            text = path.read_text()
            if "accounts" in json.loads(text):
                return text
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no readable Anvil dump at {path}")


GOALS = [  # (scenario, description, test)
    ("load", "load: lost 0", lambda r: r["lost"] == 0 and r["single_client_lost"] == 0),
    ("load", "load: duplicated 0", lambda r: r["duplicated"] == 0 and r["single_client_duplicated"] == 0),
    ("load", "load: 16 clients ≥ 1 client (ratio ≥ 1.0)", lambda r: (r["ratio_16_to_1"] or 0) >= 1.0),
    ("same_key_race", "same_key_race: 1 invoice per key", lambda r: r["invoices_per_key"] == 1
     and r["keys_without_exactly_one"] == 0),
    ("same_key_race", "same_key_race: next_issue_ms < 2000", lambda r: r["next_issue_ms"] < 2000),
    ("kill_backend", "kill_backend: lost 0, duplicated 0", lambda r: r["lost"] == 0 and r["duplicated"] == 0),
    ("kill_chain", "kill_chain: lost 0, duplicated 0", lambda r: r["lost"] == 0 and r["duplicated"] == 0),
    ("kill_chain", "kill_chain: index_matches_chain", lambda r: r["index_matches_chain"] is True),
    ("idle_chain", "idle_chain: issue_status 201", lambda r: r["issue_status"] == 201),
    ("multi_process", "multi_process: nonce_errors 0, lost 0, duplicated 0",
     lambda r: r["nonce_errors"] == 0 and r["lost"] == 0 and r["duplicated"] == 0),
    ("bulk", "bulk: ≥ 1000 invoices/s", lambda r: (r["per_s"] or 0) >= 1000),
]


def goals(results):
    out = {}
    for name, text, test in GOALS:
        r = results.get(name)
        out[text] = None if r is None or "error" in r else bool(test(r))
    return out


def interrupt(*_):
    raise KeyboardInterrupt  # SIGTERM too ends in the stacks' cleanup


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated scenarios: " + ",".join(SCENARIOS))
    parser.add_argument("--quick", action="store_true", help="small sizes, for trying the harness out")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "reliability.json"))
    parser.add_argument("--merge", action="store_true", help="keep the output file's other scenarios "
                                                             "(re-run one scenario of a full run)")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    signal.signal(signal.SIGTERM, interrupt)
    results = {}
    if args.merge and Path(args.output).exists():
        results = {k: v for k, v in json.loads(Path(args.output).read_text()).items() if k in SCENARIOS}
    for name in names:
        size = SIZES[name][1 if args.quick else 0]
        t0 = time.time()
        print(f"{name} ...", flush=True)
        try:
            results[name] = SCENARIOS[name](size, args.quick)
        except Exception as exc:  # noqa: BLE001 - one scenario's failure must not lose the others
            results[name] = {"error": f"{exc.__class__.__name__}: {exc}"[:500]}
            if os.environ.get("BENCH_DEBUG"):
                traceback.print_exc()
        results[name]["seconds"] = round(time.time() - t0, 1)
        print(f"{name}: {json.dumps(results[name], ensure_ascii=False)}", flush=True)
    results["goals"] = goals(results)
    results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                          "load_average": os.getloadavg()}
    results["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results["quick"] = args.quick
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    for goal, met in results["goals"].items():
        print(f"{'PASS' if met else 'FAIL' if met is False else 'n/a '}  {goal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
