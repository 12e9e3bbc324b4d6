"""ReceivableLedger: transfer, split, pledge, finance, release and settle, with every refusal
(the v2 regressions, incl. splits of partly paid receivables, are in
test_receivable_ledger_v2_regressions.py)."""

from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import (
    ACCEPTED,
    DAY,
    OFFERED,
    PLEDGED,
    SETTLED,
    SPLIT,
    ZERO_ADDRESS,
    child_id,
    reverts_with_args,
)

ZERO = ZERO_ADDRESS


# ---------------------------------------------------------------- transfer


def test_holder_transfers_whole(receivable_ledger, accepted, merchant, holder2, holder3):
    tx = receivable_ledger.transfer(accepted, holder2, {"from": merchant})

    assert receivable_ledger.holderOf(accepted) == holder2
    event = tx.events["ReceivableTransferred"]
    assert (event["id"], event["from"], event["to"]) == (accepted, merchant, holder2)

    receivable_ledger.transfer(accepted, holder3, {"from": holder2})
    assert receivable_ledger.holderOf(accepted) == holder3


def test_previous_holder_cannot_transfer(receivable_ledger, accepted, merchant, holder2):
    receivable_ledger.transfer(accepted, holder2, {"from": merchant})
    with reverts_with_args("NotHolder", accepted, merchant):
        receivable_ledger.transfer(accepted, merchant, {"from": merchant})


def test_transfer_by_stranger_reverts(receivable_ledger, accepted, stranger):
    with reverts_with_args("NotHolder", accepted, stranger):
        receivable_ledger.transfer(accepted, stranger, {"from": stranger})


def test_transfer_before_acceptance_reverts(receivable_ledger, new_receivable, merchant, holder2):
    rid = new_receivable(accept=False)
    with reverts_with_args("ReceivableNotAccepted", rid):
        receivable_ledger.transfer(rid, holder2, {"from": merchant})


def test_transfer_to_zero_or_self_reverts(receivable_ledger, accepted, merchant):
    with reverts_with_args("InvalidRecipient", ZERO):
        receivable_ledger.transfer(accepted, ZERO, {"from": merchant})
    with reverts_with_args("InvalidRecipient", merchant):
        receivable_ledger.transfer(accepted, merchant, {"from": merchant})


def test_transfer_of_pledged_reverts(receivable_ledger, pledged, merchant, financier, holder2):
    with reverts_with_args("ReceivableLocked", pledged, financier):
        receivable_ledger.transfer(pledged, holder2, {"from": merchant})


def test_transfer_of_unknown_reverts(receivable_ledger, merchant, holder2):
    with reverts_with_args("ReceivableNotFound", 99):
        receivable_ledger.transfer(99, holder2, {"from": merchant})


# ---------------------------------------------------------------- split


def test_split_into_two(receivable_ledger, receivable_invoices, accepted, merchant):
    tx = receivable_ledger.split(accepted, [300_000, 200_000], {"from": merchant})

    first, second = tx.return_value
    assert (first, second) == (child_id(accepted, 1), child_id(accepted, 2))
    assert receivable_ledger.statusOf(accepted) == SPLIT
    for child, amount in ((first, 300_000), (second, 200_000)):
        view = receivable_ledger.getReceivable(child)
        assert view["status"] == ACCEPTED
        assert view["amount"] == amount
        assert view["holder"] == merchant
        assert view["parentId"] == accepted and view["rootId"] == accepted
        assert view["debtor"] == receivable_ledger.getReceivable(accepted)["debtor"]
        assert view["invoiceKey"] == receivable_ledger.getReceivable(accepted)["invoiceKey"]
    events = tx.events["ReceivableSplit"]
    assert [(e["parentId"], e["childId"], e["holder"], e["amount"], e["paid"]) for e in events] == [
        (accepted, first, merchant, 300_000, 0),
        (accepted, second, merchant, 200_000, 0),
    ]
    key = receivable_ledger.getReceivable(accepted)["invoiceKey"]
    invoice = receivable_invoices.getInvoice(key)
    assert (invoice["drawn"], invoice["settled"]) == (500_000, 0)  # value conserved


