"""Gas of the receivable operations (ReceivableLedger + SettlementToken on InvoiceRegistry, v2).

    python bench/gas_receivables.py [--output bench/results/gas.json]

`measure(bench) -> {name: gas}` runs on a `gas.Bench` (a throwaway Anvil with unlocked dev
accounts), so bench/gas.py can list it in BENCHMARKS:

    from gas_receivables import measure as measure_receivable_operations

Run standalone it starts its own Anvil, measures, prints a table with the PASS/FAIL lines
of the receivable goals (gas.GOALS) and merges the numbers into bench/results/gas.json
under "operations" and "goals" (other entries are kept).

Names: register_buyer, claim_buyer, receivable_create, accept, accept_by_signature, cancel,
transfer, split_2, split_10, split_2_partly_paid, pledge (the offer), decline_pledge,
withdraw_pledge, finance (accepting the offer with advance and fee), release, settle_partial,
settle, settle_financed_partial (a payment that all goes to the financier),
settle_waterfall (the closing payment split between financier and holder), hold, lift_hold,
set_maturity_times, mark_overdue, mark_defaulted. Each is the gasUsed of one receipt, measured in a steady state: the
ledger's root counter, the invoice's drawn slot, the token balances of the paying and
receiving accounts already exist (one warm-up of each kind first); `receivable_create` is
the first receivable of a fresh invoice (the common case: the seller proves the buyer with
the document's digest and tag), `pledge` the first pledge offer of a receivable (it records
the financier's index in the receivable's slot and checks that the holder is not a suspended
merchant), `finance` writes the terms' fresh slot, `settle` a full settlement to the holder
(including the registry's settleForReceivable), `settle_waterfall` the same on a financed
receivable (two token transfers), `mark_overdue` / `mark_defaulted` after travelling past
the due date (the authority declares the default).
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
from gas import (  # noqa: E402
    BUILD, BUYER_TAX_ID, ROOT, Bench, Invoices, buyer_tag, evaluate_goals, print_goals, uscc,
)

sys.path.insert(0, str(ROOT))
from scripts.dev_accounts import dev_account  # noqa: E402  (Anvil's account 0 = the bench's authority)

DEBTOR_KEY = "0x" + keccak(text="bench receivable debtor").hex()
DAY = 24 * 3600
FUNDS = 10**13
MAX_UINT = 2**256 - 1
SETTLED, HELD, DEFAULTED = 5, 8, 11  # ReceivableStatus

ACCEPT_FIELDS = [
    {"name": "id", "type": "uint256"},
    {"name": "invoiceKey", "type": "bytes32"},
    {"name": "amount", "type": "uint256"},
    {"name": "dueDate", "type": "uint40"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
BUYER_CLAIM_FIELDS = [
    {"name": "buyerTag", "type": "bytes32"},
    {"name": "account", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
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
        self.register_receipt = bench.send(ledger.functions.registerBuyer(buyer_tag(BUYER_TAX_ID), self.debtor),
                                           self.authority)
        for account in (self.debtor, self.financier, self.merchant, self.supplier):
            bench.send(token.functions.mint(account, FUNDS), self.authority)
            bench.send(token.functions.approve(ledger.address, MAX_UINT), account)

    def domain(self) -> dict:
        """The ledger's EIP-712 domain as it reports it (ERC-5267 eip712Domain)."""
        _, name, version, chain_id, contract, _, _ = self.ledger.functions.eip712Domain().call()
        return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": contract}

    def create(self, amount=1_000_000) -> tuple[int, dict]:
        """A root receivable on a fresh invoice, the buyer proven by the document's digest + tag."""
        request = self.inv.request(net=10_000_000)
        key, _ = self.inv.issue(request)
        _, digest, tag = self.inv.buyers[request[0]]
        function = self.ledger.functions.create(key, amount, self.bench.now() + 90 * DAY, digest, tag)
        rid = function.call({"from": self.merchant})
        return rid, self.bench.send(function, self.merchant)

    def accepted(self, amount=1_000_000) -> int:
        rid, _ = self.create(amount)
        self.bench.send(self.ledger.functions.accept(rid), self.debtor)
        return rid

    def acceptance_signature(self, rid: int, deadline: int) -> tuple[int, bytes]:
        view = self.ledger.functions.getReceivable(rid).call()
        nonce = self.ledger.functions.nonces(self.debtor).call()
        data = {
            "types": {"EIP712Domain": DOMAIN_FIELDS, "AcceptReceivable": ACCEPT_FIELDS},
            "primaryType": "AcceptReceivable",
            "domain": self.domain(),
            # ReceivableView: id, parentId, rootId, invoiceKey (3), ..., amount (9), ..., dueDate (13), overdue
            "message": {"id": rid, "invoiceKey": view[3], "amount": view[9], "dueDate": view[13],
                        "nonce": nonce, "deadline": deadline},
        }
        return nonce, bytes(Account.sign_message(encode_typed_data(full_message=data), DEBTOR_KEY).signature)

    def buyer_claim_attestation(self, tag: bytes, account: str, deadline: int) -> bytes:
        """The authority's EIP-712 BuyerClaim; the nonce is claimNonces(account)."""
        nonce = self.ledger.functions.claimNonces(account).call()
        data = {
            "types": {"EIP712Domain": DOMAIN_FIELDS, "BuyerClaim": BUYER_CLAIM_FIELDS},
            "primaryType": "BuyerClaim",
            "domain": self.domain(),
            "message": {"buyerTag": tag, "account": account, "nonce": nonce, "deadline": deadline},
        }
        authority = dev_account(0)
        if authority.address != self.authority:
            raise RuntimeError("the bench's authority is not Anvil's account 0")
        return bytes(Account.sign_message(encode_typed_data(full_message=data), authority.key).signature)


