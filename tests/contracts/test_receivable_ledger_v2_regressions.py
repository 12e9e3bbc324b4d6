"""ReceivableLedger v2 regressions (issue 8): each test is named after what it prevents and
fails on the v1 ledger/registry.

- item 6: settlement is recorded in the registry, so a second ledger cannot draw a paid
  invoice again, a paid invoice cannot be voided and red-letter notes count it;
- item 7: a suspended merchant cannot create, pledge or be financed (documented decision:
  it may still transfer, split, cancel and be paid); reinstated, it can again;
- item 8: financing is capped by the unpaid amount, not the face value;
- item 9: payments no longer block splits (parts sum to the face value, earlier payments are
  allocated to the parts in order, a part they cover is born Settled);
- item 10: buyer claims and acceptances use separate nonces;
- item 12: the ledger is Pausable, the authority can hold one receivable, and the default
  admin moves in two delayed steps;
- item 13: the ledger's ReceivableReleased event is now PledgeReleased.
"""
from types import SimpleNamespace

import pytest

from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import (
    ACCEPTED,
    ATTESTOR_KEY,
    CANCELLED,
    CREATED,
    DAY,
    DEBTOR_KEY,
    HELD,
    PLEDGED,
    SETTLED,
    SPLIT,
    allocate_parts,
    buyer_tag,
    child_id,
    deploy_ledger,
    reverts_with,
    reverts_with_args,
    sign_acceptance,
    sign_buyer_claim,
)

GROSS = 1_130_000  # of new_invoice(): net 1,000,000 + 13 % tax


@pytest.fixture
def due(chain):
    return chain[-1].timestamp + 30 * DAY


@pytest.fixture
def deadline(chain):
    return chain[-1].timestamp + 3600


@pytest.fixture
def other_currency_ledger(ReceivableLedger, SettlementToken, receivable_invoices, authority, financier, debtor):
    """A second ReceivableLedger (another settlement currency) with LEDGER_ROLE on the same registry."""
    token = SettlementToken.deploy(authority, {"from": authority})
    return deploy_ledger(ReceivableLedger, receivable_invoices, token, authority, (financier,), debtor)


@pytest.fixture
def suspend(merchant_registry, authority):
    """suspend(account): the authority suspends the merchant."""
    return lambda account: merchant_registry.suspend(account, "under investigation", {"from": authority})


# ================================================================ item 6: settlement lives in the registry


def test_second_ledger_cannot_redraw_invoice_paid_through_first_ledger(
    receivable_ledger, other_currency_ledger, receivable_invoices, new_invoice, new_receivable, merchant, debtor, due
):
    invoice = new_invoice()
    rid = new_receivable(amount=GROSS, invoice=invoice)
    receivable_ledger.settle(rid, GROSS, {"from": debtor})

    with reverts_with_args("ExceedsInvoiceAvailable", invoice.key, 1, 0):
        other_currency_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant})

    assert receivable_invoices.availableForReceivable(invoice.key) == 0
    registered = receivable_invoices.getInvoice(invoice.key)
    assert (registered["drawn"], registered["settled"]) == (0, GROSS)


def test_second_ledger_draws_only_what_the_first_ledger_left_unpaid(
    receivable_ledger, other_currency_ledger, receivable_invoices, new_invoice, new_receivable, merchant, debtor, due
):
    invoice = new_invoice()
    rid = new_receivable(amount=500_000, invoice=invoice)
    receivable_ledger.settle(rid, 500_000, {"from": debtor})

    with reverts_with_args("ExceedsInvoiceAvailable", invoice.key, GROSS - 500_000 + 1, GROSS - 500_000):
        other_currency_ledger.create(invoice.key, GROSS - 500_000 + 1, due, *invoice.proof, {"from": merchant})
    other_currency_ledger.create(invoice.key, GROSS - 500_000, due, *invoice.proof, {"from": merchant})

    assert receivable_invoices.availableForReceivable(invoice.key) == 0


