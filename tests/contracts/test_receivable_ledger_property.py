"""Property test of the ReceivableLedger (contracts v2 with financing terms): random sequences of
create / accept (direct or by signature) / transfer / split / pledge offer / decline or
withdraw the offer / finance with advance and fee / release / settle (partial and full, through
the repayment waterfall) / time travel / mark overdue / mark defaulted / void attempts across
several holders and two financiers, plus the authority holding and lifting receivables and
suspending and reinstating the merchant, valid and invalid alike.

A Python model predicts the outcome of every call (success, or the custom error that must
refuse it). Where v2 adds a refusal whose order against the others is the implementation's
choice (a hold, a suspended creditor or holder), the model expects that refusal only for
a call that would otherwise succeed, and skips calls that would be refused for two reasons.

After every step the invariants compare the chain to the model and check:
- value conservation: for every root, the outstanding value of its live leaves plus
  everything paid in its tree equals the root's face value; the parts of every split sum
  to their parent's face value and carry exactly the parent's payments (allocated to the
  parts in order; a part they cover is Settled); the invoice's `drawn` equals the face value
  of its live receivables and its `settled` the face value of the settled ones, and what
  may still be drawn is open - drawn - settled;
- token balances changed only by the amounts the ledger's events reported, and token value
  is conserved: the watched accounts' total never changes and the ledger holds nothing;
- the waterfall: a financed receivable's financier has received min(payments since
  financing, advance + fee), and the holder received nothing from a payment before the
  financier was whole (checked on the token Transfer logs of each settle, in order);
- no receivable was pledged twice (a pledge event never hits a pledged receivable);
- no voided invoice backs a receivable, live or paid.

Runs on plain hypothesis (`RuleBasedStateMachine`, bounded examples and steps) with an EVM
snapshot restored before each example: brownie 1.22's compiled `state_machine` wrapper
rejects the machine class it generates (TypeError in its __init__).

Steps: the suite runs at least RECEIVABLE_SM_STEPS steps (rules executed, counted), 400 by
default: a first derandomized pass (the same sequences on every run), then random passes
until the count is reached. For the acceptance run (>= 5,000 steps):

    RECEIVABLE_SM_STEPS=5000 nice -n 19 python -m pytest --network anvil \
        tests/contracts/test_receivable_ledger_property.py -q -p no:randomly -s

It prints the steps run and the outcome counts; with RECEIVABLE_SM_RESULT=<path> it also
writes them there as JSON (`make bench-ledger-sm`: bench/results/receivable_state_machine.json).
"""
import collections
import functools
import json
import os
import random
import time

from brownie.exceptions import VirtualMachineError
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import (
    ACCEPTED,
    CANCELLED,
    CREATED,
    DAY,
    DEBTOR_KEY,
    DECLINED,
    DEFAULTED,
    HELD,
    OFFERED,
    OVERDUE,
    INV_VOIDED,
    LIVE,
    PLEDGED,
    SETTLED,
    SPLIT,
    ZERO_ADDRESS,
    allocate_parts,
    child_id,
    issue_request,
    reverts_with_args,
    sign_acceptance,
)

ZERO = ZERO_ADDRESS
INVOICE_NETS = (400_000, 100_000, 30_000)  # gross at 13 %: 452,000 / 113,000 / 33,900 fen
GRACE, DEFAULT_AFTER = 2 * DAY, 10 * DAY  # the maturity periods the authority sets
TRAVEL_DAYS = (1, 5, 20, 45)  # what one time-travel step may skip
MATURED = (OVERDUE, DEFAULTED)
STEPS = int(os.environ.get("RECEIVABLE_SM_STEPS", "400"))
STEPS_PER_EXAMPLE = 30


STRATEGIES = {
    "st_index": st.integers(0, 10**6),
    "st_account": st.integers(0, 3),
    "st_amount": st.integers(1, 200_000),
    "st_parts": st.integers(2, 4),
    "st_seed": st.integers(0, 2**32 - 1),
    "st_flag": st.booleans(),
    "st_choice": st.integers(0, 2),
    "st_odds": st.integers(0, 3),  # gates the authority's rules: they act in some steps only
}


def _rule(fn):
    """hypothesis rule drawing each argument from the strategy of the same name; rules on an
    existing receivable (those taking `st_index`) wait until one exists."""
    names = fn.__code__.co_varnames[1 : fn.__code__.co_argcount]

    @functools.wraps(fn)
    def step(self, **kwargs):
        self.changed = False
        LedgerMachine.steps += 1
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


