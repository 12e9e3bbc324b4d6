"""SettlementToken: a plain ERC-20 in fen with a minter role; its default admin moves in two
delayed steps (AccessControlDefaultAdminRules, 2 days)."""
from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import DAY, reverts_with, reverts_with_args


def test_metadata_and_roles(settlement_token, authority):
    assert settlement_token.decimals() == 2
    assert settlement_token.symbol() == "DSY"
    assert settlement_token.totalSupply() == 0
    assert settlement_token.hasRole(settlement_token.DEFAULT_ADMIN_ROLE(), authority)
    assert settlement_token.defaultAdmin() == authority
    assert settlement_token.defaultAdminDelay() == 2 * DAY
    assert settlement_token.hasRole(settlement_token.MINTER_ROLE(), authority)


def test_minter_mints(settlement_token, authority, buyer):
    tx = settlement_token.mint(buyer, 12_345, {"from": authority})

    assert settlement_token.balanceOf(buyer) == 12_345
    assert settlement_token.totalSupply() == 12_345
    assert tx.events["Transfer"]["value"] == 12_345


def test_granted_minter_mints(settlement_token, authority, financier, buyer):
    settlement_token.grantRole(settlement_token.MINTER_ROLE(), financier, {"from": authority})

    settlement_token.mint(buyer, 100, {"from": financier})

    assert settlement_token.balanceOf(buyer) == 100


def test_stranger_cannot_mint(settlement_token, stranger):
    with reverts_with_args("AccessControlUnauthorizedAccount", stranger, settlement_token.MINTER_ROLE()):
        settlement_token.mint(stranger, 1, {"from": stranger})


def test_holder_burns_own_balance(settlement_token, authority, buyer):
    settlement_token.mint(buyer, 1_000, {"from": authority})

    settlement_token.burn(400, {"from": buyer})

    assert settlement_token.balanceOf(buyer) == 600
    assert settlement_token.totalSupply() == 600


def test_burn_more_than_balance_reverts(settlement_token, buyer):
    with reverts_with_args("ERC20InsufficientBalance", buyer, 0, 1):
        settlement_token.burn(1, {"from": buyer})


def test_transfer_from_needs_allowance(settlement_token, authority, buyer, financier, stranger):
    settlement_token.mint(buyer, 1_000, {"from": authority})
    with reverts_with_args("ERC20InsufficientAllowance", stranger, 0, 10):
        settlement_token.transferFrom(buyer, financier, 10, {"from": stranger})

    settlement_token.approve(stranger, 10, {"from": buyer})
    settlement_token.transferFrom(buyer, financier, 10, {"from": stranger})

    assert settlement_token.balanceOf(financier) == 10
    assert settlement_token.balanceOf(buyer) == 990


def test_default_admin_cannot_be_granted_in_one_step(settlement_token, authority, stranger):
    with reverts_with("AccessControlEnforcedDefaultAdminRules"):
        settlement_token.grantRole(settlement_token.DEFAULT_ADMIN_ROLE(), stranger, {"from": authority})


def test_default_admin_transfer_is_two_step_and_delayed(settlement_token, authority, financier, chain):
    settlement_token.beginDefaultAdminTransfer(financier, {"from": authority})
    _, schedule = settlement_token.pendingDefaultAdmin()
    with reverts_with_args("AccessControlEnforcedDefaultAdminDelay", schedule):
        settlement_token.acceptDefaultAdminTransfer({"from": financier})

    chain.sleep(2 * DAY + 1)
    settlement_token.acceptDefaultAdminTransfer({"from": financier})

    assert settlement_token.defaultAdmin() == financier
    assert not settlement_token.hasRole(settlement_token.DEFAULT_ADMIN_ROLE(), authority)
    settlement_token.grantRole(settlement_token.MINTER_ROLE(), financier, {"from": financier})  # the new admin grants