def measure(bench: Bench) -> dict[str, int]:
    """register_buyer, claim_buyer, receivable_create, accept, accept_by_signature, cancel, transfer,
    split_2, split_10, split_2_partly_paid, pledge, decline_pledge, withdraw_pledge, finance, release,
    settle_partial, settle, settle_financed_partial, settle_waterfall, hold, lift_hold,
    set_maturity_times, mark_overdue, mark_defaulted (gasUsed of one receipt each, steady state)."""
    r = Receivables(bench)
    ledger, send = r.ledger.functions, bench.send
    ops: dict[str, int] = {"register_buyer": r.register_receipt.gasUsed}

    other_buyer = bench.accounts[8]
    other_tag = buyer_tag(uscc("91440300MA5EYH1X2"))
    deadline = bench.now() + 3600
    attestation = r.buyer_claim_attestation(other_tag, other_buyer, deadline)
    ops["claim_buyer"] = send(ledger.claimBuyer(other_tag, other_buyer, deadline, attestation), r.relayer).gasUsed
    if ledger.buyerAccountOf(other_tag).call() != other_buyer or ledger.claimNonces(other_buyer).call() != 1:
        raise RuntimeError("claimBuyer did not register the buyer or use its claim nonce")

    r.accepted()  # warm-up: the root counter exists
    rid, receipt = r.create()
    ops["receivable_create"] = receipt.gasUsed
    ops["accept"] = send(ledger.accept(rid), r.debtor).gasUsed

    signed, _ = r.create()
    deadline = bench.now() + 3600
    nonce, signature = r.acceptance_signature(signed, deadline)
    ops["accept_by_signature"] = send(ledger.acceptBySignature(signed, nonce, deadline, signature), r.relayer).gasUsed

    withdrawn, _ = r.create()
    ops["cancel"] = send(ledger.cancel(withdrawn), r.merchant).gasUsed

    ops["transfer"] = send(ledger.transfer(rid, r.supplier), r.merchant).gasUsed
    ops["split_2"] = send(ledger.split(rid, [400_000, 600_000]), r.supplier).gasUsed
    ten = r.accepted()
    ops["split_10"] = send(ledger.split(ten, [100_000] * 10), r.merchant).gasUsed
    partly = r.accepted()
    send(ledger.settle(partly, 100_000), r.debtor)
    ops["split_2_partly_paid"] = send(ledger.split(partly, [400_000, 600_000]), r.merchant).gasUsed

    pledged = r.accepted()
    ops["pledge"] = send(ledger.pledge(pledged, r.financier), r.merchant).gasUsed
    declined = r.accepted()
    send(ledger.pledge(declined, r.financier), r.merchant)
    ops["decline_pledge"] = send(ledger.declinePledge(declined), r.financier).gasUsed
    send(ledger.pledge(declined, r.financier), r.merchant)
    ops["withdraw_pledge"] = send(ledger.withdrawPledge(declined), r.merchant).gasUsed
    ops["finance"] = send(ledger.finance(pledged, 800_000, 20_000), r.financier).gasUsed
    receipt = send(ledger.release(pledged), r.financier)
    if not r.ledger.events.PledgeReleased().process_receipt(receipt):
        raise RuntimeError("release emitted no PledgeReleased")
    ops["release"] = receipt.gasUsed

    ops["settle_partial"] = send(ledger.settle(pledged, 300_000), r.debtor).gasUsed
    ops["settle"] = send(ledger.settle(signed, 1_000_000), r.debtor).gasUsed
    status = ledger.statusOf(signed).call()
    if status != SETTLED:
        raise RuntimeError(f"settle did not close the receivable (status {status})")

    financed = r.accepted()
    send(ledger.pledge(financed, r.financier), r.merchant)
    send(ledger.finance(financed, 800_000, 20_000), r.financier)
    ops["settle_financed_partial"] = send(ledger.settle(financed, 300_000), r.debtor).gasUsed
    receipt = send(ledger.settle(financed, 700_000), r.debtor)
    repaid = r.ledger.events.FinancierRepaid().process_receipt(receipt)
    if not repaid or repaid[0]["args"]["amount"] != 520_000 or ledger.statusOf(financed).call() != SETTLED:
        raise RuntimeError("the closing payment did not repay the financier's 520,000 first and close")
    ops["settle_waterfall"] = receipt.gasUsed

    ops["hold"] = send(ledger.hold(pledged, 7), r.authority).gasUsed
    if ledger.statusOf(pledged).call() != HELD:
        raise RuntimeError("hold did not freeze the receivable")
    ops["lift_hold"] = send(ledger.liftHold(pledged), r.authority).gasUsed

    ops["set_maturity_times"] = send(ledger.setMaturityTimes(3 * DAY, 30 * DAY), r.authority).gasUsed
    overdue = r.accepted()
    bench.rpc("evm_increaseTime", [94 * DAY])
    bench.rpc("evm_mine", [])
    ops["mark_overdue"] = send(ledger.markOverdue(overdue), r.merchant).gasUsed
    ops["mark_defaulted"] = send(ledger.markDefaulted(overdue), r.authority).gasUsed
    if ledger.statusOf(overdue).call() != DEFAULTED:
        raise RuntimeError("markOverdue / markDefaulted did not reach Defaulted")
    return ops


def merge_into(path: Path, operations: dict[str, int]) -> dict:
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("operations", {}).update(operations)
    goals = evaluate_goals(operations)
    data.setdefault("goals", {}).update(goals)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return goals


def standalone(measure_operations, artifact: str, argv=None, description: str = "") -> int:
    """Run one gas module on its own: compile when ``artifact`` is not built, measure on a
    throwaway Anvil, print the table (and the goals of the operations measured), merge into
    the results file."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "gas.json")
    args = parser.parse_args(argv)
    if not (BUILD / f"{artifact}.json").exists():
        import subprocess

        subprocess.run(["brownie", "compile"], cwd=ROOT, check=True)
    bench = Bench()
    try:
        operations = measure_operations(bench)
    finally:
        bench.close()
    goals = merge_into(args.output, operations)
    width = max(len(name) for name in operations)
    print(f"{'operation':{width}}  {'gas':>8}")
    for name, gas in operations.items():
        print(f"{name:{width}}  {gas:>8,}")
    print_goals(goals)
    print(f"merged into {args.output}")
    return 0


def main(argv=None) -> int:
    return standalone(measure, "ReceivableLedger", argv, __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
