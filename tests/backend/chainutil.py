"""A throwaway Anvil for backend tests (127.0.0.1, ports 8570-8599) and a raw-web3
deployment of the contracts from build/contracts, written in the deployment-record
format of scripts/deploy.py ({"chain_id","rpc_url","block","contracts","abi_dir"})."""
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from eth_account import Account
from web3 import HTTPProvider, Web3

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "contracts"
MNEMONIC = "test test test test test test test test test test test junk"
Account.enable_unaudited_hdwallet_features()


def dev_account(i):
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")


def anvil_binary():
    found = shutil.which("anvil") or str(ROOT / ".venv" / "bin" / "anvil")
    if not os.path.exists(found):
        raise RuntimeError("anvil not found (npm @foundry-rs/anvil)")
    return found


def free_port(lo=8570, hi=8599):
    for port in range(lo, hi + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 8570-8599")


class Anvil:
    def __init__(self, port=None, state=None, block_time=None, no_mining=False):
        self.port = port or free_port()
        self.state = state
        self.block_time = block_time
        self.no_mining = no_mining
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        cmd = [anvil_binary(), "--host", "127.0.0.1", "--port", str(self.port), "--silent", "--accounts", "10",
               "--mnemonic", MNEMONIC, "--base-fee", "0", "--gas-limit", "30000000"]
        if self.state:
            cmd += ["--state", str(self.state)]
        if self.no_mining:
            cmd += ["--no-mining"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        w3 = Web3(HTTPProvider(self.url, request_kwargs={"timeout": 2}))
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                w3.eth.block_number
                return self
            except Exception:
                if self.proc.poll() is not None:
                    raise RuntimeError("anvil exited")
                time.sleep(0.05)
        raise RuntimeError("anvil did not answer")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: anvil dumps --state before exiting
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _deploy(w3, name, *args, sender):
    art = json.loads((ARTIFACTS / f"{name}.json").read_text())
    c = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = c.constructor(*args).build_transaction({"from": sender.address, "nonce": w3.eth.get_transaction_count(
        sender.address), "gas": 12_000_000, "gasPrice": w3.eth.gas_price, "chainId": w3.eth.chain_id})
    signed = sender.sign_transaction(tx)
    h = w3.eth.send_raw_transaction(signed.raw_transaction)
    r = w3.eth.wait_for_transaction_receipt(h)
    assert r.status == 1, f"deploy {name} failed"
    return r.contractAddress, r.blockNumber


def deploy(url, out_path):
    """Deploy MerchantRegistry and InvoiceRegistry (authority = dev account 0)."""
    w3 = Web3(HTTPProvider(url))
    authority = dev_account(0)
    contracts = {}
    first_block = None
    addr, block = _deploy(w3, "MerchantRegistry", authority.address, sender=authority)
    contracts["MerchantRegistry"], first_block = addr, block
    if (ARTIFACTS / "InvoiceRegistry.json").exists():
        contracts["InvoiceRegistry"], _ = _deploy(w3, "InvoiceRegistry", authority.address, addr, sender=authority)
    record = {"chain_id": w3.eth.chain_id, "rpc_url": url, "block": first_block, "contracts": contracts,
              "abi_dir": str(ARTIFACTS)}
    Path(out_path).write_text(json.dumps(record, indent=2))
    return record
