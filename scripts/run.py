"""`make run`: the platform on one machine — Anvil dev chain, contracts, web app.

Starts the persistent dev chain (var/chain/), deploys or reuses the contracts
(var/deployment.json) and keeps running until Ctrl-C, then stops the chain so that it
dumps its state. With RPC_URL set, no chain is started: the contracts are deployed to
(or reused on) that endpoint instead.
"""
import json
import os
import signal
import sys
import threading

from scripts.chain import Chain, ChainError, platform_chain
from scripts.deploy import RECORD, DeployError, artifacts_stale, compile_contracts, connect, deploy, deployer_account


def wait_for_interrupt() -> None:
    """Blocks until Ctrl-C (SIGINT) or SIGTERM, even where SIGINT was inherited as ignored."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


def main() -> int:
    external_rpc = os.environ.get("RPC_URL")
    chain: Chain | None = None
    try:
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
        wait_for_interrupt()
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