def test_paid_invoice_cannot_be_voided(receivable_ledger, receivable_invoices, accepted, merchant, debtor, invoice_of):
    receivable_ledger.settle(accepted, 500_000, {"from": debtor})
    key = invoice_of(accepted)["key"]

    with reverts_with_args("InvoiceHasReceivable", key, 500_000):
        receivable_invoices.voidInvoice(key, {"from": merchant})


def test_red_letter_cannot_reduce_invoice_below_its_settled_receivables(
    receivable_ledger, receivable_invoices, new_invoice, new_receivable, new_red_letter_note, debtor
):
    invoice = new_invoice()
    rid = new_receivable(amount=1_000_000, invoice=invoice)
    receivable_ledger.settle(rid, 1_000_000, {"from": debtor})

    with reverts_with_args("OpenAmountBelowReceivables", invoice.key, GROSS - 226_000, 1_000_000):
        new_red_letter_note(invoice, 200_000)  # 226,000 off

    new_red_letter_note(invoice, 100_000)  # 113,000 off: 1,017,000 left >= 1,000,000 paid
    assert receivable_invoices.getInvoice(invoice.key)["openAmount"] == GROSS - 113_000


# ================================================================ item 7: suspended merchants


def test_suspended_merchant_cannot_create_receivable(receivable_ledger, new_invoice, merchant, suspend, due):
    invoice = new_invoice()
    suspend(merchant)

    with reverts_with_args("CreditorNotActive", merchant):
        receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant})


def test_suspended_merchant_cannot_pledge(receivable_ledger, accepted, merchant, financier, suspend):
    suspend(merchant)

    with reverts_with_args("HolderSuspended", accepted, merchant):
        receivable_ledger.pledge(accepted, financier, {"from": merchant})


def test_suspended_merchant_cannot_be_financed(receivable_ledger, offered, merchant, financier, suspend):
    suspend(merchant)

    with reverts_with_args("HolderSuspended", offered, merchant):
        receivable_ledger.finance(offered, 1, 0, {"from": financier})


def test_suspension_does_not_trap_receivables_transfer_split_cancel_and_payment_still_work(
    receivable_ledger, settlement_token, new_receivable, merchant, holder2, debtor, suspend
):
    """Documented decision: suspension freezes the merchant's credit (create, pledge, finance),
    not its suppliers' or the debtor's rights: it may still pass receivables on, split them,
    withdraw an unaccepted one, and be paid."""
    to_transfer, to_split, to_pay = (new_receivable(amount=100_000) for _ in range(3))
    to_cancel = new_receivable(amount=100_000, accept=False)
    suspend(merchant)

    receivable_ledger.transfer(to_transfer, holder2, {"from": merchant})
    parts = receivable_ledger.split(to_split, [60_000, 40_000], {"from": merchant}).return_value
    receivable_ledger.cancel(to_cancel, {"from": merchant})
    receivable_ledger.settle(to_pay, 100_000, {"from": debtor})

    assert receivable_ledger.holderOf(to_transfer) == holder2
    assert [receivable_ledger.statusOf(p) for p in parts] == [ACCEPTED, ACCEPTED]
    assert receivable_ledger.statusOf(to_cancel) == CANCELLED
    assert receivable_ledger.statusOf(to_pay) == SETTLED
    assert settlement_token.balanceOf(merchant) == 100_000


def test_suspension_binds_the_holder_not_the_receivable(
    receivable_ledger, settlement_token, accepted, merchant, holder2, financier, suspend
):
    suspend(merchant)
    receivable_ledger.transfer(accepted, holder2, {"from": merchant})

    receivable_ledger.pledge(accepted, financier, {"from": holder2})
    receivable_ledger.finance(accepted, 100_000, 0, {"from": financier})

    assert settlement_token.balanceOf(holder2) == 100_000


def test_receivable_pledged_before_suspension_is_still_paid_to_the_financier(
    receivable_ledger, settlement_token, pledged, merchant, financier, debtor, suspend
):
    suspend(merchant)
    before = settlement_token.balanceOf(financier)

    receivable_ledger.settle(pledged, 500_000, {"from": debtor})

    assert settlement_token.balanceOf(financier) == before + 100_000  # its advance first (no fee) ...
    assert settlement_token.balanceOf(merchant) == 100_000 + 400_000  # ... the surplus to the suspended holder
    assert receivable_ledger.statusOf(pledged) == SETTLED


