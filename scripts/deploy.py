"""Deploy the platform's contracts and record them in var/deployment.json.

    brownie run scripts/deploy.py                 # on brownie's network (default: development, 127.0.0.1:8545)
    python -m scripts.deploy [--rpc-url URL]      # plain web3 + eth-account (what `make run` calls)

Idempotent: when the record's contracts still have their code on the connected chain
and the build artifacts did not change, they are reused; otherwise everything is
deployed fresh. A record made for another chain id is refused, never overwritten.
When a fresh set replaces a recorded one (e.g. contracts v1 → v2), the old record is
kept next to the new one as ``deployment.v<version>-<block>.json`` (records without a
``version`` are v1), so the addresses of the old contracts are not lost.

Keys: in dev mode (EINVOICE_ENV unset or "dev") the deployer is Anvil's first dev
account. Otherwise DEPLOYER_KEYSTORE names an eth-account keystore file and
DEPLOYER_KEYSTORE_PASSWORD unlocks it.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "build" / "contracts"
RECORD = Path(os.environ.get("DEPLOYMENT_RECORD", ROOT / "var" / "deployment.json"))
DEFAULT_RPC_URL = "http://127.0.0.1:8545"
RECORD_VERSION = 2  # the contracts' generation (issue 8: v2); records written before it have none (v1)

# Contracts in deployment order; each entry names the constructor arguments, resolved by
# name against the deployer ("authority") and the contracts already deployed.
PLAN = [
    ("MerchantRegistry", ["authority"]),
    ("InvoiceRegistry", ["authority", "MerchantRegistry"]),
    ("SettlementToken", ["authority"]),
    ("ReceivableLedger", ["authority", "InvoiceRegistry", "SettlementToken"]),
    # reimbursement (issue 12): reads the registry and the ledger's buyer registry, needs no role
    ("ExpenseClaims", ["authority", "InvoiceRegistry", "ReceivableLedger"]),
]

# Roles every deployment needs: (contract, role constant, grantee by name).
GRANTS: list[tuple[str, str, str]] = [
    ("InvoiceRegistry", "LEDGER_ROLE", "ReceivableLedger"),
]

# Dev mode only: roles and settlement tokens for Anvil's demo accounts (scripts.dev_accounts).
DEV_GRANTS: list[tuple[str, str, str]] = [
    ("InvoiceRegistry", "AUDITOR_ROLE", "auditor"),
    ("ReceivableLedger", "FINANCIER_ROLE", "financier"),
]
DEV_MINTS: list[tuple[str, int]] = [  # (demo account, amount in fen)
    ("buyer", 10_000_000_00),  # 10 million yuan to settle receivables with
    ("financier", 100_000_000_00),  # 100 million yuan to finance them
]


class DeployError(Exception):
    """A deployment failure with a one-line, user-facing message."""


def dev_mode() -> bool:
    return os.environ.get("EINVOICE_ENV", "dev") == "dev"


def load_artifact(name: str, abi_dir: Path = ARTIFACTS) -> dict:
    path = abi_dir / f"{name}.json"
    try:
        artifact = json.loads(path.read_text())
    except FileNotFoundError:
        raise DeployError(f"no build artifact {path}; run 'brownie compile'") from None
    except json.JSONDecodeError:
        raise DeployError(f"build artifact {path} is corrupt; run 'brownie compile --all'") from None
    if not artifact.get("bytecode"):
        raise DeployError(f"build artifact {path} has no bytecode (abstract contract or interface?)")
    return artifact


def artifacts_stale(abi_dir: Path = ARTIFACTS) -> bool:
    sources = list((ROOT / "contracts").rglob("*.sol"))
    built = [abi_dir / f"{name}.json" for name, _ in PLAN]
    if not all(path.exists() for path in built):
        return True
    return max(p.stat().st_mtime for p in sources) > min(p.stat().st_mtime for p in built)


def compile_contracts() -> None:
    brownie = Path(sys.executable).with_name("brownie")
    result = subprocess.run([str(brownie), "compile"], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["(no output)"]
        raise DeployError(f"'brownie compile' failed: {tail[0]}")


def deployer_account():
    if dev_mode():
        from scripts.dev_accounts import dev_account

        return dev_account(0)
    keystore = os.environ.get("DEPLOYER_KEYSTORE")
    password = os.environ.get("DEPLOYER_KEYSTORE_PASSWORD")
    if not keystore or password is None:
        raise DeployError("outside dev mode set DEPLOYER_KEYSTORE (keystore file) and DEPLOYER_KEYSTORE_PASSWORD")
    try:
        return Account.from_key(Account.decrypt(json.loads(Path(keystore).read_text()), password))
    except (OSError, ValueError) as error:
        raise DeployError(f"cannot unlock keystore {keystore}: {error}") from None


def read_record(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError:
        raise DeployError(f"{path} is corrupt; delete it to deploy fresh") from None
    if not isinstance(record, dict) or not isinstance(record.get("contracts"), dict) or "chain_id" not in record:
        raise DeployError(f"{path} is not a deployment record; delete it to deploy fresh")
    return record


def write_record(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=2) + "\n")
    temporary.replace(path)


def archive_name(record: dict) -> str:
    """File name stem that keeps a replaced record: ``deployment.v1-<block>``."""
    return f"deployment.v{record.get('version', 1)}-{record.get('block', 0)}"


def keep_old_record(path: Path, record: dict) -> Path:
    """Copy the replaced record ``path`` aside (never overwriting an earlier kept one); the
    new record then replaces ``path`` atomically, so there is always a record there."""
    target = path.with_name(archive_name(record) + ".json")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{archive_name(record)}.{n}.json")
    target.write_bytes(path.read_bytes())
    return target


def artifact_hash(artifact: dict) -> str:
    return "0x" + keccak(text=artifact["bytecode"]).hex()


def genesis_hash(w3: Web3) -> str:
    """Block 0's hash: tells two chains of one chain id apart (an Anvil and a Ganache, or a
    new Anvil), where the same deployer's contracts land at the same addresses."""
    return w3.eth.get_block(0)["hash"].to_0x_hex()


