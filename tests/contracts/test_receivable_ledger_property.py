"""Property test of the ReceivableLedger: random sequences of create / accept (direct or
by signature) / transfer / split / pledge / finance / release / settle / void attempts
across several holders and two financiers, valid and invalid alike.

A Python model predicts the outcome of every call (success, or the custom error that must
refuse it). After every step the invariants compare the chain to the model and check:
- value conservation: for every root, the outstanding value of its live leaves plus
  everything paid in its tree equals the root's face value; the parts of every split sum
  to their parent; the invoice's `drawn` equals the face value of its live receivables;
- token balances changed only by the amounts the ledger's events reported;
- no receivable was pledged twice (a pledge event never hits a pledged receivable);
- no voided invoice backs a live receivable.

Runs on plain hypothesis (`RuleBasedStateMachine`, derandomized, bounded examples and steps)
with an EVM snapshot restored before each example: brownie 1.22's compiled `state_machine`
wrapper rejects the machine class it generates (TypeError in its __init__).
"""
import collections
import functools
import random

from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import (
    ACCEPTED,
    BUYER_HASH,
    CANCELLED,
    CREATED,
    DAY,
    DEBTOR_KEY,
    DECLINED,
    INV_VOIDED,
    PLEDGED,
    SETTLED,
    SPLIT,
    child_id,
    reverts,
    sign_acceptance,
)

LIVE = (CREATED, ACCEPTED, PLEDGED)
ZERO = "0x" + "00" * 20
INVOICE_NETS = (400_000, 100_000, 30_000)  # gross at 13 %: 452,000 / 113,000 / 33,900 fen


STRATEGIES = {
    "st_index": st.integers(0, 10**6),
    "st_account": st.integers(0, 3),
    "st_amount": st.integers(1, 200_000),
    "st_parts": st.integers(2, 4),
    "st_seed": st.integers(0, 2**32 - 1),
    "st_flag": st.booleans(),
    "st_choice": st.integers(0, 2),
}


def _rule(fn):
    """hypothesis rule drawing each argument from the strategy of the same name; rules on an
    existing receivable (those taking `st_index`) wait until one exists."""
    names = fn.__code__.co_varnames[1 : fn.__code__.co_argcount]

    @functools.wraps(fn)
    def step(self, **kwargs):
        self.changed = False
        fn(self, **kwargs)

    wrapped = rule(**{name: STRATEGIES[name] for name in names})(step)
    if "st_index" in names:
        wrapped = precondition(lambda self: bool(self.ids))(wrapped)
    return wrapped


def _invariant(fn):
    """hypothesis invariant, checked after each step that changed the chain (a refused call
    changes nothing) and after set-up."""

    def check(self):
        if self.changed:
            fn(self)

    check.__name__ = fn.__name__
    return invariant()(check)