def test_reinstated_merchant_can_create_pledge_and_be_financed_again(
    receivable_ledger, merchant_registry, settlement_token, new_invoice, accepted, authority, merchant, financier,
    suspend, due,
):
    invoice = new_invoice()
    suspend(merchant)
    merchant_registry.reinstate(merchant, {"from": authority})

    created = receivable_ledger.create(invoice.key, 1, due, *invoice.proof, {"from": merchant}).return_value
    receivable_ledger.pledge(accepted, financier, {"from": merchant})
    receivable_ledger.finance(accepted, 100_000, 0, {"from": financier})

    assert receivable_ledger.statusOf(created) == CREATED
    assert receivable_ledger.statusOf(accepted) == PLEDGED
    assert settlement_token.balanceOf(merchant) == 100_000


# ================================================================ item 8: advance capped by the unpaid amount


def test_finance_cannot_advance_more_than_the_unpaid_amount(receivable_ledger, accepted, merchant, financier, debtor):
    receivable_ledger.settle(accepted, 200_000, {"from": debtor})
    receivable_ledger.pledge(accepted, financier, {"from": merchant})

    with reverts_with_args("AdvanceExceedsOutstanding", accepted, 300_001, 300_000):
        receivable_ledger.finance(accepted, 300_001, 0, {"from": financier})

    receivable_ledger.finance(accepted, 300_000, 0, {"from": financier})
    assert receivable_ledger.getReceivable(accepted)["advance"] == 300_000


def test_payment_during_the_offer_lowers_the_advance_cap(receivable_ledger, offered, financier, debtor):
    receivable_ledger.settle(offered, 350_000, {"from": debtor})  # paid to the holder: not yet financed

    with reverts_with_args("AdvanceExceedsOutstanding", offered, 150_001, 150_000):
        receivable_ledger.finance(offered, 150_001, 0, {"from": financier})

    receivable_ledger.finance(offered, 150_000, 0, {"from": financier})
    assert receivable_ledger.getReceivable(offered)["advance"] == 150_000


# ================================================================ item 9: splits of partly paid receivables


def test_one_fen_payment_does_not_block_split(receivable_ledger, accepted, merchant, debtor):
    receivable_ledger.settle(accepted, 1, {"from": debtor})

    first, second = receivable_ledger.split(accepted, [300_000, 200_000], {"from": merchant}).return_value

    assert receivable_ledger.statusOf(accepted) == SPLIT
    assert [receivable_ledger.getReceivable(p)["paid"] for p in (first, second)] == [1, 0]
    assert [receivable_ledger.outstandingOf(p) for p in (first, second)] == [299_999, 200_000]


def test_payment_front_running_a_split_does_not_block_it(receivable_ledger, accepted, merchant, debtor):
    amounts = [300_000, 200_000]  # what the holder prepared from the receivable's face value
    receivable_ledger.settle(accepted, 250_000, {"from": debtor})  # lands just before the split

    parts = receivable_ledger.split(accepted, amounts, {"from": merchant}).return_value

    assert [receivable_ledger.getReceivable(p)["paid"] for p in parts] == [250_000, 0]
    assert [receivable_ledger.statusOf(p) for p in parts] == [ACCEPTED, ACCEPTED]


def test_split_parts_must_sum_to_face_value_not_to_unpaid_amount(receivable_ledger, accepted, merchant, debtor):
    receivable_ledger.settle(accepted, 1, {"from": debtor})

    with reverts_with_args("SplitAmountMismatch", 499_999, 500_000):
        receivable_ledger.split(accepted, [300_000, 199_999], {"from": merchant})