def reusable(w3: Web3, record: dict, artifacts: dict) -> str | None:
    """None when the recorded deployment can be reused, else the reason it cannot."""
    if record.get("genesis") not in (None, genesis_hash(w3)):
        return "the record is for another chain of the same chain id (its genesis block differs)"
    for name in artifacts:
        address = record["contracts"].get(name)
        if not address:
            return f"{name} is not in the record"
        if record.get("artifact_hashes", {}).get(name) != artifact_hash(artifacts[name]):
            return f"{name} changed since it was deployed"
        if not w3.eth.get_code(Web3.to_checksum_address(address)):
            return f"{name} has no code at {address} (new chain?)"
    return None


class Sender:
    """Builds, signs (eth-account) and sends transactions from one account."""

    def __init__(self, w3: Web3, account):
        self.w3, self.account = w3, account
        self.nonce = w3.eth.get_transaction_count(account.address, "pending")

    def transact(self, function_or_constructor) -> dict:
        tx = function_or_constructor.build_transaction({"from": self.account.address, "nonce": self.nonce, "chainId": self.w3.eth.chain_id})
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self.nonce += 1
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            raise DeployError(f"transaction {tx_hash.hex()} reverted")
        return receipt


def named_accounts(deployer_address: str, with_demo: bool) -> dict:
    names = {"authority": deployer_address}
    if with_demo:
        from scripts.dev_accounts import DEV_ROLES, dev_account

        names.update({role: dev_account(index).address for role, index in DEV_ROLES.items() if role != "authority"})
    return names