def test_split_into_ten_and_again(receivable_ledger, accepted, merchant):
    parts = receivable_ledger.split(accepted, [50_000] * 10, {"from": merchant}).return_value
    assert len(parts) == 10
    assert parts[9] == receivable_ledger.childIdOf(accepted, 10)

    grandchildren = receivable_ledger.split(parts[9], [10_000, 40_000], {"from": merchant}).return_value

    leaf = grandchildren[1]
    assert receivable_ledger.parentOf(leaf) == parts[9]
    assert receivable_ledger.rootOf(leaf) == accepted
    assert receivable_ledger.parentOf(parts[9]) == accepted
    assert receivable_ledger.parentOf(accepted) == 0
    assert receivable_ledger.getReceivable(leaf)["amount"] == 40_000


def test_split_part_count_bounds(receivable_ledger, accepted, merchant):
    with reverts_with_args("InvalidPartCount", 1, 10):
        receivable_ledger.split(accepted, [500_000], {"from": merchant})
    with reverts_with_args("InvalidPartCount", 11, 10):
        receivable_ledger.split(accepted, [50_000] * 9 + [25_000, 25_000], {"from": merchant})


def test_split_amounts_must_sum_to_parent(receivable_ledger, accepted, merchant):
    with reverts_with_args("SplitAmountMismatch", 499_999, 500_000):
        receivable_ledger.split(accepted, [300_000, 199_999], {"from": merchant})
    with reverts_with_args("SplitAmountMismatch", 500_001, 500_000):
        receivable_ledger.split(accepted, [300_000, 200_001], {"from": merchant})


def test_split_zero_part_reverts(receivable_ledger, accepted, merchant):
    with reverts_with_args("InvalidAmount", 0):
        receivable_ledger.split(accepted, [500_000, 0], {"from": merchant})


def test_split_by_non_holder_reverts(receivable_ledger, accepted, stranger):
    with reverts_with_args("NotHolder", accepted, stranger):
        receivable_ledger.split(accepted, [250_000, 250_000], {"from": stranger})


def test_split_of_pledged_reverts(receivable_ledger, pledged, merchant, financier):
    with reverts_with_args("ReceivableLocked", pledged, financier):
        receivable_ledger.split(pledged, [250_000, 250_000], {"from": merchant})


def test_split_parent_is_closed(receivable_ledger, accepted, merchant, holder2, financier, debtor):
    receivable_ledger.split(accepted, [250_000, 250_000], {"from": merchant})

    with reverts_with_args("ReceivableClosed", accepted, SPLIT):
        receivable_ledger.split(accepted, [250_000, 250_000], {"from": merchant})
    with reverts_with_args("ReceivableClosed", accepted, SPLIT):
        receivable_ledger.transfer(accepted, holder2, {"from": merchant})
    with reverts_with_args("ReceivableClosed", accepted, SPLIT):
        receivable_ledger.pledge(accepted, financier, {"from": merchant})
    with reverts_with_args("ReceivableClosed", accepted, SPLIT):
        receivable_ledger.settle(accepted, 1, {"from": debtor})
    assert receivable_ledger.outstandingOf(accepted) == 0


def test_split_before_acceptance_reverts(receivable_ledger, new_receivable, merchant):
    rid = new_receivable(accept=False)
    with reverts_with_args("ReceivableNotAccepted", rid):
        receivable_ledger.split(rid, [250_000, 250_000], {"from": merchant})


def test_split_children_transfer_to_suppliers(receivable_ledger, accepted, merchant, holder2, holder3):
    first, second = receivable_ledger.split(accepted, [300_000, 200_000], {"from": merchant}).return_value
    receivable_ledger.transfer(first, holder2, {"from": merchant})
    receivable_ledger.transfer(second, holder3, {"from": merchant})

    assert receivable_ledger.holderOf(first) == holder2
    assert receivable_ledger.holderOf(second) == holder3