def test_split_allocates_earlier_payments_to_parts_in_order(receivable_ledger, accepted, merchant, debtor):
    receivable_ledger.settle(accepted, 350_000, {"from": debtor})
    amounts = [100_000, 300_000, 100_000]

    tx = receivable_ledger.split(accepted, amounts, {"from": merchant})

    parts = tx.return_value
    assert allocate_parts(350_000, amounts) == [100_000, 250_000, 0]
    assert [(e["childId"], e["amount"], e["paid"]) for e in tx.events["ReceivableSplit"]] == [
        (parts[0], 100_000, 100_000),
        (parts[1], 300_000, 250_000),
        (parts[2], 100_000, 0),
    ]
    assert [receivable_ledger.getReceivable(p)["paid"] for p in parts] == [100_000, 250_000, 0]


def test_split_of_partly_paid_receivable_conserves_unpaid_value(
    receivable_ledger, settlement_token, accepted, merchant, debtor
):
    receivable_ledger.settle(accepted, 123_456, {"from": debtor})
    outstanding_before = receivable_ledger.outstandingOf(accepted)
    balances_before = [settlement_token.balanceOf(a) for a in (merchant, debtor)]

    parts = receivable_ledger.split(accepted, [100_000, 150_000, 250_000], {"from": merchant}).return_value

    assert sum(receivable_ledger.outstandingOf(p) for p in parts) == outstanding_before == 376_544
    assert sum(receivable_ledger.getReceivable(p)["amount"] for p in parts) == 500_000
    assert sum(receivable_ledger.getReceivable(p)["paid"] for p in parts) == 123_456
    assert [settlement_token.balanceOf(a) for a in (merchant, debtor)] == balances_before  # a split moves no money


def test_part_covered_by_earlier_payments_is_born_settled_and_counted_on_invoice(
    receivable_ledger, accepted, merchant, debtor, invoice_of
):
    receivable_ledger.settle(accepted, 300_000, {"from": debtor})

    tx = receivable_ledger.split(accepted, [300_000, 200_000], {"from": merchant})

    first, second = tx.return_value
    covered = receivable_ledger.getReceivable(first)
    assert (covered["status"], covered["amount"], covered["paid"]) == (SETTLED, 300_000, 300_000)
    assert receivable_ledger.outstandingOf(first) == 0
    assert receivable_ledger.statusOf(second) == ACCEPTED
    invoice = invoice_of(accepted)
    assert (invoice["drawn"], invoice["settled"]) == (200_000, 300_000)
    with reverts_with_args("ReceivableClosed", first, SETTLED):
        receivable_ledger.settle(first, 1, {"from": debtor})


def test_parts_paid_after_a_split_settle_the_whole_face_value_on_the_invoice(
    receivable_ledger, accepted, merchant, holder2, debtor, invoice_of
):
    receivable_ledger.settle(accepted, 150_000, {"from": debtor})
    first, second = receivable_ledger.split(accepted, [100_000, 400_000], {"from": merchant}).return_value
    receivable_ledger.transfer(second, holder2, {"from": merchant})

    receivable_ledger.settle(second, 350_000, {"from": debtor})

    assert receivable_ledger.statusOf(first) == SETTLED
    assert receivable_ledger.statusOf(second) == SETTLED
    invoice = invoice_of(accepted)
    assert (invoice["drawn"], invoice["settled"]) == (0, 500_000)


def test_split_of_partly_paid_part_allocates_its_payments_again(receivable_ledger, accepted, merchant, debtor, invoice_of):
    receivable_ledger.settle(accepted, 250_000, {"from": debtor})
    first, _ = receivable_ledger.split(accepted, [300_000, 200_000], {"from": merchant}).return_value

    grandchildren = receivable_ledger.split(first, [200_000, 100_000], {"from": merchant}).return_value

    assert list(grandchildren) == [child_id(first, 1), child_id(first, 2)]
    views = [receivable_ledger.getReceivable(g) for g in grandchildren]
    assert [(v["status"], v["paid"]) for v in views] == [(SETTLED, 200_000), (ACCEPTED, 50_000)]
    invoice = invoice_of(accepted)
    assert (invoice["drawn"], invoice["settled"]) == (300_000, 200_000)


# ================================================================ item 10: separate nonce counters