class LedgerMachine(RuleBasedStateMachine):
    """Rules and invariants; `configure` sets the contracts, `__init__` restores the snapshot."""

    def __init__(self):
        super().__init__()
        self.chain.revert()
        self.setup()

    @classmethod
    def configure(cls, ledger, registry, token, merchant, holders, financiers, debtor, stranger, chain):
        cls.ledger, cls.registry, cls.token, cls.chain = ledger, registry, token, chain
        cls.merchant, cls.holders, cls.financiers = merchant, holders, financiers
        cls.debtor, cls.stranger = debtor, stranger
        cls.keys = []
        for i, net in enumerate(INVOICE_NETS):
            number = f"2688{i + 1:016d}"
            tax = net * 13 // 100
            request = (
                number, str(merchant), bytes(BUYER_HASH), net, tax, net + tax, 13, 1, 0,
                chain[-1].timestamp - 60, keccak(text="property document " + number),
            )
            cls.keys.append(registry.issue(request, {"from": merchant}).return_value)
        cls.gross = [net + net * 13 // 100 for net in INVOICE_NETS]
        everyone = [merchant, *holders, *financiers, debtor, stranger]
        cls.account_of = {str(a): a for a in everyone}
        cls.holders = [str(a) for a in holders]
        cls.financiers = [str(a) for a in financiers]
        cls.stranger = str(stranger)
        cls.watched = list(cls.account_of)
        # Starting population, part of the snapshot every example begins from:
        # (invoice, amount, accepted) -> ids 1, 2, 3.
        cls.initial = []
        due = chain[-1].timestamp + 60 * DAY
        for i, amount, accepted in ((0, 250_000, True), (0, 100_000, False), (1, 50_000, True)):
            rid = ledger.create(cls.keys[i], amount, due, {"from": merchant}).return_value
            if accepted:
                ledger.accept(rid, {"from": debtor})
            cls.initial.append((rid, i, amount, ACCEPTED if accepted else CREATED))

    def setup(self):
        self.model = {}  # id -> dict(amount, holder, status, paid, financier, advance, invoice, children)
        self.ids = []
        for rid, invoice, amount, status in self.initial:
            self.model[rid] = dict(amount=amount, holder=str(self.merchant), status=status, paid=0,
                                   financier=ZERO, advance=0, invoice=invoice, children=[])
            self.ids.append(rid)
        self.voided = set()
        self.settled = [0] * len(self.keys)
        self.balances = {a: self.token.balanceOf(a) for a in self.watched}
        self.changed = True  # invariants are re-checked only after a step that changed the chain

    # ------------------------------------------------------------ helpers

    def _pick(self, index, statuses=LIVE):
        """Mostly one in `statuses`, newest first; sometimes any (closed ones exercise the refusals)."""
        live = [rid for rid in self.ids if self.model[rid]["status"] in statuses]
        if live and index % 4 != 3:
            return live[-1 - (index // 4) % len(live)]
        return self.ids[index % len(self.ids)]

    def _apply_events(self, tx):
        """Moves the expected token balances by exactly what the ledger's events report."""
        for event in tx.events:
            if event.address != self.ledger.address:
                continue
            if event.name == "ReceivableFinanced":
                self._move(event["financier"], event["holder"], event["amount"])
            elif event.name == "ReceivableSettled":
                self._move(event["debtor"], event["beneficiary"], event["amount"])
            elif event.name == "ReceivablePledged":
                assert self.model[event["id"]]["status"] != PLEDGED, "pledged twice"

    def _move(self, source, target, amount):
        self.balances[str(source)] -= amount
        self.balances[str(target)] += amount

    def _transferable_error(self, rid, sender):
        r = self.model[rid]
        if r["holder"] != sender:
            return ("NotHolder", rid, sender)
        if r["status"] == PLEDGED:
            return ("ReceivableLocked", rid, r["financier"])
        if r["status"] == CREATED:
            return ("ReceivableNotAccepted", rid)
        if r["status"] != ACCEPTED:
            return ("ReceivableClosed", rid, r["status"])
        return None

    outcomes = collections.Counter()  # (function, "ok" | error name) over the whole run

    def _call(self, expected_error, fn, *args, sender):
        sender = self.account_of[str(sender)]
        self.outcomes[(fn.abi["name"], expected_error[0] if expected_error else "ok")] += 1
        if expected_error is None:
            tx = fn(*args, {"from": sender})
            self.changed = True
            self._apply_events(tx)
            return tx
        with reverts(*expected_error):
            fn(*args, {"from": sender})
        return None

    def _sender(self, as_owner, choice, owner):
        """The owner, or (when `as_owner` is false and `choice` 2) a stranger. Hypothesis
        favours zero / False, so the default draws give the valid path."""
        return self.stranger if (not as_owner and choice == 2) else owner

    # ------------------------------------------------------------ rules

    @_rule
    def rule_create(self, st_choice, st_amount, st_flag):
        """Creates a receivable (accepted at once by the debtor unless `st_flag`)."""
        i = st_choice % len(self.keys)
        drawn = sum(r["amount"] for r in self.model.values() if r["invoice"] == i and r["status"] in LIVE)
        available = max(self.gross[i] - drawn - self.settled[i], 0)
        due = self.chain[-1].timestamp + 30 * DAY
        amount = available + 1 if st_amount % 5 == 4 else st_amount % max(available, 1) + 1
        if i in self.voided:
            error = ("InvoiceNotEligible", self.keys[i], INV_VOIDED)
        elif amount > available:
            error = ("ExceedsInvoiceAvailable", self.keys[i], amount, available)
        else:
            error = None
        tx = self._call(error, self.ledger.create, self.keys[i], amount, due, sender=self.merchant)
        if tx:
            rid = tx.return_value
            assert rid == len([x for x in self.ids if x < 2**64]) + 1
            self.model[rid] = dict(amount=amount, holder=str(self.merchant), status=CREATED, paid=0,
                                   financier=ZERO, advance=0, invoice=i, children=[])
            self.ids.append(rid)
            if not st_flag:
                self._call(None, self.ledger.accept, rid, sender=self.debtor)
                self.model[rid]["status"] = ACCEPTED

    @_rule
    def rule_accept(self, st_index, st_flag):
        rid = self._pick(st_index)
        status = self.model[rid]["status"]
        if status == CREATED:
            error = None
        elif status in LIVE:
            error = ("ReceivableAlreadyAccepted", rid, status)
        else:
            error = ("ReceivableClosed", rid, status)
        if st_flag:
            nonce = self.ledger.nonces(self.debtor)
            deadline = self.chain[-1].timestamp + 3600
            signature = sign_acceptance(self.ledger, DEBTOR_KEY, rid, nonce, deadline, self.chain.id)
            tx = self._call(error, self.ledger.acceptBySignature, rid, nonce, deadline, signature, sender=self.stranger)
        else:
            tx = self._call(error, self.ledger.accept, rid, sender=self.debtor)
        if tx:
            self.model[rid]["status"] = ACCEPTED

    @_rule
    def rule_transfer(self, st_index, st_account, st_flag, st_choice):
        rid = self._pick(st_index)
        r = self.model[rid]
        sender = self._sender(st_flag, st_choice, r["holder"])
        others = [h for h in self.holders if h != r["holder"]]
        to = str(sender) if st_account == 3 else others[st_account % len(others)]
        error = self._transferable_error(rid, str(sender))
        if error is None and to == str(sender):
            error = ("InvalidRecipient", to)
        if self._call(error, self.ledger.transfer, rid, to, sender=sender):
            r["holder"] = to

    @_rule
    def rule_split(self, st_index, st_parts, st_seed, st_flag, st_choice):
        rid = self._pick(st_index)
        r = self.model[rid]
        if r["amount"] < st_parts:
            return
        cuts = sorted(random.Random(st_seed).sample(range(1, r["amount"]), st_parts - 1))
        amounts = [b - a for a, b in zip([0, *cuts], [*cuts, r["amount"]])]
        sender = self._sender(st_flag, st_choice, r["holder"])
        error = self._transferable_error(rid, str(sender))
        if error is None and r["paid"]:
            error = ("ReceivablePartiallySettled", rid, r["paid"])
        tx = self._call(error, self.ledger.split, rid, amounts, sender=sender)
        if tx:
            r["status"] = SPLIT
            for part, amount in enumerate(amounts, start=1):
                cid = child_id(rid, part)
                assert tx.return_value[part - 1] == cid
                self.model[cid] = dict(amount=amount, holder=r["holder"], status=ACCEPTED, paid=0,
                                       financier=ZERO, advance=0, invoice=r["invoice"], children=[])
                r["children"].append(cid)
                self.ids.append(cid)

    @_rule
    def rule_pledge(self, st_index, st_account, st_flag, st_choice):
        rid = self._pick(st_index)
        r = self.model[rid]
        sender = self._sender(st_flag, st_choice, r["holder"])
        target = self.stranger if st_account == 3 else self.financiers[st_account % 2]
        error = self._transferable_error(rid, str(sender))
        if error is None and target == self.stranger:
            error = ("NotFinancier", target)
        if self._call(error, self.ledger.pledge, rid, target, sender=sender):
            r.update(status=PLEDGED, financier=str(target), advance=0)

    @_rule
    def rule_finance(self, st_index, st_amount, st_flag):
        rid = self._pick(st_index, (PLEDGED,))
        r = self.model[rid]
        sender = r["financier"] if (not st_flag and r["financier"] != ZERO) else str(self.financiers[st_amount % 2])
        amount = min(st_amount, r["amount"] - r["advance"] + (st_amount % 2))  # sometimes one too many
        amount = max(amount, 1)
        if r["status"] != PLEDGED:
            error = ("ReceivableNotPledged", rid) if r["status"] in LIVE else ("ReceivableClosed", rid, r["status"])
        elif r["financier"] != sender:
            error = ("NotPledgee", rid, sender)
        elif r["advance"] + amount > r["amount"]:
            error = ("AdvanceExceedsFaceValue", rid, r["advance"] + amount, r["amount"])
        else:
            error = None
        tx = self._call(error, self.ledger.finance, rid, amount, sender=sender)
        if tx:
            event = tx.events["ReceivableFinanced"]
            assert (event["amount"], event["holder"], event["financier"]) == (amount, r["holder"], sender)
            r["advance"] += amount

    @_rule
    def rule_release(self, st_index, st_flag):
        rid = self._pick(st_index, (PLEDGED,))
        r = self.model[rid]
        sender = r["financier"] if (not st_flag and r["financier"] != ZERO) else str(self.financiers[1])
        if r["status"] != PLEDGED:
            error = ("ReceivableNotPledged", rid) if r["status"] in LIVE else ("ReceivableClosed", rid, r["status"])
        elif r["financier"] != sender:
            error = ("NotPledgee", rid, sender)
        else:
            error = None
        if self._call(error, self.ledger.release, rid, sender=sender):
            r.update(status=ACCEPTED, financier=ZERO, advance=0)

    @_rule
    def rule_settle(self, st_index, st_amount, st_choice):
        rid = self._pick(st_index)
        r = self.model[rid]
        outstanding = r["amount"] - r["paid"]
        amount = [outstanding, min(st_amount, outstanding), outstanding + 1][st_choice]
        amount = max(amount, 1)
        if r["status"] == CREATED:
            error = ("ReceivableNotAccepted", rid)
        elif r["status"] not in LIVE:
            error = ("ReceivableClosed", rid, r["status"])
        elif amount > outstanding:
            error = ("SettlementExceedsOutstanding", rid, amount, outstanding)
        else:
            error = None
        tx = self._call(error, self.ledger.settle, rid, amount, sender=self.debtor)
        if tx:
            beneficiary = r["financier"] if r["status"] == PLEDGED else r["holder"]
            event = tx.events["ReceivableSettled"]
            assert (event["beneficiary"], event["amount"]) == (beneficiary, amount)
            r["paid"] += amount
            if r["paid"] == r["amount"]:
                r["status"] = SETTLED
                self.settled[r["invoice"]] += r["amount"]

    @_rule
    def rule_void(self, st_choice, st_seed):
        """The seller tries to void an invoice: refused while it backs a live receivable;
        otherwise (sometimes) voided, after which it backs no new receivable."""
        i = st_choice % len(self.keys)
        if i in self.voided:
            return
        drawn = sum(r["amount"] for r in self.model.values() if r["invoice"] == i and r["status"] in LIVE)
        if drawn:
            self.outcomes[("voidInvoice", "InvoiceHasReceivable")] += 1
            with reverts("InvoiceHasReceivable", self.keys[i], drawn):
                self.registry.voidInvoice(self.keys[i], {"from": self.merchant})
        elif st_seed % 8 == 7:
            self.outcomes[("voidInvoice", "ok")] += 1
            self.registry.voidInvoice(self.keys[i], {"from": self.merchant})
            self.voided.add(i)
            self.changed = True

    # ------------------------------------------------------------ invariants

    @_invariant
    def invariant_chain_matches_model(self):
        for rid in self.ids:
            r = self.model[rid]
            view = self.ledger.getReceivable(rid)
            assert view["status"] == r["status"], rid
            assert (view["holder"], view["amount"], view["paid"]) == (r["holder"], r["amount"], r["paid"]), rid
            if r["status"] == PLEDGED:
                assert (view["financier"], view["advance"]) == (r["financier"], r["advance"]), rid

    @_invariant
    def invariant_value_conserved(self):
        for rid in self.ids:
            r = self.model[rid]
            if r["status"] == SPLIT:
                assert sum(self.model[c]["amount"] for c in r["children"]) == r["amount"]
        for rid in self.ids:
            if rid >= 2**64 or self.model[rid]["status"] in (CANCELLED, DECLINED):
                continue  # parts are checked through their root; a withdrawn receivable owes nothing
            outstanding, paid = self._tree_value(rid)
            assert outstanding + paid == self.model[rid]["amount"]
        for i, key in enumerate(self.keys):
            live = sum(r["amount"] for r in self.model.values() if r["invoice"] == i and r["status"] in LIVE)
            invoice = self.registry.getInvoice(key)
            assert invoice["drawn"] == live
            assert self.ledger.settledOfInvoice(key) == self.settled[i]
            assert live + self.settled[i] <= self.gross[i]

    def _tree_value(self, rid):
        """(outstanding of the live leaves, total paid) over the tree below `rid`."""
        r = self.model[rid]
        if r["status"] == SPLIT:
            values = [self._tree_value(c) for c in r["children"]]
            return sum(v[0] for v in values), sum(v[1] for v in values)
        outstanding = r["amount"] - r["paid"] if r["status"] in LIVE else 0
        return outstanding, r["paid"]

    @_invariant
    def invariant_balances_match_events(self):
        for account, expected in self.balances.items():
            assert self.token.balanceOf(account) == expected, account

    @_invariant
    def invariant_no_voided_invoice_backs_live_receivable(self):
        for i, key in enumerate(self.keys):
            if self.registry.getInvoice(key)["status"] == INV_VOIDED:
                assert i in self.voided
                assert not any(r["invoice"] == i and r["status"] in LIVE for r in self.model.values())


def test_random_receivable_sequences(
    receivable_ledger, receivable_invoices, settlement_token, merchant, holder2, holder3,
    financier, second_financier, debtor, stranger, chain,
):
    LedgerMachine.configure(
        receivable_ledger,
        receivable_invoices,
        settlement_token,
        merchant,
        [merchant, holder2, holder3],
        [financier, second_financier],
        debtor,
        stranger,
        chain,
    )
    chain.snapshot()
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,  # the same sequences on every run
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(sorted(LedgerMachine.outcomes.items()))
    succeeded = {name for (name, outcome) in LedgerMachine.outcomes if outcome == "ok"}
    assert {"create", "accept", "acceptBySignature", "transfer", "split", "pledge", "finance", "release", "settle"} <= succeeded
