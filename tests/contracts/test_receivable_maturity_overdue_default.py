"""Maturity: after the due date plus the authority's grace period, the holder or the financier
(never anyone else) may mark a receivable Overdue; after the default period too, Defaulted
(the authority at any time once Overdue). Both are states with events; an overdue or
defaulted receivable can still be settled, through the waterfall."""
import pytest

from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import (
    ACCEPTED,
    DAY,
    DEFAULTED,
    OVERDUE,
    PLEDGED,
    SETTLED,
    reverts_with,
    reverts_with_args,
)

GRACE, DEFAULT_AFTER = 5 * DAY, 20 * DAY


@pytest.fixture
def periods(receivable_ledger, authority):
    receivable_ledger.setMaturityTimes(GRACE, DEFAULT_AFTER, {"from": authority})


def due_of(ledger, rid):
    return ledger.getReceivable(rid)["dueDate"]


def travel_to(chain, timestamp):
    """Mines a block at or just after `timestamp`."""
    chain.sleep(max(timestamp - chain[-1].timestamp, 0))
    chain.mine()


def test_authority_sets_the_periods(receivable_ledger, authority, merchant):
    assert [int(x) for x in receivable_ledger.maturityTimes()] == [0, 30 * DAY]  # the defaults
    tx = receivable_ledger.setMaturityTimes(GRACE, DEFAULT_AFTER, {"from": authority})
    assert [int(x) for x in receivable_ledger.maturityTimes()] == [GRACE, DEFAULT_AFTER]
    assert list(tx.events["MaturityTimesSet"].values()) == [authority, GRACE, DEFAULT_AFTER]
    with reverts_with_args("AccessControlUnauthorizedAccount", merchant, receivable_ledger.AUTHORITY_ROLE()):
        receivable_ledger.setMaturityTimes(0, 0, {"from": merchant})
    with reverts_with_args("InvalidPeriod", 3650 * DAY + 1, 3650 * DAY):
        receivable_ledger.setMaturityTimes(3650 * DAY + 1, 0, {"from": authority})


def test_mark_overdue_too_early_reverts(receivable_ledger, periods, accepted, merchant, chain):
    not_before = due_of(receivable_ledger, accepted) + GRACE + 1
    travel_to(chain, not_before - 10)  # past the due date, inside the grace period
    with reverts_with_args("MaturityNotReached", accepted, not_before):
        receivable_ledger.markOverdue(accepted, {"from": merchant})


def test_holder_marks_overdue_after_grace(receivable_ledger, periods, accepted, merchant, chain):
    due = due_of(receivable_ledger, accepted)
    travel_to(chain, due + GRACE + 1)

    tx = receivable_ledger.markOverdue(accepted, {"from": merchant})

    assert receivable_ledger.statusOf(accepted) == OVERDUE
    assert list(tx.events["ReceivableOverdue"].values()) == [accepted, merchant, due, ACCEPTED]


def test_financier_marks_its_financed_receivable_overdue(receivable_ledger, periods, pledged, financier, chain):
    travel_to(chain, due_of(receivable_ledger, pledged) + GRACE + 1)
    tx = receivable_ledger.markOverdue(pledged, {"from": financier})
    assert tx.events["ReceivableOverdue"]["previous"] == PLEDGED
    assert receivable_ledger.getReceivable(pledged)["financier"] == financier


def test_only_holder_or_financier_may_mark_overdue(
    receivable_ledger, periods, pledged, new_receivable, debtor, second_financier, financier, stranger, chain
):
    accepted = new_receivable()
    travel_to(chain, due_of(receivable_ledger, accepted) + GRACE + 1)
    for account in (debtor, second_financier, stranger):
        with reverts_with_args("NotHolderOrFinancier", pledged, account):
            receivable_ledger.markOverdue(pledged, {"from": account})
    with reverts_with_args("NotHolderOrFinancier", accepted, financier):  # not its financier
        receivable_ledger.markOverdue(accepted, {"from": financier})


def test_pending_offer_must_be_answered_before_overdue(receivable_ledger, offered, merchant, financier, chain):
    travel_to(chain, due_of(receivable_ledger, offered) + 1)
    with reverts_with_args("PledgeOfferPending", offered, financier):
        receivable_ledger.markOverdue(offered, {"from": merchant})
    receivable_ledger.declinePledge(offered, {"from": financier})
    receivable_ledger.markOverdue(offered, {"from": merchant})
    assert receivable_ledger.statusOf(offered) == OVERDUE