def test_split_depth_is_bounded(receivable_ledger, accepted):
    lineage = [accepted]
    for _ in range(48):
        lineage.append(child_id(lineage[-1], 1))
    deepest = lineage[-1]

    assert [receivable_ledger.parentOf(i) for i in lineage[1:]] == lineage[:-1]  # 48 levels below the root
    assert receivable_ledger.rootOf(deepest) == accepted
    with reverts_with_args("SplitDepthExceeded", deepest):
        receivable_ledger.childIdOf(deepest, 1)
    with reverts_with_args("InvalidPartCount", 11, 10):
        receivable_ledger.childIdOf(accepted, 11)


# ---------------------------------------------------------------- pledge / finance / release


def test_holder_pledges_to_financier(receivable_ledger, accepted, merchant, financier):
    tx = receivable_ledger.pledge(accepted, financier, {"from": merchant})

    view = receivable_ledger.getReceivable(accepted)
    assert view["status"] == OFFERED and view["financier"] == financier and view["advance"] == 0
    event = tx.events["PledgeOffered"]
    assert (event["id"], event["holder"], event["financier"]) == (accepted, merchant, financier)


def test_pledge_to_non_financier_reverts(receivable_ledger, accepted, merchant, stranger):
    with reverts_with_args("NotFinancier", stranger):
        receivable_ledger.pledge(accepted, stranger, {"from": merchant})


def test_second_pledge_reverts(receivable_ledger, pledged, offered, merchant, financier, second_financier):
    with reverts_with_args("ReceivableLocked", pledged, financier):
        receivable_ledger.pledge(pledged, second_financier, {"from": merchant})


def test_second_pledge_of_an_offered_receivable_reverts(receivable_ledger, offered, merchant, financier, second_financier):
    with reverts_with_args("ReceivableLocked", offered, financier):
        receivable_ledger.pledge(offered, second_financier, {"from": merchant})


def test_pledge_by_non_holder_reverts(receivable_ledger, accepted, financier, stranger):
    with reverts_with_args("NotHolder", accepted, stranger):
        receivable_ledger.pledge(accepted, financier, {"from": stranger})


def test_pledge_before_acceptance_reverts(receivable_ledger, new_receivable, merchant, financier):
    rid = new_receivable(accept=False)
    with reverts_with_args("ReceivableNotAccepted", rid):
        receivable_ledger.pledge(rid, financier, {"from": merchant})


def test_financier_finances_holder(receivable_ledger, settlement_token, offered, merchant, financier):
    before = settlement_token.balanceOf(financier)

    tx = receivable_ledger.finance(offered, 400_000, 20_000, {"from": financier})

    assert settlement_token.balanceOf(merchant) == 400_000
    assert settlement_token.balanceOf(financier) == before - 400_000
    view = receivable_ledger.getReceivable(offered)
    assert (view["status"], view["advance"], view["fee"], view["repaid"]) == (PLEDGED, 400_000, 20_000, 0)
    assert receivable_ledger.owedToFinancier(offered) == 420_000
    event = tx.events["ReceivableFinanced"]
    assert (event["financier"], event["holder"], event["advance"], event["fee"]) == (financier, merchant, 400_000, 20_000)


def test_advance_above_unpaid_amount_reverts(receivable_ledger, offered, financier):
    with reverts_with_args("AdvanceExceedsOutstanding", offered, 500_001, 500_000):
        receivable_ledger.finance(offered, 500_001, 0, {"from": financier})
    receivable_ledger.finance(offered, 500_000, 0, {"from": financier})
    assert receivable_ledger.getReceivable(offered)["advance"] == 500_000


def test_finance_by_other_financier_reverts(receivable_ledger, offered, second_financier):
    with reverts_with_args("NotPledgee", offered, second_financier):
        receivable_ledger.finance(offered, 1, 0, {"from": second_financier})


def test_finance_of_unpledged_reverts(receivable_ledger, accepted, financier):
    with reverts_with_args("NoPledgeOffer", accepted):
        receivable_ledger.finance(accepted, 1, 0, {"from": financier})


def test_finance_zero_reverts(receivable_ledger, offered, financier):
    with reverts_with_args("InvalidAmount", 0):
        receivable_ledger.finance(offered, 0, 0, {"from": financier})


def test_finance_without_allowance_reverts(receivable_ledger, settlement_token, offered, financier):
    settlement_token.approve(receivable_ledger, 0, {"from": financier})
    with reverts_with_args("ERC20InsufficientAllowance", receivable_ledger, 0, 1):
        receivable_ledger.finance(offered, 1, 0, {"from": financier})


