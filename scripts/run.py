"""`make run`: the platform on one machine — Anvil dev chain, contracts, web app.

Starts the persistent dev chain (var/chain/), deploys or reuses the contracts
(var/deployment.json), then serves the web app with waitress on 127.0.0.1:5000
(WEB_PORT) until Ctrl-C, and stops the chain so that it dumps its state. In dev mode
(EINVOICE_ENV unset or "dev") the demo users are seeded and their logins written to
var/dev-credentials.json. With RPC_URL set, no chain is started: the contracts are
deployed to (or reused on) that endpoint instead.
"""
import json
import os
import signal
import sys

from scripts.chain import Chain, ChainError, ensure_port_free, platform_chain
from scripts.deploy import RECORD, DeployError, artifacts_stale, compile_contracts, connect, deploy, deployer_account, dev_mode

WEB_HOST = "127.0.0.1"


def interrupt(*_):
    raise KeyboardInterrupt


def serve_web_app(port: int) -> None:
    """Blocks serving the backend (waitress) until Ctrl-C or SIGTERM."""
    from backend.serve import main as serve

    print(f"web app: http://{WEB_HOST}:{port}" + ("  (demo logins: var/dev-credentials.json)" if dev_mode() else ""))
    serve(["--host", WEB_HOST, "--port", str(port)] + (["--dev", "--seed"] if dev_mode() else []))


def main() -> int:
    external_rpc = os.environ.get("RPC_URL")
    web_port = int(os.environ.get("WEB_PORT", 5000))
    chain: Chain | None = None
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
            chain = platform_chain().start()
            rpc_url = chain.rpc_url
            print(f"chain: Anvil at {rpc_url} (chain id {chain.chain_id}), state in {chain.state_file}")
        record = deploy(connect(rpc_url), deployer_account(), rpc_url)
        print(f"deployment record: {RECORD}")
        print(json.dumps(record["contracts"], indent=2))
        print("running; press Ctrl-C to stop")
        serve_web_app(web_port)
        return 0
    except KeyboardInterrupt:
        return 0
    except (ChainError, DeployError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if chain is not None:
            print("stopping the chain (state is dumped to disk)")
            chain.stop()


if __name__ == "__main__":
    sys.exit(main())
