"""`make run`: the platform on one machine — Anvil dev chain, contracts, web app.

Starts the persistent dev chain (var/chain/; CHAIN=ganache runs Ganache instead of Anvil), deploys or reuses the contracts
(var/deployment.json), then serves the web app with waitress on 127.0.0.1:5000
(WEB_PORT) until Ctrl-C (in dev mode with a local SMTP sink on 127.0.0.1:8025,
MAIL_SINK_PORT, that keeps the e-mailed invoices in var/mail/), and stops the chain so that it dumps its state. The chain's
pid is in var/chain/anvil.pid, as for ``python -m scripts.chain start``: ``status`` and
``stop`` see it; a chain left running by a killed `make run` is adopted by the next one
(same chain id, our deployment on it) or stopped and started again. In dev mode
(EINVOICE_ENV unset or "dev") the demo users are seeded and their logins written to
var/dev-credentials.json. With RPC_URL set, no chain is started: the contracts are
deployed to (or reused on) that endpoint instead.

In dev mode the web app's default database (var/einvoice.sqlite) belongs to the
deployment: when the deploy replaced the recorded contracts with a fresh set (e.g.
contracts v1 → v2), the old database is moved aside next to the kept record
(var/einvoice.v1-<block>.sqlite) and the web app starts on a new one, seeded again.
Either way the web app upgrades its database to the newest migration (migrations/)
before it serves: a new one is made by the migrations, one of the previous release is
stamped as the baseline and upgraded.
"""
import json
import os
import signal
import sys
from pathlib import Path

from scripts.chain import (PID_FILE, Chain, ChainError, ensure_port_free, platform_chain, rpc_request, running_chain,
                           stop_pid, write_pid_file)
from scripts.deploy import (RECORD, DeployError, archive_name, artifacts_stale, compile_contracts, connect, deploy,
                            deployer_account, dev_mode, read_record)

WEB_HOST = "127.0.0.1"


def interrupt(*_):
    raise KeyboardInterrupt


def serve_web_app(port: int) -> None:
    """Blocks serving the backend (waitress) until Ctrl-C or SIGTERM."""
    from backend.serve import main as serve

    print(f"web app: http://{WEB_HOST}:{port}" + ("  (demo logins: var/dev-credentials.json)" if dev_mode() else ""))
    serve(["--host", WEB_HOST, "--port", str(port)] + (["--dev", "--seed"] if dev_mode() else []))


def start_mail_sink(log=print):
    """Dev mode: the local SMTP sink (scripts/mail_sink.py) on 127.0.0.1:MAIL_SINK_PORT (8025),
    each message kept in var/mail/ (the dev mail page /dev/mail lists them); the web app
    sends to it (MAIL_URL) unless MAIL_URL is set. A busy port: said, and no sink."""
    if not dev_mode() or os.environ.get("MAIL_URL") or os.environ.get("EINVOICE_MAIL_URL"):
        return None
    from backend.core.config import VAR
    from scripts.mail_sink import MailSink

    port = int(os.environ.get("EINVOICE_MAIL_SINK_PORT") or os.environ.get("MAIL_SINK_PORT") or 8025)
    try:
        sink = MailSink(VAR / "mail", port).start()
    except (OSError, RuntimeError) as error:
        log(f"mail: no SMTP sink on 127.0.0.1:{port} ({error}); e-mails wait in the mail outbox")
        return None
    os.environ["MAIL_URL"] = sink.url
    log(f"mail: SMTP sink at {sink.url}, messages in {sink.folder}/ (listed at /dev/mail)")
    return sink


def default_database() -> Path | None:
    """The web app's SQLite file when it uses the default one (no DATABASE_URL)."""
    if os.environ.get("DATABASE_URL") or os.environ.get("EINVOICE_DATABASE_URL"):
        return None
    from backend.core.config import VAR

    return VAR / "einvoice.sqlite"


