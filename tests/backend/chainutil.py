"""Backend tests' own Anvil (127.0.0.1, a free port, through scripts.chain; or a Ganache:
``Anvil(kind="ganache")``) and the deployment through scripts.deploy (all contracts,
dev-mode roles)."""
import time
from contextlib import contextmanager
from pathlib import Path

from web3 import HTTPProvider, Web3

from scripts import deploy as deploy_module
from scripts.chain import Chain, free_port
from scripts.dev_accounts import dev_account

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "contracts"
__all__ = ["Anvil", "deploy", "deployed_chain", "dev_account", "free_port", "reverted_after", "ARTIFACTS"]


# Anvil without a base fee; Ganache has none to set (its chain settings: scripts.chain).
EXTRA_ARGS = {"anvil": ["--base-fee", "0", "--gas-limit", "30000000"], "ganache": []}


class Anvil:
    """scripts.chain.Chain on a free port (optionally with a state file)."""

    def __init__(self, state=None, kind="anvil", extra_args=()):
        self.chain = Chain(port=free_port(), state_file=Path(state) if state else None, state_interval=3600,
                           extra_args=[*EXTRA_ARGS[kind], *extra_args], kind=kind)

    @property
    def url(self):
        return self.chain.rpc_url

    def start(self, new_port=False):
        """``new_port``: a restarted node may not get its port back at once (TIME_WAIT)."""
        if new_port:
            self.chain.port = free_port()
        self.chain.start()
        return self

    def stop(self):
        self.chain.stop()


def deploy(url, out_path):
    """scripts.deploy.deploy with the dev deployer; returns the record."""
    w3 = Web3(HTTPProvider(url))
    return deploy_module.deploy(w3, dev_account(0), url, Path(out_path), ARTIFACTS, log=lambda *a: None)


@contextmanager
def deployed_chain(directory):
    """An Anvil of our own with every contract deployed, its record in ``directory``:
    {"anvil", "record" (with "path"), "w3"}; stopped afterwards."""
    anvil = Anvil().start()
    try:
        path = Path(directory) / "deployment.json"
        record = deploy(anvil.url, path)
        record["path"] = str(path)
        yield {"anvil": anvil, "record": record, "w3": Web3(HTTPProvider(anvil.url))}
    finally:
        anvil.stop()


@contextmanager
def reverted_after(w3):
    """The chain as it is now, restored afterwards (evm_snapshot / evm_revert)."""
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        yield
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("evm_revert", [snap])
        # Anvil's evm_revert also turns its clock back to the snapshot's time: over a long run
        # the chain would fall minutes behind the wall clock and refuse today's invoices
        # (IssueTimeInFuture). Put it back on the wall clock (Ganache's clock is not turned
        # back, and its evm_setTime counts milliseconds).
        if "anvil" in w3.client_version.lower():
            w3.provider.make_request("evm_setTime", [int(time.time())])