def deploy_contracts(w3: Web3, sender: Sender, artifacts: dict, with_demo: bool) -> tuple[dict, int]:
    addresses, first_block = {}, None
    names = named_accounts(sender.account.address, with_demo)
    for name, arg_names in PLAN:
        args = [names[arg] for arg in arg_names]
        factory = w3.eth.contract(abi=artifacts[name]["abi"], bytecode=artifacts[name]["bytecode"])
        receipt = sender.transact(factory.constructor(*args))
        addresses[name] = names[name] = receipt["contractAddress"]
        first_block = receipt["blockNumber"] if first_block is None else first_block
    contracts = {name: w3.eth.contract(address=addresses[name], abi=artifacts[name]["abi"]) for name in addresses}
    for contract, role, grantee in GRANTS + (DEV_GRANTS if with_demo else []):
        role_id = contracts[contract].functions[role]().call()
        sender.transact(contracts[contract].functions.grantRole(role_id, names[grantee]))
    for holder, amount in DEV_MINTS if with_demo else []:
        sender.transact(contracts["SettlementToken"].functions.mint(names[holder], amount))
    return addresses, first_block


def deploy(w3: Web3, account, rpc_url: str, record_path: Path = RECORD, abi_dir: Path = ARTIFACTS, log=print) -> dict:
    """Reuse or make the deployment on ``w3``'s chain; returns the record written."""
    chain_id = w3.eth.chain_id
    record = read_record(record_path)
    if record is not None and record["chain_id"] != chain_id:
        raise DeployError(
            f"{record_path} is for chain id {record['chain_id']} but {rpc_url} is chain id {chain_id}; "
            "point to the right RPC or delete the record to deploy fresh"
        )
    artifacts = {name: load_artifact(name, abi_dir) for name, _ in PLAN}
    reason = "no deployment record" if record is None else reusable(w3, record, artifacts)
    if reason is None:
        if record.get("rpc_url") != rpc_url:
            record["rpc_url"] = rpc_url
            write_record(record_path, record)
        log(f"reusing the deployment on chain {chain_id}: {', '.join(f'{n} {a}' for n, a in record['contracts'].items())}")
        return record
    log(f"deploying fresh ({reason})")
    try:
        addresses, block = deploy_contracts(w3, Sender(w3, account), artifacts, with_demo=dev_mode())
    except ContractLogicError as error:
        raise DeployError(f"deployment reverted: {error}") from None
    except Web3RPCError as error:
        raise DeployError(f"deployment transaction refused by {rpc_url}: {error.message}") from None
    if record is not None and record.get("contracts"):
        kept = keep_old_record(record_path, record)
        log(f"kept the replaced deployment record (contracts v{record.get('version', 1)}, block "
            f"{record.get('block', '?')}) as {kept}")
    record = {
        "version": RECORD_VERSION,
        "chain_id": chain_id,
        "genesis": genesis_hash(w3),
        "rpc_url": rpc_url,
        "block": block,
        "contracts": addresses,
        "abi_dir": str(abi_dir),
        "deployer": account.address,
        "artifact_hashes": {name: artifact_hash(artifacts[name]) for name in artifacts},
    }
    write_record(record_path, record)
    log(f"deployed on chain {chain_id} from block {block}: {', '.join(f'{n} {a}' for n, a in addresses.items())}")
    return record


def connect(rpc_url: str) -> Web3:
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
    if not w3.is_connected():
        raise DeployError(f"no JSON-RPC answer from {rpc_url}; is the chain running? ('make run' starts it)")
    return w3


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m scripts.deploy``; brownie's ``brownie run`` also calls main()."""
    if argv is None and "brownie" in Path(sys.argv[0]).name:
        return _brownie_main()
    parser = argparse.ArgumentParser(prog="python -m scripts.deploy", description=__doc__.splitlines()[0])
    parser.add_argument("--rpc-url", default=os.environ.get("RPC_URL", DEFAULT_RPC_URL))
    parser.add_argument("--record", type=Path, default=RECORD)
    args = parser.parse_args(argv)
    try:
        if artifacts_stale():
            compile_contracts()
        deploy(connect(args.rpc_url), deployer_account(), args.rpc_url, args.record)
    except DeployError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _brownie_main() -> int:
    from brownie import web3 as brownie_web3  # brownie compiled the project and connected already

    rpc_url = brownie_web3.provider.endpoint_uri
    try:
        deploy(brownie_web3, deployer_account(), rpc_url)
    except DeployError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
