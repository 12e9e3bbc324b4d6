"""Gas of the receivable operations (ReceivableLedger + SettlementToken on InvoiceRegistry).

    python bench/gas_receivables.py [--output bench/results/gas.json]

`measure(bench) -> {name: gas}` runs on a `gas.Bench` (a throwaway Anvil with unlocked dev
accounts), so bench/gas.py can list it in BENCHMARKS:

    from gas_receivables import measure as measure_receivable_operations

Run standalone it starts its own Anvil, measures, prints a table and merges the numbers
into bench/results/gas.json under "operations" (other entries are kept).

Names: receivable_create, accept, accept_by_signature, transfer, split_2, split_10, pledge,
finance, release, settle. Each is the gasUsed of one receipt, measured in a steady state:
the ledger's root counter, the invoice's drawn slot, the token balances of the paying and
receiving accounts already exist (one warm-up of each kind first); `receivable_create` is
the first receivable of a fresh invoice (the common case), `pledge` the first pledge of a
receivable (it writes a fresh pledge slot), `settle` a full settlement to the holder
(including the invoice release).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gas import BUILD, BUYER_TAX_ID, ROOT, Bench, Invoices, tax_id_hash  # noqa: E402

DEBTOR_KEY = "0x" + keccak(text="bench receivable debtor").hex()
DAY = 24 * 3600
FUNDS = 10**13
MAX_UINT = 2**256 - 1

ACCEPT_FIELDS = [
    {"name": "id", "type": "uint256"},
    {"name": "invoiceKey", "type": "bytes32"},
    {"name": "amount", "type": "uint256"},
    {"name": "dueDate", "type": "uint40"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


class Receivables:
    """Invoices + SettlementToken + ReceivableLedger wired as in a deployment, a funded keyed debtor."""

    def __init__(self, bench: Bench):
        self.bench = bench
        self.inv = Invoices(bench)
        acc = bench.accounts
        self.authority, self.merchant = self.inv.authority, self.inv.merchant
        self.financier, self.supplier, self.relayer = acc[4], acc[6], acc[9]
        self.debtor = Account.from_key(DEBTOR_KEY).address
        bench.rpc("anvil_impersonateAccount", [self.debtor])
        bench.rpc("anvil_setBalance", [self.debtor, hex(10**20)])

        self.token = bench.deploy("SettlementToken", self.authority)
        self.ledger = bench.deploy("ReceivableLedger", self.authority, self.inv.registry.address, self.token.address)
        registry, ledger, token = self.inv.registry, self.ledger, self.token
        bench.send(registry.functions.grantRole(registry.functions.LEDGER_ROLE().call(), ledger.address), self.authority)
        bench.send(ledger.functions.grantRole(ledger.functions.FINANCIER_ROLE().call(), self.financier), self.authority)
        bench.send(ledger.functions.registerBuyer(tax_id_hash(BUYER_TAX_ID), self.debtor), self.authority)
        for account in (self.debtor, self.financier, self.merchant, self.supplier):
            bench.send(token.functions.mint(account, FUNDS), self.authority)
            bench.send(token.functions.approve(ledger.address, MAX_UINT), account)

    def invoice(self, net=10_000_000) -> bytes:
        key, _ = self.inv.issue(self.inv.request(net=net))
        return key

    def create(self, amount=1_000_000, key=None) -> tuple[int, dict]:
        key = key or self.invoice()
        function = self.ledger.functions.create(key, amount, self.bench.now() + 90 * DAY)
        rid = function.call({"from": self.merchant})
        return rid, self.bench.send(function, self.merchant)

    def accepted(self, amount=1_000_000) -> int:
        rid, _ = self.create(amount)
        self.bench.send(self.ledger.functions.accept(rid), self.debtor)
        return rid

    def acceptance_signature(self, rid: int, deadline: int) -> bytes:
        view = self.ledger.functions.getReceivable(rid).call()
        nonce = self.ledger.functions.nonces(self.debtor).call()
        data = {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "AcceptReceivable": ACCEPT_FIELDS,
            },
            "primaryType": "AcceptReceivable",
            "domain": {"name": "ReceivableLedger", "version": "1", "chainId": self.bench.w3.eth.chain_id,
                       "verifyingContract": self.ledger.address},
            # ReceivableView: id, parentId, rootId, invoiceKey (3), ..., amount (9), ..., dueDate (13), overdue
            "message": {"id": rid, "invoiceKey": view[3], "amount": view[9], "dueDate": view[13],
                        "nonce": nonce, "deadline": deadline},
        }
        return nonce, bytes(Account.sign_message(encode_typed_data(full_message=data), DEBTOR_KEY).signature)


def measure(bench: Bench) -> dict[str, int]:
    """receivable_create, accept, accept_by_signature, transfer, split_2, split_10, pledge,
    finance, release, settle (gasUsed of one receipt each, steady state)."""
    r = Receivables(bench)
    ledger, send = r.ledger.functions, bench.send
    ops: dict[str, int] = {}

    r.accepted()  # warm-up: the root counter exists
    rid, receipt = r.create()
    ops["receivable_create"] = receipt.gasUsed
    ops["accept"] = send(ledger.accept(rid), r.debtor).gasUsed

    signed, _ = r.create()
    deadline = bench.now() + 3600
    nonce, signature = r.acceptance_signature(signed, deadline)
    ops["accept_by_signature"] = send(ledger.acceptBySignature(signed, nonce, deadline, signature), r.relayer).gasUsed

    ops["transfer"] = send(ledger.transfer(rid, r.supplier), r.merchant).gasUsed
    ops["split_2"] = send(ledger.split(rid, [400_000, 600_000]), r.supplier).gasUsed
    ten = r.accepted()
    ops["split_10"] = send(ledger.split(ten, [100_000] * 10), r.merchant).gasUsed

    pledged = r.accepted()
    ops["pledge"] = send(ledger.pledge(pledged, r.financier), r.merchant).gasUsed
    ops["finance"] = send(ledger.finance(pledged, 800_000), r.financier).gasUsed
    ops["release"] = send(ledger.release(pledged), r.financier).gasUsed

    ops["settle"] = send(ledger.settle(signed, 1_000_000), r.debtor).gasUsed
    status = ledger.statusOf(signed).call()
    if status != 5:  # Settled
        raise RuntimeError(f"settle did not close the receivable (status {status})")
    return ops


def merge_into(path: Path, operations: dict[str, int]) -> None:
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("operations", {}).update(operations)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


GOALS = {"transfer": 60_000, "split_2": 110_000, "pledge": 60_000}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "gas.json")
    args = parser.parse_args(argv)
    if not (BUILD / "ReceivableLedger.json").exists():
        import subprocess

        subprocess.run(["brownie", "compile"], cwd=ROOT, check=True)
    bench = Bench()
    try:
        operations = measure(bench)
    finally:
        bench.close()
    merge_into(args.output, operations)
    width = max(len(name) for name in operations)
    print(f"{'operation':{width}}  {'gas':>8}  goal")
    for name, gas in operations.items():
        goal = GOALS.get(name)
        verdict = "" if goal is None else f"<= {goal:,} {'ok' if gas <= goal else 'MISSED'}"
        print(f"{name:{width}}  {gas:>8,}  {verdict}")
    print(f"merged into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