def test_overdue_receivable_cannot_move(receivable_ledger, accepted, merchant, holder2, financier, chain):
    travel_to(chain, due_of(receivable_ledger, accepted) + 1)
    receivable_ledger.markOverdue(accepted, {"from": merchant})
    with reverts_with_args("ReceivableMatured", accepted, OVERDUE):
        receivable_ledger.transfer(accepted, holder2, {"from": merchant})
    with reverts_with_args("ReceivableMatured", accepted, OVERDUE):
        receivable_ledger.pledge(accepted, financier, {"from": merchant})
    with reverts_with_args("ReceivableMatured", accepted, OVERDUE):
        receivable_ledger.markOverdue(accepted, {"from": merchant})


def test_settling_an_overdue_financed_receivable_follows_the_waterfall(
    receivable_ledger, settlement_token, pledged, merchant, financier, debtor, chain
):
    travel_to(chain, due_of(receivable_ledger, pledged) + 1)
    receivable_ledger.markOverdue(pledged, {"from": financier})
    f0, m0 = settlement_token.balanceOf(financier), settlement_token.balanceOf(merchant)

    receivable_ledger.settle(pledged, 60_000, {"from": debtor})
    assert (settlement_token.balanceOf(financier) - f0, settlement_token.balanceOf(merchant) - m0) == (60_000, 0)
    assert receivable_ledger.statusOf(pledged) == OVERDUE
    receivable_ledger.settle(pledged, 440_000, {"from": debtor})

    assert (settlement_token.balanceOf(financier) - f0, settlement_token.balanceOf(merchant) - m0) == (100_000, 400_000)
    assert receivable_ledger.statusOf(pledged) == SETTLED


def test_default_too_early_reverts_then_works(receivable_ledger, periods, pledged, financier, merchant, stranger, chain):
    due = due_of(receivable_ledger, pledged)
    travel_to(chain, due + GRACE + 1)
    receivable_ledger.markOverdue(pledged, {"from": merchant})
    with reverts_with_args("MaturityNotReached", pledged, due + GRACE + DEFAULT_AFTER + 1):
        receivable_ledger.markDefaulted(pledged, {"from": financier})
    travel_to(chain, due + GRACE + DEFAULT_AFTER + 1)
    with reverts_with_args("NotHolderOrFinancier", pledged, stranger):
        receivable_ledger.markDefaulted(pledged, {"from": stranger})

    tx = receivable_ledger.markDefaulted(pledged, {"from": financier})

    assert receivable_ledger.statusOf(pledged) == DEFAULTED
    assert list(tx.events["ReceivableDefaulted"].values()) == [pledged, financier, 500_000]


def test_authority_declares_default_once_overdue(receivable_ledger, accepted, authority, merchant, debtor, chain):
    with reverts_with_args("ReceivableNotOverdue", accepted, ACCEPTED):
        receivable_ledger.markDefaulted(accepted, {"from": authority})
    travel_to(chain, due_of(receivable_ledger, accepted) + 1)
    receivable_ledger.markOverdue(accepted, {"from": merchant})

    receivable_ledger.markDefaulted(accepted, {"from": authority})  # before the default period: the authority's call

    assert receivable_ledger.statusOf(accepted) == DEFAULTED
    receivable_ledger.settle(accepted, 500_000, {"from": debtor})  # a late payment still closes it
    assert receivable_ledger.statusOf(accepted) == SETTLED


def test_mark_overdue_needs_acceptance(receivable_ledger, new_receivable, merchant, chain):
    rid = new_receivable(accept=False, due_in=DAY)
    travel_to(chain, due_of(receivable_ledger, rid) + 1)
    with reverts_with_args("ReceivableNotAccepted", rid):
        receivable_ledger.markOverdue(rid, {"from": merchant})


def test_overdue_is_blocked_by_pause_and_hold(receivable_ledger, accepted, authority, merchant, chain):
    travel_to(chain, due_of(receivable_ledger, accepted) + 1)
    receivable_ledger.hold(accepted, 3, {"from": authority})
    with reverts_with_args("ReceivableOnHold", accepted):
        receivable_ledger.markOverdue(accepted, {"from": merchant})
    receivable_ledger.liftHold(accepted, {"from": authority})
    receivable_ledger.pause({"from": authority})
    with reverts_with("EnforcedPause"):
        receivable_ledger.markOverdue(accepted, {"from": merchant})
    receivable_ledger.unpause({"from": authority})
    receivable_ledger.markOverdue(accepted, {"from": merchant})
    assert receivable_ledger.statusOf(accepted) == OVERDUE