@pytest.fixture
def attesting(receivable_ledger, authority, attestor):
    receivable_ledger.grantRole(receivable_ledger.AUTHORITY_ROLE(), attestor, {"from": authority})
    return attestor


def test_relayed_buyer_claim_does_not_invalidate_pending_acceptance_signature(
    receivable_ledger, new_receivable, attesting, debtor, stranger, chain, deadline
):
    created = new_receivable(accept=False)
    acceptance = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, receivable_ledger.nonces(debtor), deadline, chain.id)
    second_tag = buyer_tag("91310000MA1SECOND1")  # e.g. a branch of the debtor's company
    claim = sign_buyer_claim(
        receivable_ledger, ATTESTOR_KEY, second_tag, debtor, receivable_ledger.claimNonces(debtor), deadline, chain.id
    )
    receivable_ledger.claimBuyer(second_tag, debtor, deadline, claim, {"from": stranger})

    receivable_ledger.acceptBySignature(created, 0, deadline, acceptance, {"from": stranger})

    assert receivable_ledger.statusOf(created) == ACCEPTED
    assert (receivable_ledger.nonces(debtor), receivable_ledger.claimNonces(debtor)) == (1, 1)


def test_acceptance_by_signature_does_not_invalidate_pending_buyer_claim(
    receivable_ledger, new_receivable, attesting, debtor, stranger, chain, deadline
):
    created = new_receivable(accept=False)
    second_tag = buyer_tag("91310000MA1SECOND1")
    claim = sign_buyer_claim(
        receivable_ledger, ATTESTOR_KEY, second_tag, debtor, receivable_ledger.claimNonces(debtor), deadline, chain.id
    )
    acceptance = sign_acceptance(receivable_ledger, DEBTOR_KEY, created, receivable_ledger.nonces(debtor), deadline, chain.id)
    receivable_ledger.acceptBySignature(created, 0, deadline, acceptance, {"from": stranger})

    tx = receivable_ledger.claimBuyer(second_tag, debtor, deadline, claim, {"from": stranger})

    assert receivable_ledger.buyerAccountOf(second_tag) == debtor
    assert tx.events["BuyerRegistered"]["attestedBy"] == attesting


# ================================================================ item 12: pause, hold, admin


@pytest.fixture
def scene(receivable_ledger, new_receivable, new_invoice, merchant, financier, debtor, holder2, chain, due, deadline):
    """One receivable in each state an operation needs, and an invoice to create on."""
    s = SimpleNamespace(
        ledger=receivable_ledger, merchant=merchant, financier=financier, debtor=debtor, holder2=holder2, due=due, deadline=deadline, invoice=new_invoice(),
        created=new_receivable(accept=False), accepted=new_receivable(), pledged=new_receivable(),
    )
    s.offered = new_receivable()
    receivable_ledger.pledge(s.offered, financier, {"from": merchant})
    receivable_ledger.pledge(s.pledged, financier, {"from": merchant})
    receivable_ledger.finance(s.pledged, 1_000, 0, {"from": financier})
    s.acceptance = sign_acceptance(receivable_ledger, DEBTOR_KEY, s.created, 0, deadline, chain.id)
    return s