def test_financier_releases(receivable_ledger, pledged, merchant, financier, holder2):
    tx = receivable_ledger.release(pledged, {"from": financier})

    view = receivable_ledger.getReceivable(pledged)
    assert view["status"] == ACCEPTED and view["financier"] == ZERO and view["advance"] == 0
    event = tx.events["PledgeReleased"]
    assert (event["id"], event["financier"], event["holder"], event["totalAdvance"]) == (
        pledged,
        financier,
        merchant,
        100_000,
    )
    receivable_ledger.transfer(pledged, holder2, {"from": merchant})  # unlocked


def test_release_then_pledge_again(receivable_ledger, pledged, merchant, financier, second_financier):
    receivable_ledger.release(pledged, {"from": financier})
    receivable_ledger.pledge(pledged, second_financier, {"from": merchant})
    view = receivable_ledger.getReceivable(pledged)
    assert (view["status"], view["financier"], view["advance"]) == (OFFERED, second_financier, 0)


def test_release_by_holder_reverts(receivable_ledger, pledged, merchant):
    with reverts_with_args("NotPledgee", pledged, merchant):
        receivable_ledger.release(pledged, {"from": merchant})


def test_release_of_unpledged_reverts(receivable_ledger, accepted, financier):
    with reverts_with_args("ReceivableNotPledged", accepted):
        receivable_ledger.release(accepted, {"from": financier})


# ---------------------------------------------------------------- settle


def test_debtor_settles_to_holder(receivable_ledger, receivable_invoices, settlement_token, accepted, merchant, debtor):
    key = receivable_ledger.getReceivable(accepted)["invoiceKey"]
    before = settlement_token.balanceOf(debtor)

    tx = receivable_ledger.settle(accepted, 500_000, {"from": debtor})

    assert receivable_ledger.statusOf(accepted) == SETTLED
    assert settlement_token.balanceOf(merchant) == 500_000
    assert settlement_token.balanceOf(debtor) == before - 500_000
    event = tx.events["ReceivableSettled"]
    assert (event["debtor"], event["holder"], event["amount"], event["toFinancier"], event["outstanding"]) == (
        debtor,
        merchant,
        500_000,
        0,
        0,
    )
    settled = tx.events["InvoiceAmountSettled"]
    assert (settled["ledger"], settled["amount"], settled["drawn"], settled["settled"]) == (
        receivable_ledger,
        500_000,
        0,
        500_000,
    )
    invoice = receivable_invoices.getInvoice(key)
    assert (invoice["drawn"], invoice["settled"]) == (0, 500_000)
    assert receivable_invoices.availableForReceivable(key) == 1_130_000 - 500_000  # settled value is not drawn again


def test_partial_payments_are_tracked(receivable_ledger, settlement_token, accepted, merchant, debtor, invoice_of):
    receivable_ledger.settle(accepted, 200_000, {"from": debtor})
    view = receivable_ledger.getReceivable(accepted)
    assert view["paid"] == 200_000 and view["status"] == ACCEPTED
    assert receivable_ledger.outstandingOf(accepted) == 300_000
    invoice = invoice_of(accepted)
    assert (invoice["drawn"], invoice["settled"]) == (500_000, 0)  # settled on the invoice only when paid in full

    tx = receivable_ledger.settle(accepted, 300_000, {"from": debtor})

    assert tx.events["ReceivableSettled"]["outstanding"] == 0
    assert receivable_ledger.statusOf(accepted) == SETTLED
    assert settlement_token.balanceOf(merchant) == 500_000


def test_settle_pledged_pays_financier_first(receivable_ledger, settlement_token, offered, merchant, financier, debtor):
    receivable_ledger.finance(offered, 450_000, 30_000, {"from": financier})
    financier_before = settlement_token.balanceOf(financier)

    tx = receivable_ledger.settle(offered, 500_000, {"from": debtor})

    event = tx.events["ReceivableSettled"]
    assert (event["holder"], event["toFinancier"]) == (merchant, 480_000)
    assert settlement_token.balanceOf(financier) == financier_before + 480_000
    assert settlement_token.balanceOf(merchant) == 450_000 + 20_000
    view = receivable_ledger.getReceivable(offered)
    assert view["status"] == SETTLED and view["financier"] == financier