def set_database_aside(old_record: dict, log=print) -> Path | None:
    """Dev mode: the deployment was replaced, so the invoices, ranges and outbox of the
    default database refer to contracts that are no longer used; move the file (and its
    WAL files) aside as var/einvoice.<v1-block>.sqlite. Returns the new path."""
    database = default_database()
    if database is None or not database.exists():
        return None
    stem = archive_name(old_record).replace("deployment", "einvoice", 1)  # einvoice.v1-<block>
    target, n = database.with_name(stem + ".sqlite"), 1
    while target.exists():
        n += 1
        target = database.with_name(f"{stem}.{n}.sqlite")
    for suffix in ("-wal", "-shm"):
        side = database.with_name(database.name + suffix)
        if side.exists():
            side.replace(target.with_name(target.name + suffix))
    database.replace(target)
    log(f"the contracts were redeployed: the old web database is kept as {target}; starting on a fresh one")
    return target


def deployment_replaced(previous: dict, record: dict) -> bool:
    """Other contracts, or the same addresses on another chain (switching CHAIN=anvil and
    ganache, or a new chain: the same deployer's contracts land at the same addresses)."""
    genesis = previous.get("genesis")  # records written before it have none
    return previous.get("contracts") != record["contracts"] or (genesis is not None and genesis != record.get("genesis"))


def ours(chain: Chain, record_path: Path) -> bool:
    """The running chain answers our chain id and holds our recorded contracts."""
    record = read_record(record_path) or {}
    try:
        if int(rpc_request(chain.rpc_url, "eth_chainId", timeout=2.0), 16) != chain.chain_id:
            return False
        return bool(record.get("contracts")) and all(
            rpc_request(chain.rpc_url, "eth_getCode", [address, "latest"], timeout=2.0) not in ("0x", "0x0")
            for address in record["contracts"].values())
    except ChainError:
        return False


def start_chain(record_path: Path = RECORD, log=print) -> Chain:
    """The dev chain, its pid in the pid file scripts.chain reads. A chain of ours still
    running (the web app was killed, Anvil outlived it) is adopted when it is on our port
    and holds our deployment, else stopped (it dumps its state) and started again. A port
    held by another program is an error naming it."""
    chain = platform_chain()
    running = running_chain(chain.port)
    if running:
        pid, port, kind = running
        if port == chain.port and kind == chain.kind and ours(chain, record_path):
            log(f"chain: adopting the running {kind} (pid {pid}) at {chain.rpc_url}")
            chain.adopt(pid)
            write_pid_file(chain)
            return chain
        log(f"chain: stopping the earlier {kind} (pid {pid}, port {port}) to start it afresh")
        stop_pid(pid)
    chain.start()
    write_pid_file(chain)
    return chain


def main() -> int:
    external_rpc = os.environ.get("RPC_URL")
    web_port = int(os.environ.get("WEB_PORT", 5000))
    chain: Chain | None = None
    sink = None
    # Ctrl-C and SIGTERM both end in the finally below, even where SIGINT was inherited
    # as ignored (a background start), so the chain always gets to dump its state.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    try:
        ensure_port_free(WEB_HOST, web_port)
        if artifacts_stale():
            compile_contracts()
        if external_rpc:
            rpc_url = external_rpc
        else:
            chain = start_chain()
            rpc_url = chain.rpc_url
            print(f"chain: {chain.kind} at {rpc_url} (chain id {chain.chain_id}), state in {chain.state_file}")
        previous = read_record(RECORD)
        record = deploy(connect(rpc_url), deployer_account(), rpc_url)
        if previous is not None and deployment_replaced(previous, record) and dev_mode():
            set_database_aside(previous)
        print(f"deployment record: {RECORD}")
        print(json.dumps(record["contracts"], indent=2))
        print("running; press Ctrl-C to stop")
        sink = start_mail_sink()
        serve_web_app(web_port)
        return 0
    except KeyboardInterrupt:
        return 0
    except (ChainError, DeployError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if sink is not None:
            sink.stop()
        if chain is not None:
            print("stopping the chain (state is dumped to disk)")
            chain.stop()
            PID_FILE.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