OPERATIONS = {
    "create": lambda s: s.ledger.create(s.invoice.key, 1, s.due, *s.invoice.proof, {"from": s.merchant}),
    "accept": lambda s: s.ledger.accept(s.created, {"from": s.debtor}),
    "acceptBySignature": lambda s: s.ledger.acceptBySignature(s.created, 0, s.deadline, s.acceptance, {"from": s.holder2}),
    "cancel": lambda s: s.ledger.cancel(s.created, {"from": s.merchant}),
    "decline": lambda s: s.ledger.decline(s.created, {"from": s.debtor}),
    "transfer": lambda s: s.ledger.transfer(s.accepted, s.holder2, {"from": s.merchant}),
    "split": lambda s: s.ledger.split(s.accepted, [250_000, 250_000], {"from": s.merchant}),
    "pledge": lambda s: s.ledger.pledge(s.accepted, s.financier, {"from": s.merchant}),
    "settle": lambda s: s.ledger.settle(s.accepted, 1, {"from": s.debtor}),
    "finance": lambda s: s.ledger.finance(s.offered, 1, 0, {"from": s.financier}),
    "declinePledge": lambda s: s.ledger.declinePledge(s.offered, {"from": s.financier}),
    "withdrawPledge": lambda s: s.ledger.withdrawPledge(s.offered, {"from": s.merchant}),
    "release": lambda s: s.ledger.release(s.pledged, {"from": s.financier}),
    "settle_pledged": lambda s: s.ledger.settle(s.pledged, 1, {"from": s.debtor}),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_pause_blocks_receivable_operation(scene, authority, operation):
    scene.ledger.pause({"from": authority})

    with reverts_with("EnforcedPause"):
        OPERATIONS[operation](scene)


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_operation_works_again_after_unpause(scene, authority, operation):
    scene.ledger.pause({"from": authority})
    scene.ledger.unpause({"from": authority})

    OPERATIONS[operation](scene)


def test_only_authority_may_pause(receivable_ledger, merchant, financier, stranger):
    for account in (merchant, financier, stranger):
        with reverts_with_args("AccessControlUnauthorizedAccount", account, receivable_ledger.AUTHORITY_ROLE()):
            receivable_ledger.pause({"from": account})


def test_hold_and_lift_work_while_paused(receivable_ledger, accepted, authority):
    receivable_ledger.pause({"from": authority})

    receivable_ledger.hold(accepted, 3, {"from": authority})
    assert receivable_ledger.statusOf(accepted) == HELD
    receivable_ledger.liftHold(accepted, {"from": authority})

    assert receivable_ledger.statusOf(accepted) == ACCEPTED


def test_buyer_registration_works_while_paused(receivable_ledger, authority, buyer):
    tag = buyer_tag("91440300MA5PAUSED1")
    receivable_ledger.pause({"from": authority})

    receivable_ledger.registerBuyer(tag, buyer, {"from": authority})

    assert receivable_ledger.buyerAccountOf(tag) == buyer


HELD_OPERATIONS = {  # what the hold must freeze, on a receivable held in the state the operation needs
    "transfer": "accepted",
    "split": "accepted",
    "pledge": "accepted",
    "settle": "accepted",
    "finance": "offered",
    "declinePledge": "offered",
    "withdrawPledge": "offered",
    "release": "pledged",
    "settle_pledged": "pledged",
    "accept": "created",
    "acceptBySignature": "created",
    "cancel": "created",
    "decline": "created",
}


@pytest.mark.parametrize("operation", list(HELD_OPERATIONS))
def test_hold_freezes_receivable(scene, authority, operation):
    held = getattr(scene, HELD_OPERATIONS[operation])
    scene.ledger.hold(held, 1, {"from": authority})

    with reverts_with_args("ReceivableOnHold", held):
        OPERATIONS[operation](scene)


def test_hold_records_previous_status(receivable_ledger, pledged, authority, invoice_of):
    tx = receivable_ledger.hold(pledged, 7, {"from": authority})

    assert receivable_ledger.statusOf(pledged) == HELD
    event = tx.events["ReceivableHeld"]
    assert (event["id"], event["authority"], event["reasonCode"], event["previous"]) == (pledged, authority, 7, PLEDGED)
    assert invoice_of(pledged)["drawn"] == 500_000  # still backs its invoice


def test_only_authority_may_hold_or_lift(receivable_ledger, accepted, authority, merchant, financier, debtor, stranger):
    role = receivable_ledger.AUTHORITY_ROLE()
    for account in (merchant, financier, debtor, stranger):
        with reverts_with_args("AccessControlUnauthorizedAccount", account, role):
            receivable_ledger.hold(accepted, 1, {"from": account})
    receivable_ledger.hold(accepted, 1, {"from": authority})
    for account in (merchant, financier, debtor, stranger):
        with reverts_with_args("AccessControlUnauthorizedAccount", account, role):
            receivable_ledger.liftHold(accepted, {"from": account})


def test_lift_hold_restores_accepted(receivable_ledger, accepted, authority, merchant, holder2):
    receivable_ledger.hold(accepted, 1, {"from": authority})

    tx = receivable_ledger.liftHold(accepted, {"from": authority})

    assert receivable_ledger.statusOf(accepted) == ACCEPTED
    event = tx.events["ReceivableHoldLifted"]
    assert (event["id"], event["authority"], event["status"]) == (accepted, authority, ACCEPTED)
    receivable_ledger.transfer(accepted, holder2, {"from": merchant})


def test_lift_hold_restores_pledged(receivable_ledger, settlement_token, pledged, authority, merchant, financier):
    receivable_ledger.hold(pledged, 1, {"from": authority})

    receivable_ledger.liftHold(pledged, {"from": authority})

    view = receivable_ledger.getReceivable(pledged)
    assert (view["status"], view["financier"], view["advance"]) == (PLEDGED, financier, 100_000)
    receivable_ledger.release(pledged, {"from": financier})
    assert settlement_token.balanceOf(merchant) == 100_000


def test_lift_hold_of_receivable_not_held_reverts(receivable_ledger, accepted, authority):
    with reverts_with_args("ReceivableNotHeld", accepted):
        receivable_ledger.liftHold(accepted, {"from": authority})


def test_closed_receivable_cannot_be_held(receivable_ledger, accepted, authority, debtor):
    receivable_ledger.settle(accepted, 500_000, {"from": debtor})

    with reverts_with_args("ReceivableClosed", accepted, SETTLED):
        receivable_ledger.hold(accepted, 1, {"from": authority})


def test_held_receivable_cannot_be_held_twice(receivable_ledger, accepted, authority):
    receivable_ledger.hold(accepted, 1, {"from": authority})

    with reverts_with_args("ReceivableOnHold", accepted):
        receivable_ledger.hold(accepted, 2, {"from": authority})


def test_default_admin_cannot_be_granted_in_one_step(receivable_ledger, authority, stranger):
    with reverts_with("AccessControlEnforcedDefaultAdminRules"):
        receivable_ledger.grantRole(receivable_ledger.DEFAULT_ADMIN_ROLE(), stranger, {"from": authority})


def test_default_admin_transfer_is_two_step_and_delayed(receivable_ledger, authority, holder2, stranger, chain):
    admin_role = receivable_ledger.DEFAULT_ADMIN_ROLE()
    receivable_ledger.beginDefaultAdminTransfer(holder2, {"from": authority})
    pending, schedule = receivable_ledger.pendingDefaultAdmin()
    assert pending == holder2
    assert schedule == chain[-1].timestamp + 2 * DAY

    with reverts_with_args("AccessControlEnforcedDefaultAdminDelay", schedule):
        receivable_ledger.acceptDefaultAdminTransfer({"from": holder2})
    with reverts_with_args("AccessControlInvalidDefaultAdmin", stranger):
        receivable_ledger.acceptDefaultAdminTransfer({"from": stranger})

    chain.sleep(2 * DAY + 1)
    receivable_ledger.acceptDefaultAdminTransfer({"from": holder2})

    assert receivable_ledger.defaultAdmin() == holder2
    assert receivable_ledger.hasRole(admin_role, holder2)
    assert not receivable_ledger.hasRole(admin_role, authority)


# ================================================================ item 13: renamed event, dropped v1 members


def test_ledger_abi_has_pledge_released_instead_of_receivable_released(ReceivableLedger):
    events = {item["name"] for item in ReceivableLedger.abi if item["type"] == "event"}

    assert "PledgeReleased" in events
    assert "ReceivableReleased" not in events


def test_ledger_abi_drops_v1_settlement_and_split_members(ReceivableLedger):
    names = {item.get("name") for item in ReceivableLedger.abi}

    assert "settledOfInvoice" not in names  # the registry's Invoice.settled has it
    assert "ReceivablePartiallySettled" not in names  # partly paid receivables split
    assert "AdvanceExceedsFaceValue" not in names  # replaced by AdvanceExceedsOutstanding
    assert {"AdvanceExceedsOutstanding", "HolderSuspended", "ReceivableOnHold", "claimNonces"} <= names