def test_payment_goes_to_holder_after_release(receivable_ledger, settlement_token, pledged, merchant, financier, debtor):
    receivable_ledger.settle(pledged, 100_000, {"from": debtor})  # the financier's advance, repaid
    receivable_ledger.release(pledged, {"from": financier})

    tx = receivable_ledger.settle(pledged, 400_000, {"from": debtor})

    assert (tx.events["ReceivableSettled"]["holder"], tx.events["ReceivableSettled"]["toFinancier"]) == (merchant, 0)
    assert settlement_token.balanceOf(merchant) == 100_000 + 400_000


def test_settle_children_independently(receivable_ledger, receivable_invoices, accepted, merchant, holder2, debtor):
    key = receivable_ledger.getReceivable(accepted)["invoiceKey"]
    first, second = receivable_ledger.split(accepted, [300_000, 200_000], {"from": merchant}).return_value
    receivable_ledger.transfer(first, holder2, {"from": merchant})

    tx = receivable_ledger.settle(first, 300_000, {"from": debtor})

    assert tx.events["ReceivableSettled"]["holder"] == holder2
    assert receivable_invoices.getInvoice(key)["drawn"] == 200_000
    assert receivable_invoices.getInvoice(key)["settled"] == 300_000
    receivable_ledger.settle(second, 200_000, {"from": debtor})
    invoice = receivable_invoices.getInvoice(key)
    assert (invoice["drawn"], invoice["settled"]) == (0, 500_000)


def test_settling_more_than_owed_reverts(receivable_ledger, accepted, debtor):
    with reverts_with_args("SettlementExceedsOutstanding", accepted, 500_001, 500_000):
        receivable_ledger.settle(accepted, 500_001, {"from": debtor})
    receivable_ledger.settle(accepted, 499_000, {"from": debtor})
    with reverts_with_args("SettlementExceedsOutstanding", accepted, 1_001, 1_000):
        receivable_ledger.settle(accepted, 1_001, {"from": debtor})


def test_settle_by_non_debtor_reverts(receivable_ledger, accepted, merchant):
    with reverts_with_args("NotDebtor", accepted, merchant):
        receivable_ledger.settle(accepted, 1, {"from": merchant})


def test_settle_before_acceptance_reverts(receivable_ledger, new_receivable, debtor):
    rid = new_receivable(accept=False)
    with reverts_with_args("ReceivableNotAccepted", rid):
        receivable_ledger.settle(rid, 1, {"from": debtor})


def test_settle_zero_reverts(receivable_ledger, accepted, debtor):
    with reverts_with_args("InvalidAmount", 0):
        receivable_ledger.settle(accepted, 0, {"from": debtor})


def test_settled_receivable_is_closed(receivable_ledger, accepted, merchant, debtor, financier, holder2):
    receivable_ledger.settle(accepted, 500_000, {"from": debtor})

    with reverts_with_args("ReceivableClosed", accepted, SETTLED):
        receivable_ledger.settle(accepted, 1, {"from": debtor})
    with reverts_with_args("ReceivableClosed", accepted, SETTLED):
        receivable_ledger.transfer(accepted, holder2, {"from": merchant})
    with reverts_with_args("ReceivableClosed", accepted, SETTLED):
        receivable_ledger.pledge(accepted, financier, {"from": merchant})
    with reverts_with_args("ReceivableClosed", accepted, SETTLED):
        receivable_ledger.finance(accepted, 1, 0, {"from": financier})
    assert not receivable_ledger.isOverdue(accepted)


def test_overdue_receivable_can_still_be_settled(receivable_ledger, new_receivable, chain, debtor):
    rid = new_receivable(amount=1_000, due_in=DAY)
    chain.sleep(2 * DAY)
    chain.mine()
    assert receivable_ledger.isOverdue(rid)

    receivable_ledger.settle(rid, 1_000, {"from": debtor})

    assert not receivable_ledger.isOverdue(rid)
