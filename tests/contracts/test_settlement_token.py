"""SettlementToken: a plain ERC-20 in fen with a minter role."""
from tests.contracts.receivables_fixtures import *  # noqa: F401,F403
from tests.contracts.receivables_fixtures import reverts


def test_metadata_and_roles(settlement_token, authority):
    assert settlement_token.decimals() == 2
    assert settlement_token.symbol() == "DSY"
    assert settlement_token.totalSupply() == 0
    assert settlement_token.hasRole(settlement_token.DEFAULT_ADMIN_ROLE(), authority)
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
    with reverts("AccessControlUnauthorizedAccount", stranger, settlement_token.MINTER_ROLE()):
        settlement_token.mint(stranger, 1, {"from": stranger})


def test_holder_burns_own_balance(settlement_token, authority, buyer):
    settlement_token.mint(buyer, 1_000, {"from": authority})

    settlement_token.burn(400, {"from": buyer})

    assert settlement_token.balanceOf(buyer) == 600
    assert settlement_token.totalSupply() == 600


def test_burn_more_than_balance_reverts(settlement_token, buyer):
    with reverts("ERC20InsufficientBalance", buyer, 0, 1):
        settlement_token.burn(1, {"from": buyer})


def test_transfer_from_needs_allowance(settlement_token, authority, buyer, financier, stranger):
    settlement_token.mint(buyer, 1_000, {"from": authority})
    with reverts("ERC20InsufficientAllowance", stranger, 0, 10):
        settlement_token.transferFrom(buyer, financier, 10, {"from": stranger})

    settlement_token.approve(stranger, 10, {"from": buyer})
    settlement_token.transferFrom(buyer, financier, 10, {"from": stranger})

    assert settlement_token.balanceOf(financier) == 10
    assert settlement_token.balanceOf(buyer) == 990
