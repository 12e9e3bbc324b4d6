"""Gas of the reimbursement operations (ExpenseClaims on InvoiceRegistry + ReceivableLedger, issue 12).

    python bench/gas_claims.py [--output bench/results/gas.json]

`measure(bench) -> {name: gas}` runs on a `gas.Bench` (a throwaway Anvil), so bench/gas.py
lists it in its benchmarks next to gas_receivables. Run standalone it starts its own Anvil,
measures, prints a table and merges the numbers into bench/results/gas.json under
"operations" (other entries are kept).

Names: mark_claimed_first (the buyer account's first mark: it also records the account as a
buyer account), mark_claimed (a further invoice of the same buyer, steady state; the buyer
proven with the document's digest and tag, its account read from the ledger's buyer
registry), register_payment_list, mark_paid. Each is the gasUsed of one receipt.
"""
from __future__ import annotations

import sys
from pathlib import Path

from eth_utils import keccak

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gas import Bench  # noqa: E402
from gas_receivables import Receivables, standalone  # noqa: E402


def measure(bench: Bench) -> dict[str, int]:
    """mark_claimed_first, mark_claimed, register_payment_list, mark_paid (gasUsed of one receipt each)."""
    r = Receivables(bench)
    claims = bench.deploy("ExpenseClaims", r.authority, r.inv.registry.address, r.ledger.address)
    fn, send = claims.functions, bench.send

    def claim(ref: str):
        request = r.inv.request(net=10_000_000)
        key, _ = r.inv.issue(request)
        _, digest, tag = r.inv.buyers[request[0]]
        receipt = send(fn.markClaimed(key, digest, tag, keccak(text=ref)), r.debtor)
        if fn.claimOf(key).call()[0] != r.debtor:
            raise RuntimeError("markClaimed did not record the buyer's account")
        return receipt

    ops = {"mark_claimed_first": claim("claim 1").gasUsed, "mark_claimed": claim("claim 2").gasUsed}
    list_hash = keccak(text="payment list 1")
    ops["register_payment_list"] = send(fn.registerPaymentList(list_hash, 22_600_000, 2), r.debtor).gasUsed
    ops["mark_paid"] = send(fn.markPaid(list_hash, keccak(text="bank transfer 1")), r.debtor).gasUsed
    if fn.paymentListOf(list_hash).call()[4] == 0:
        raise RuntimeError("markPaid did not record the payment")
    return ops


def main(argv=None) -> int:
    return standalone(measure, "ExpenseClaims", argv, __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
