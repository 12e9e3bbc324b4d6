"""Repayment waterfall: the debtor's payments on a financed receivable go to the financier
first, up to its advance plus fee less what it already received, the surplus to the holder,
in the same settle call; partial payments follow the same order; overpayment is refused."""
import pytest

from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import (
    PLEDGED,
    SETTLED,
    reverts_with_args,
)

ADVANCE, FEE = 400_000, 25_000  # on a face value of 500,000 fen


@pytest.fixture
def financed(receivable_ledger, offered, financier):
    receivable_ledger.finance(offered, ADVANCE, FEE, {"from": financier})
    return offered


def balances(token, *accounts):
    return [token.balanceOf(a) for a in accounts]


def test_full_payment_repays_financier_before_holder(
    receivable_ledger, settlement_token, financed, merchant, financier, debtor
):
    m0, f0, d0 = balances(settlement_token, merchant, financier, debtor)
    assert m0 == ADVANCE  # received at financing

    tx = receivable_ledger.settle(financed, 500_000, {"from": debtor})

    m1, f1, d1 = balances(settlement_token, merchant, financier, debtor)
    assert (f1 - f0, m1 - m0, d0 - d1) == (ADVANCE + FEE, 500_000 - ADVANCE - FEE, 500_000)
    transfers = [(t["from"], t["to"], t["value"]) for t in tx.events["Transfer"]]
    assert transfers == [(debtor, financier, ADVANCE + FEE), (debtor, merchant, 500_000 - ADVANCE - FEE)]  # financier first
    assert list(tx.events["FinancierRepaid"].values()) == [financed, financier, ADVANCE + FEE, 0]
    settled = tx.events["ReceivableSettled"]
    assert (settled["holder"], settled["amount"], settled["toFinancier"], settled["outstanding"]) == (
        merchant, 500_000, ADVANCE + FEE, 0)
    view = receivable_ledger.getReceivable(financed)
    assert (view["status"], view["repaid"], view["paid"]) == (SETTLED, ADVANCE + FEE, 500_000)


def test_partial_payments_fill_the_financier_first(
    receivable_ledger, settlement_token, financed, merchant, financier, debtor
):
    m0, f0 = balances(settlement_token, merchant, financier)
    steps = [(300_000, 300_000, 0), (200_000, 125_000, 75_000)]  # (paid, to financier, to holder)
    for amount, to_financier, to_holder in steps:
        tx = receivable_ledger.settle(financed, amount, {"from": debtor})
        m1, f1 = balances(settlement_token, merchant, financier)
        assert (f1 - f0, m1 - m0) == (to_financier, to_holder)
        assert tx.events["ReceivableSettled"]["toFinancier"] == to_financier
        m0, f0 = m1, f1
    assert receivable_ledger.owedToFinancier(financed) == 0
    assert receivable_ledger.statusOf(financed) == SETTLED


def test_holder_gets_nothing_until_the_financier_is_whole(
    receivable_ledger, settlement_token, financed, merchant, financier, debtor
):
    m0 = settlement_token.balanceOf(merchant)
    for _ in range(4):
        receivable_ledger.settle(financed, 100_000, {"from": debtor})
        assert settlement_token.balanceOf(merchant) == m0
    assert receivable_ledger.owedToFinancier(financed) == ADVANCE + FEE - 400_000
    receivable_ledger.settle(financed, 50_000, {"from": debtor})
    assert settlement_token.balanceOf(merchant) == m0 + 25_000
    assert receivable_ledger.getReceivable(financed)["status"] == PLEDGED
    assert receivable_ledger.outstandingOf(financed) == 50_000


def test_once_repaid_every_fen_goes_to_the_holder(
    receivable_ledger, settlement_token, financed, merchant, financier, debtor
):
    receivable_ledger.settle(financed, ADVANCE + FEE, {"from": debtor})
    f0, m0 = balances(settlement_token, financier, merchant)

    tx = receivable_ledger.settle(financed, 10_000, {"from": debtor})

    assert balances(settlement_token, financier, merchant) == [f0, m0 + 10_000]
    assert "FinancierRepaid" not in tx.events


def test_overpayment_is_refused(receivable_ledger, financed, debtor):
    receivable_ledger.settle(financed, 450_000, {"from": debtor})
    with reverts_with_args("SettlementExceedsOutstanding", financed, 50_001, 50_000):
        receivable_ledger.settle(financed, 50_001, {"from": debtor})


def test_unfinanced_offer_pays_the_holder(receivable_ledger, settlement_token, offered, merchant, financier, debtor):
    f0 = settlement_token.balanceOf(financier)
    tx = receivable_ledger.settle(offered, 100_000, {"from": debtor})
    assert settlement_token.balanceOf(merchant) == 100_000 and settlement_token.balanceOf(financier) == f0
    assert tx.events["ReceivableSettled"]["toFinancier"] == 0


def test_transferred_holder_receives_the_surplus(
    receivable_ledger, settlement_token, accepted, merchant, holder2, financier, debtor
):
    receivable_ledger.transfer(accepted, holder2, {"from": merchant})
    receivable_ledger.pledge(accepted, financier, {"from": holder2})
    receivable_ledger.finance(accepted, 300_000, 10_000, {"from": financier})

    receivable_ledger.settle(accepted, 500_000, {"from": debtor})

    assert settlement_token.balanceOf(holder2) == 300_000 + 190_000
    assert settlement_token.balanceOf(merchant) == 0