SKIP = object()  # a call the model does not make: two refusals apply and their order is the implementation's


class LedgerMachine(RuleBasedStateMachine):
    """Rules and invariants; `configure` sets the contracts, `__init__` restores the snapshot."""

    def __init__(self):
        super().__init__()
        self.chain.revert()
        self.setup()

    @classmethod
    def configure(cls, ledger, registry, merchants, token, authority, merchant, holders, financiers, debtor, stranger, chain):
        cls.ledger, cls.registry, cls.merchants, cls.token, cls.chain = ledger, registry, merchants, token, chain
        cls.authority, cls.merchant, cls.debtor = authority, merchant, debtor
        ledger.setMaturityTimes(GRACE, DEFAULT_AFTER, {"from": authority})
        cls.keys, cls.proofs = [], []
        for net in INVOICE_NETS:
            request, _, tag, digest = issue_request(registry, merchant, chain, net=net, rate=13)
            cls.keys.append(registry.issue(request, {"from": merchant}).return_value)
            cls.proofs.append((digest, tag))
        cls.gross = [net + net * 13 // 100 for net in INVOICE_NETS]
        everyone = [authority, merchant, *holders, *financiers, debtor, stranger]
        cls.account_of = {str(a): a for a in everyone}
        cls.holders = [str(a) for a in holders]
        cls.financiers = [str(a) for a in financiers]
        cls.stranger = str(stranger)
        cls.watched = list(cls.account_of)
        # Starting population, part of the snapshot every example begins from:
        # (invoice, amount, accepted) -> ids 1, 2, 3.
        cls.initial = []
        cls.initial_due = due = chain[-1].timestamp + 20 * DAY
        for i, amount, accepted in ((0, 250_000, True), (0, 100_000, False), (1, 50_000, True)):
            rid = ledger.create(cls.keys[i], amount, due, *cls.proofs[i], {"from": merchant}).return_value
            if accepted:
                ledger.accept(rid, {"from": debtor})
            cls.initial.append((rid, i, amount, ACCEPTED if accepted else CREATED))

    def setup(self):
        self.model = {}  # id -> dict(amount, holder, status, paid, financier, advance, invoice, children, held_from)
        self.ids = []
        for rid, invoice, amount, status in self.initial:
            self._add(rid, amount, str(self.merchant), status, invoice, due=self.initial_due)
        self.voided = set()
        self.settled = [0] * len(self.keys)
        self.suspended = False
        self.balances = {a: self.token.balanceOf(a) for a in self.watched}
        self.total = sum(self.balances.values())
        self.changed = True  # invariants are re-checked only after a step that changed the chain

    # ------------------------------------------------------------ helpers

    def _add(self, rid, amount, holder, status, invoice, paid=0, due=None):
        self.model[rid] = dict(amount=amount, holder=holder, status=status, paid=paid, financier=ZERO, advance=0,
                               fee=0, repaid=0, paid_financed=0, invoice=invoice, children=[], held_from=None,
                               due=due)
        self.ids.append(rid)

    def _pick(self, index, statuses=LIVE):
        """Mostly one in `statuses`, newest first; sometimes any (closed ones exercise the refusals)."""
        live = [rid for rid in self.ids if self.model[rid]["status"] in statuses]
        if live and index % 4 != 3:
            return live[-1 - (index // 4) % len(live)]
        return self.ids[index % len(self.ids)]

    @staticmethod
    def _status(r):
        """The status the v1 rules see: a held receivable's status before the hold."""
        return r["held_from"] if r["status"] == HELD else r["status"]

    @staticmethod
    def _v2(error, *refusals):
        """The expected outcome given the v1 `error` (or None) and the v2 `refusals` that apply
        (None entries ignored): a single refusal of an otherwise valid call is expected;
        two reasons to refuse make the call a SKIP."""
        refusals = [r for r in refusals if r is not None]
        if not refusals:
            return error
        if error is None and len(refusals) == 1:
            return refusals[0]
        return SKIP

    def _on_hold(self, rid):
        return ("ReceivableOnHold", rid) if self.model[rid]["status"] == HELD else None

    def _holder_suspended(self, rid):
        holder = self.model[rid]["holder"]
        return ("HolderSuspended", rid, holder) if self.suspended and holder == str(self.merchant) else None

    def _apply_events(self, tx):
        """Moves the expected token balances by exactly what the ledger's events report."""
        for event in tx.events:
            if event.address != self.ledger.address:
                continue
            if event.name == "ReceivableFinanced":
                self._move(event["financier"], event["holder"], event["advance"])
            elif event.name == "ReceivableSettled":
                self._move(event["debtor"], event["holder"], event["amount"] - event["toFinancier"])
            elif event.name == "FinancierRepaid":
                self._move(self.debtor, event["financier"], event["amount"])
            elif event.name == "PledgeOffered":
                assert self.model[event["id"]]["status"] not in (PLEDGED, OFFERED), "pledged twice"

    def _move(self, source, target, amount):
        self.balances[str(source)] -= amount
        self.balances[str(target)] += amount

    def _transferable_error(self, rid, sender):
        r = self.model[rid]
        status = self._status(r)
        if r["holder"] != sender:
            return ("NotHolder", rid, sender)
        if status in (PLEDGED, OFFERED):
            return ("ReceivableLocked", rid, r["financier"])
        if status == CREATED:
            return ("ReceivableNotAccepted", rid)
        if status in MATURED:
            return ("ReceivableMatured", rid, status)
        if status != ACCEPTED:
            return ("ReceivableClosed", rid, status)
        return None

    def _pledged_error(self, rid):
        r = self.model[rid]
        status = self._status(r)
        if status == PLEDGED:
            return None
        if status in MATURED:
            return ("ReceivableMatured", rid, status)
        return ("ReceivableNotPledged", rid) if status in LIVE else ("ReceivableClosed", rid, status)

    def _offered_error(self, rid):
        r = self.model[rid]
        status = self._status(r)
        if status == OFFERED:
            return None
        if status == PLEDGED:
            return ("AlreadyFinanced", rid, r["financier"])
        return ("NoPledgeOffer", rid) if status in LIVE else ("ReceivableClosed", rid, status)

    @staticmethod
    def _financed(r):
        """Whether payments on `r` go through the waterfall: financed, maybe overdue since."""
        return r["financier"] != ZERO and (r["held_from"] if r["status"] == HELD else r["status"]) != OFFERED

    def _time_is(self, not_before):
        """True / False when the next block is surely after / before `not_before`, else None."""
        now = self.chain[-1].timestamp
        if now >= not_before + 60:
            return True
        if now + 600 < not_before:
            return False
        return None

    outcomes = collections.Counter()  # (function, "ok" | error name) over the whole run
    steps = 0  # rules executed over the whole run

    def _call(self, expected_error, fn, *args, sender):
        if expected_error is SKIP:
            self.outcomes[(fn.abi["name"], "skipped")] += 1
            return None
        sender = self.account_of[str(sender)]
        self.outcomes[(fn.abi["name"], expected_error[0] if expected_error else "ok")] += 1
        if expected_error is None:
            tx = fn(*args, {"from": sender})
            self.changed = True
            self._apply_events(tx)
            return tx
        with reverts_with_args(*expected_error):
            fn(*args, {"from": sender})
        return None

    def _sender(self, as_owner, choice, owner):
        """The owner, or (when `as_owner` is false and `choice` 2) a stranger. Hypothesis
        favours zero / False, so the default draws give the valid path."""
        return self.stranger if (not as_owner and choice == 2) else owner

    def _settled_in_full(self, r):
        r["status"] = SETTLED
        self.settled[r["invoice"]] += r["amount"]

    # ------------------------------------------------------------ rules

    @_rule
    def rule_create(self, st_choice, st_amount, st_flag):
        """Creates a receivable (accepted at once by the debtor unless `st_flag`)."""
        i = st_choice % len(self.keys)
        drawn = sum(r["amount"] for r in self.model.values() if r["invoice"] == i and r["status"] in LIVE)
        available = max(self.gross[i] - drawn - self.settled[i], 0)
        # a third fall due in 3 days: overdue and default are reached within an example's steps
        due = self.chain[-1].timestamp + (3 if st_amount % 3 == 0 else 30) * DAY
        amount = available + 1 if st_amount % 5 == 4 else st_amount % max(available, 1) + 1
        if i in self.voided:
            error = ("InvoiceNotEligible", self.keys[i], INV_VOIDED)
        elif amount > available:
            error = ("ExceedsInvoiceAvailable", self.keys[i], amount, available)
        else:
            error = None
        error = self._v2(error, ("CreditorNotActive", self.merchant) if self.suspended else None)
        tx = self._call(error, self.ledger.create, self.keys[i], amount, due, *self.proofs[i], sender=self.merchant)
        if tx:
            rid = tx.return_value
            assert rid == len([x for x in self.ids if x < 2**64]) + 1
            self._add(rid, amount, str(self.merchant), CREATED, i, due=due)
            if not st_flag:
                self._call(None, self.ledger.accept, rid, sender=self.debtor)
                self.model[rid]["status"] = ACCEPTED

    @_rule
    def rule_accept(self, st_index, st_flag):
        rid = self._pick(st_index)
        status = self._status(self.model[rid])
        if status == CREATED:
            error = None
        elif status in LIVE:
            error = ("ReceivableAlreadyAccepted", rid, status)
        else:
            error = ("ReceivableClosed", rid, status)
        error = self._v2(error, self._on_hold(rid))
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
        if self._call(self._v2(error, self._on_hold(rid)), self.ledger.transfer, rid, to, sender=sender):
            r["holder"] = to

    @_rule
    def rule_split(self, st_index, st_parts, st_seed, st_flag, st_choice):
        """Splits, paid or not: the parent's payments go to the parts in order."""
        rid = self._pick(st_index)
        self._split(rid, st_parts, st_seed, self._sender(st_flag, st_choice, self.model[rid]["holder"]))

    @_rule
    def rule_pay_then_split(self, st_index, st_amount, st_parts, st_seed):
        """The debtor pays part of an accepted receivable just before its holder splits it
        into parts of the face value it saw (item 9's "front-running")."""
        rid = self._pick(st_index, (ACCEPTED,))
        r = self.model[rid]
        outstanding = r["amount"] - r["paid"]
        if r["status"] != ACCEPTED or outstanding < 2:
            return
        if self._settle(rid, 1 + st_amount % (outstanding - 1)):
            self._split(rid, st_parts, st_seed, r["holder"])

    def _split(self, rid, parts, seed, sender):
        r = self.model[rid]
        if r["amount"] < parts:
            return
        cuts = sorted(random.Random(seed).sample(range(1, r["amount"]), parts - 1))
        amounts = [b - a for a, b in zip([0, *cuts], [*cuts, r["amount"]])]
        error = self._v2(self._transferable_error(rid, str(sender)), self._on_hold(rid))
        outstanding_before = self.ledger.outstandingOf(rid) if error is None else None
        tx = self._call(error, self.ledger.split, rid, amounts, sender=sender)
        if tx:
            r["status"] = SPLIT
            paid = allocate_parts(r["paid"], amounts)
            events = tx.events["ReceivableSplit"]
            for part, (amount, part_paid) in enumerate(zip(amounts, paid), start=1):
                cid = child_id(rid, part)
                assert tx.return_value[part - 1] == cid
                event = events[part - 1]
                assert (event["parentId"], event["childId"], event["amount"], event["paid"]) == (rid, cid, amount, part_paid)
                self._add(cid, amount, r["holder"], ACCEPTED, r["invoice"], paid=part_paid, due=r["due"])
                r["children"].append(cid)
                if part_paid == amount:
                    self._settled_in_full(self.model[cid])
                    self.outcomes[("split", "part born settled")] += 1
            if r["paid"]:
                self.outcomes[("split", "partly paid parent")] += 1
            assert sum(self.ledger.outstandingOf(c) for c in r["children"]) == outstanding_before

    @_rule
    def rule_pledge(self, st_index, st_account, st_flag, st_choice):
        rid = self._pick(st_index)
        r = self.model[rid]
        sender = self._sender(st_flag, st_choice, r["holder"])
        target = self.stranger if st_account == 3 else self.financiers[st_account % 2]
        error = self._transferable_error(rid, str(sender))
        if error is None and target == self.stranger:
            error = ("NotFinancier", target)
        error = self._v2(error, self._on_hold(rid), self._holder_suspended(rid))
        if self._call(error, self.ledger.pledge, rid, target, sender=sender):
            r.update(status=OFFERED, financier=str(target), advance=0, fee=0, repaid=0, paid_financed=0)

    @_rule
    def rule_offer_then_finance(self, st_index, st_amount, st_account):
        """The holder offers an accepted receivable to a financier, which finances it at once
        with a valid advance and fee (financed receivables for the waterfall and release)."""
        rid = self._pick(st_index, (ACCEPTED,))
        r = self.model[rid]
        if r["status"] != ACCEPTED or (self.suspended and r["holder"] == str(self.merchant)):
            return
        financier = self.financiers[st_account % 2]
        if self._call(None, self.ledger.pledge, rid, financier, sender=r["holder"]):
            r.update(status=OFFERED, financier=financier, advance=0, fee=0, repaid=0, paid_financed=0)
        outstanding = r["amount"] - r["paid"]
        advance = 1 + st_amount % outstanding
        fee = (st_amount // 7) % (outstanding - advance + 1)
        if self._call(None, self.ledger.finance, rid, advance, fee, sender=financier):
            r.update(status=PLEDGED, advance=advance, fee=fee)

    @_rule
    def rule_decline_or_withdraw_pledge(self, st_index, st_odds, st_choice):
        """The offered financier declines (or, odd `st_odds`, the holder withdraws) a pledge offer;
        `st_choice` 2: by someone else."""
        st_flag = st_odds % 2 == 1
        if not any(self.model[x]["status"] == OFFERED for x in self.ids):  # make an offer to answer
            ready = [x for x in self.ids if self.model[x]["status"] == ACCEPTED
                     and not (self.suspended and self.model[x]["holder"] == str(self.merchant))]
            if ready:
                x = ready[st_index % len(ready)]
                financier = self.financiers[st_choice % 2]
                if self._call(None, self.ledger.pledge, x, financier, sender=self.model[x]["holder"]):
                    self.model[x].update(status=OFFERED, financier=financier, advance=0, fee=0, repaid=0,
                                         paid_financed=0)
        rid = self._pick(st_index, (OFFERED, HELD))
        r = self.model[rid]
        error = self._offered_error(rid)
        if st_flag:
            sender = self.stranger if st_choice == 2 else r["holder"]
            if error is None and sender != r["holder"]:
                error = ("NotHolder", rid, sender)
            fn = self.ledger.withdrawPledge
        else:
            sender = self.financiers[1] if (st_choice == 2 or r["financier"] == ZERO) else r["financier"]
            if error is None and sender != r["financier"]:
                error = ("NotPledgee", rid, sender)
            fn = self.ledger.declinePledge
        tx = self._call(self._v2(error, self._on_hold(rid)), fn, rid, sender=sender)
        if tx:
            r.update(status=ACCEPTED, financier=ZERO)

    @_rule
    def rule_finance(self, st_index, st_amount, st_flag, st_choice):
        """The offered financier accepts with an advance and a fee (sometimes one fen too many
        of either, or from the other financier)."""
        rid = self._pick(st_index, (OFFERED, HELD))
        r = self.model[rid]
        sender = r["financier"] if (not st_flag and r["financier"] != ZERO) else str(self.financiers[st_amount % 2])
        outstanding = r["amount"] - r["paid"]
        advance = max(min(st_amount, outstanding), 1)
        fee = [0, (st_amount // 3) % max(outstanding - advance + 1, 1), max(outstanding - advance, 0) + 1][st_choice]
        if st_choice == 2 and st_amount % 2:  # one fen more than the unpaid amount
            advance, fee = outstanding + 1, 0
        error = self._offered_error(rid)
        if error is None and r["financier"] != sender:
            error = ("NotPledgee", rid, sender)
        elif error is None and advance > outstanding:
            error = ("AdvanceExceedsOutstanding", rid, advance, outstanding)
        elif error is None and advance + fee > outstanding:
            error = ("FeeExceedsOutstanding", rid, advance, fee, outstanding)
        error = self._v2(error, self._on_hold(rid), self._holder_suspended(rid))
        tx = self._call(error, self.ledger.finance, rid, advance, fee, sender=sender)
        if tx:
            event = tx.events["ReceivableFinanced"]
            assert (event["advance"], event["fee"], event["holder"], event["financier"]) == (advance, fee, r["holder"], sender)
            r.update(status=PLEDGED, advance=advance, fee=fee, repaid=0, paid_financed=0)

    @_rule
    def rule_release(self, st_index, st_flag):
        rid = self._pick(st_index, (PLEDGED, HELD))
        r = self.model[rid]
        sender = r["financier"] if (not st_flag and r["financier"] != ZERO) else str(self.financiers[1])
        error = self._pledged_error(rid)
        if error is None and r["financier"] != sender:
            error = ("NotPledgee", rid, sender)
        if self._call(self._v2(error, self._on_hold(rid)), self.ledger.release, rid, sender=sender):
            r.update(status=ACCEPTED, financier=ZERO, advance=0, fee=0, repaid=0, paid_financed=0)

    @_rule
    def rule_settle(self, st_index, st_amount, st_choice):
        rid = self._pick(st_index)
        r = self.model[rid]
        outstanding = r["amount"] - r["paid"]
        amount = [outstanding, min(st_amount, outstanding), outstanding + 1][st_choice]
        self._settle(rid, max(amount, 1))

    def _settle(self, rid, amount):
        r = self.model[rid]
        status = self._status(r)
        outstanding = r["amount"] - r["paid"]
        if status == CREATED:
            error = ("ReceivableNotAccepted", rid)
        elif status not in LIVE:
            error = ("ReceivableClosed", rid, status)
        elif amount > outstanding:
            error = ("SettlementExceedsOutstanding", rid, amount, outstanding)
        else:
            error = None
        tx = self._call(self._v2(error, self._on_hold(rid)), self.ledger.settle, rid, amount, sender=self.debtor)
        if tx:
            to_financier = 0
            if self._financed(r):
                to_financier = min(amount, r["advance"] + r["fee"] - r["repaid"])
                r["repaid"] += to_financier
                r["paid_financed"] += amount
                self.outcomes[("settle", "waterfall split" if 0 < to_financier < amount else
                               "to financier" if to_financier else "financier already whole")] += 1
            event = tx.events["ReceivableSettled"]
            assert (event["holder"], event["amount"], event["toFinancier"]) == (r["holder"], amount, to_financier)
            # the waterfall's order, on the token's own logs: the financier's transfer comes first,
            # and the holder receives anything only once the financier is whole
            transfers = [(t["from"], t["to"], t["value"]) for t in tx.events["Transfer"]] if "Transfer" in tx.events else []
            expected = []
            if to_financier:
                expected.append((self.debtor, r["financier"], to_financier))
            if amount > to_financier:
                assert not self._financed(r) or r["repaid"] == r["advance"] + r["fee"], "holder paid before the financier"
                expected.append((self.debtor, r["holder"], amount - to_financier))
            assert transfers == expected, (transfers, expected)
            r["paid"] += amount
            if r["paid"] == r["amount"]:
                self._settled_in_full(r)
        return tx

    @_rule
    def rule_travel(self, st_odds):
        """Time passes: 1, 5, 20 or 45 days."""
        self.chain.sleep(TRAVEL_DAYS[st_odds] * DAY)
        self.chain.mine()
        self.outcomes[("travel", TRAVEL_DAYS[st_odds])] += 1

    @_rule
    def rule_mark_overdue(self, st_index, st_flag, st_choice):
        """Holder (or, `st_flag`, the financier; `st_choice` 2: a stranger) marks a receivable overdue."""
        now = self.chain[-1].timestamp
        due = [x for x in self.ids if self.model[x]["status"] in (ACCEPTED, PLEDGED)
               and self.model[x]["due"] + GRACE + 60 < now]
        rid = due[-1 - st_index % len(due)] if due and st_index % 4 != 3 else \
            self._pick(st_index, (ACCEPTED, PLEDGED, OFFERED, HELD))
        r = self.model[rid]
        status = self._status(r)
        sender = self.stranger if st_choice == 2 else (r["financier"] if st_flag and r["financier"] != ZERO else r["holder"])
        if status == OFFERED:
            error = ("PledgeOfferPending", rid, r["financier"])
        elif status == CREATED:
            error = ("ReceivableNotAccepted", rid)
        elif status in MATURED:
            error = ("ReceivableMatured", rid, status)
        elif status not in (ACCEPTED, PLEDGED):
            error = ("ReceivableClosed", rid, status)
        elif sender != r["holder"] and not (status == PLEDGED and sender == r["financier"]):
            error = ("NotHolderOrFinancier", rid, sender)
        else:
            late = self._time_is(r["due"] + GRACE + 1)
            if late is None:
                return
            error = None if late else ("MaturityNotReached", rid, r["due"] + GRACE + 1)
        if r["status"] == HELD:
            error = ("ReceivableOnHold", rid)  # the status read first is Held
        tx = self._call(error, self.ledger.markOverdue, rid, sender=sender)
        if tx:
            assert tx.events["ReceivableOverdue"]["previous"] == status
            r["status"] = OVERDUE

    @_rule
    def rule_mark_defaulted(self, st_index, st_flag, st_choice):
        """The holder or financier (`st_flag`), or the authority (`st_choice` 1) or a stranger (2),
        declares an overdue receivable in default."""
        rid = self._pick(st_index, (OVERDUE, HELD))
        r = self.model[rid]
        status = self._status(r)
        sender = [r["financier"] if st_flag and r["financier"] != ZERO else r["holder"], str(self.authority),
                  self.stranger][st_choice]
        if status != OVERDUE:
            error = ("ReceivableNotOverdue", rid, status)
        elif sender == str(self.authority):
            error = None
        elif sender != r["holder"] and (r["financier"] == ZERO or sender != r["financier"]):
            error = ("NotHolderOrFinancier", rid, sender)
        else:
            late = self._time_is(r["due"] + GRACE + DEFAULT_AFTER + 1)
            if late is None:
                return
            error = None if late else ("MaturityNotReached", rid, r["due"] + GRACE + DEFAULT_AFTER + 1)
        if r["status"] == HELD:
            error = ("ReceivableOnHold", rid)  # read first: the status is Held
        tx = self._call(error, self.ledger.markDefaulted, rid, sender=sender)
        if tx:
            r["status"] = DEFAULTED

    @_rule
    def rule_hold(self, st_index, st_seed, st_odds):
        """The authority freezes a receivable (refused when closed or already held); in half
        the steps, so that holds stay the exception."""
        if st_odds < 2:
            return
        rid = self._pick(st_index, (CREATED, ACCEPTED, PLEDGED, OFFERED, OVERDUE, DEFAULTED))
        r = self.model[rid]
        if r["status"] == HELD:
            error = ("ReceivableOnHold", rid)
        elif r["status"] not in LIVE:
            error = ("ReceivableClosed", rid, r["status"])
        else:
            error = None
        reason = st_seed % 2**16
        tx = self._call(error, self.ledger.hold, rid, reason, sender=self.authority)
        if tx:
            event = tx.events["ReceivableHeld"]
            assert (event["reasonCode"], event["previous"]) == (reason, r["status"])
            r.update(held_from=r["status"], status=HELD)

    @_rule
    def rule_lift_hold(self, st_index):
        """The authority lifts a hold (refused on a receivable not held), once there is one."""
        if not any(self.model[rid]["status"] == HELD for rid in self.ids):
            return
        rid = self._pick(st_index, (HELD,))
        r = self.model[rid]
        error = None if r["status"] == HELD else ("ReceivableNotHeld", rid)
        if self._call(error, self.ledger.liftHold, rid, sender=self.authority):
            r.update(status=r["held_from"], held_from=None)

    @_rule
    def rule_suspend_or_reinstate(self, st_odds):
        """The authority reinstates the suspended merchant, or (one step out of four) suspends it."""
        if not self.suspended and st_odds != 3:
            return
        if self.suspended:
            self.merchants.reinstate(self.merchant, {"from": self.authority})
        else:
            self.merchants.suspend(self.merchant, "property test", {"from": self.authority})
        self.suspended = not self.suspended
        self.outcomes[("reinstate" if not self.suspended else "suspend", "ok")] += 1
        self.changed = True

    @_rule
    def rule_void(self, st_choice, st_seed):
        """The seller tries to void an invoice: refused while it backs a receivable, live or
        paid; otherwise (sometimes) voided, after which it backs no new receivable."""
        i = st_choice % len(self.keys)
        if i in self.voided or self.suspended:  # a suspended merchant may not void at all (MerchantNotActive)
            return
        drawn = sum(r["amount"] for r in self.model.values() if r["invoice"] == i and r["status"] in LIVE)
        used = drawn + self.settled[i]
        try:  # time travel closes the void window (the invoice's month): nothing to check then
            self.registry.voidInvoice.call(self.keys[i], {"from": self.merchant})
        except VirtualMachineError as e:
            if (e.revert_msg or "").startswith("VoidWindowClosed"):
                self.outcomes[("voidInvoice", "VoidWindowClosed")] += 1
                return
        if used:
            self.outcomes[("voidInvoice", "InvoiceHasReceivable")] += 1
            with reverts_with_args("InvoiceHasReceivable", self.keys[i], used):
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
            if r["status"] in (PLEDGED, OFFERED) or r["financier"] != ZERO:
                assert view["financier"] == r["financier"], rid
                assert (view["advance"], view["fee"], view["repaid"]) == (r["advance"], r["fee"], r["repaid"]), rid
            outstanding = r["amount"] - r["paid"] if r["status"] in LIVE else 0
            assert self.ledger.outstandingOf(rid) == outstanding, rid

    @_invariant
    def invariant_value_conserved(self):
        for rid in self.ids:
            r = self.model[rid]
            if r["status"] == SPLIT:
                assert sum(self.model[c]["amount"] for c in r["children"]) == r["amount"]
                born_paid = allocate_parts(r["paid"], [self.model[c]["amount"] for c in r["children"]])
                assert sum(born_paid) == r["paid"]
        for rid in self.ids:
            if rid >= 2**64 or self.model[rid]["status"] in (CANCELLED, DECLINED):
                continue  # parts are checked through their root; a withdrawn receivable owes nothing
            outstanding, paid = self._tree_value(rid)
            assert outstanding + paid == self.model[rid]["amount"]
        for i, key in enumerate(self.keys):
            live = sum(r["amount"] for r in self.model.values() if r["invoice"] == i and r["status"] in LIVE)
            settled = sum(r["amount"] for r in self.model.values() if r["invoice"] == i and r["status"] == SETTLED)
            assert settled == self.settled[i]
            invoice = self.registry.getInvoice(key)
            assert (invoice["drawn"], invoice["settled"]) == (live, settled), i
            assert live + settled <= self.gross[i]
            available = 0 if i in self.voided else self.gross[i] - live - settled
            assert self.registry.availableForReceivable(key) == available

    def _tree_value(self, rid):
        """(outstanding of the live leaves, total paid on the leaves) over the tree below `rid`;
        a split parent's own payments were handed down to its parts."""
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
        assert sum(self.balances.values()) == self.total  # token value conserved
        assert self.token.balanceOf(self.ledger) == 0  # the ledger never keeps a fen

    @_invariant
    def invariant_waterfall(self):
        """A financed receivable's financier has received min(payments since financing, advance + fee)."""
        for rid in self.ids:
            r = self.model[rid]
            if r["financier"] != ZERO and r["advance"]:
                assert r["repaid"] == min(r["paid_financed"], r["advance"] + r["fee"]), rid
                assert self.ledger.owedToFinancier(rid) == r["advance"] + r["fee"] - r["repaid"], rid

    @_invariant
    def invariant_no_voided_invoice_backs_receivable(self):
        for i, key in enumerate(self.keys):
            if self.registry.getInvoice(key)["status"] == INV_VOIDED:
                assert i in self.voided
                assert not any(r["invoice"] == i and r["status"] in (*LIVE, SETTLED) for r in self.model.values())


def test_random_receivable_sequences(
    receivable_ledger, receivable_invoices, merchant_registry, settlement_token, authority, merchant, holder2, holder3,
    financier, second_financier, debtor, stranger, chain,
):
    LedgerMachine.configure(
        receivable_ledger,
        receivable_invoices,
        merchant_registry,
        settlement_token,
        authority,
        merchant,
        [merchant, holder2, holder3],
        [financier, second_financier],
        debtor,
        stranger,
        chain,
    )
    chain.snapshot()
    LedgerMachine.steps = 0
    passes = 0
    started = time.monotonic()
    while LedgerMachine.steps < STEPS:
        remaining = STEPS - LedgerMachine.steps
        run_state_machine_as_test(
            LedgerMachine,
            settings=settings(
                max_examples=max(remaining // STEPS_PER_EXAMPLE, 1) + 5,
                stateful_step_count=STEPS_PER_EXAMPLE,
                deadline=None,
                derandomize=passes == 0,  # the first pass runs the same sequences on every run
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
        passes += 1
    print(f"\n{LedgerMachine.steps} steps in {passes} passes")
    print(sorted(LedgerMachine.outcomes.items(), key=str))
    assert LedgerMachine.steps >= STEPS
    if STEPS >= 5000:  # coverage of every rule, on the long run (the short run's passes after the first are random)
        succeeded = {name for (name, outcome) in LedgerMachine.outcomes if outcome == "ok"}
        assert {
            "create", "accept", "acceptBySignature", "transfer", "split", "pledge", "finance", "release", "settle",
            "hold", "liftHold", "suspend", "declinePledge", "withdrawPledge",
        } <= succeeded
        assert {"markOverdue", "markDefaulted"} <= succeeded
        refused = {outcome for (_, outcome) in LedgerMachine.outcomes}
        assert {"ReceivableOnHold", "HolderSuspended", "CreditorNotActive", "AdvanceExceedsOutstanding",
                "NoPledgeOffer", "MaturityNotReached"} <= refused
        assert LedgerMachine.outcomes[("split", "partly paid parent")] > 0
        assert LedgerMachine.outcomes[("settle", "waterfall split")] > 0
    if os.environ.get("RECEIVABLE_SM_RESULT"):
        with open(os.environ["RECEIVABLE_SM_RESULT"], "w") as f:
            json.dump({"steps": LedgerMachine.steps, "passes": passes, "seconds": round(time.monotonic() - started),
                       "violations": 0,  # written only when every invariant held at every step
                       "outcomes": {f"{rule} → {outcome}": n for (rule, outcome), n in
                                    sorted(LedgerMachine.outcomes.items(), key=str)}}, f, ensure_ascii=False, indent=1)
