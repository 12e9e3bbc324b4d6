"""Financier consent: a pledge is only an offer. Nobody becomes a financier's counterparty
until the financier itself finances the receivable; it may decline instead, which gives the
receivable back to its holder unencumbered, and the holder may withdraw an unanswered offer."""
from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import (
    ACCEPTED,
    OFFERED,
    PLEDGED,
    ZERO_ADDRESS,
    reverts_with_args,
)


def test_pledge_is_an_offer_that_moves_no_money(receivable_ledger, settlement_token, accepted, merchant, financier):
    before = (settlement_token.balanceOf(merchant), settlement_token.balanceOf(financier))

    tx = receivable_ledger.pledge(accepted, financier, {"from": merchant})

    view = receivable_ledger.getReceivable(accepted)
    assert (view["status"], view["financier"], view["advance"], view["fee"]) == (OFFERED, financier, 0, 0)
    assert (settlement_token.balanceOf(merchant), settlement_token.balanceOf(financier)) == before
    assert receivable_ledger.owedToFinancier(accepted) == 0
    assert list(tx.events["PledgeOffered"].values()) == [accepted, merchant, financier]


def test_finance_without_an_offer_reverts(receivable_ledger, accepted, financier):
    with reverts_with_args("NoPledgeOffer", accepted):
        receivable_ledger.finance(accepted, 100_000, 0, {"from": financier})


def test_finance_of_an_offer_to_another_financier_reverts(receivable_ledger, offered, second_financier):
    with reverts_with_args("NotPledgee", offered, second_financier):
        receivable_ledger.finance(offered, 100_000, 0, {"from": second_financier})


def test_financing_twice_reverts(receivable_ledger, pledged, financier):
    with reverts_with_args("AlreadyFinanced", pledged, financier):
        receivable_ledger.finance(pledged, 1, 0, {"from": financier})


def test_decline_frees_the_receivable(receivable_ledger, offered, merchant, financier, holder2):
    tx = receivable_ledger.declinePledge(offered, {"from": financier})

    view = receivable_ledger.getReceivable(offered)
    assert (view["status"], view["financier"], view["advance"]) == (ACCEPTED, ZERO_ADDRESS, 0)
    assert list(tx.events["PledgeDeclined"].values()) == [offered, financier, merchant]
    receivable_ledger.transfer(offered, holder2, {"from": merchant})  # unencumbered: transferable again
    assert receivable_ledger.holderOf(offered) == holder2


def test_declined_offer_cannot_be_financed(receivable_ledger, offered, financier):
    receivable_ledger.declinePledge(offered, {"from": financier})

    with reverts_with_args("NoPledgeOffer", offered):
        receivable_ledger.finance(offered, 100_000, 0, {"from": financier})


def test_declined_offer_can_be_offered_to_another_financier(
    receivable_ledger, settlement_token, offered, merchant, financier, second_financier
):
    receivable_ledger.declinePledge(offered, {"from": financier})
    receivable_ledger.pledge(offered, second_financier, {"from": merchant})

    receivable_ledger.finance(offered, 200_000, 5_000, {"from": second_financier})

    view = receivable_ledger.getReceivable(offered)
    assert (view["status"], view["financier"], view["advance"], view["fee"]) == (PLEDGED, second_financier, 200_000, 5_000)
    assert settlement_token.balanceOf(merchant) == 200_000


def test_only_the_offered_financier_may_decline(receivable_ledger, offered, merchant, second_financier):
    for account in (merchant, second_financier):
        with reverts_with_args("NotPledgee", offered, account):
            receivable_ledger.declinePledge(offered, {"from": account})


def test_decline_needs_an_offer(receivable_ledger, accepted, pledged, financier):
    with reverts_with_args("AlreadyFinanced", pledged, financier):
        receivable_ledger.declinePledge(pledged, {"from": financier})


def test_holder_withdraws_an_unanswered_offer(receivable_ledger, offered, merchant, financier, stranger):
    with reverts_with_args("NotHolder", offered, stranger):
        receivable_ledger.withdrawPledge(offered, {"from": stranger})

    tx = receivable_ledger.withdrawPledge(offered, {"from": merchant})

    assert receivable_ledger.statusOf(offered) == ACCEPTED
    assert list(tx.events["PledgeWithdrawn"].values()) == [offered, merchant, financier]
    with reverts_with_args("NoPledgeOffer", offered):
        receivable_ledger.finance(offered, 1, 0, {"from": financier})


def test_offered_receivable_is_locked(receivable_ledger, offered, merchant, financier, holder2):
    with reverts_with_args("ReceivableLocked", offered, financier):
        receivable_ledger.transfer(offered, holder2, {"from": merchant})
    with reverts_with_args("ReceivableLocked", offered, financier):
        receivable_ledger.split(offered, [1, 499_999], {"from": merchant})


def test_revoked_financier_cannot_accept_an_old_offer(receivable_ledger, offered, authority, financier):
    receivable_ledger.revokeRole(receivable_ledger.FINANCIER_ROLE(), financier, {"from": authority})

    with reverts_with_args("NotFinancier", financier):
        receivable_ledger.finance(offered, 1, 0, {"from": financier})
    receivable_ledger.declinePledge(offered, {"from": financier})  # it may still say no


def test_fee_beyond_the_unpaid_amount_reverts(receivable_ledger, offered, financier):
    with reverts_with_args("FeeExceedsOutstanding", offered, 400_000, 100_001, 500_000):
        receivable_ledger.finance(offered, 400_000, 100_001, {"from": financier})
    with reverts_with_args("AdvanceExceedsOutstanding", offered, 500_001, 500_000):
        receivable_ledger.finance(offered, 500_001, 0, {"from": financier})

    tx = receivable_ledger.finance(offered, 400_000, 100_000, {"from": financier})

    assert list(tx.events["ReceivableFinanced"].values()) == [offered, financier, receivable_ledger.holderOf(offered), 400_000, 100_000]
