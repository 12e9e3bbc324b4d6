"""Anvil's public development accounts, for dev mode only.

They are derived from Anvil's well-known test mnemonic, so no key is stored anywhere.
Never use them on a network that holds anything of value.
"""
from eth_account import Account
from eth_account.signers.local import LocalAccount

ANVIL_MNEMONIC = "test test test test test test test test test test test junk"

# Who is who on the dev chain (index into the mnemonic's accounts).
DEV_ROLES = {"authority": 0, "merchant": 1, "other_merchant": 2, "auditor": 3, "financier": 4, "buyer": 5}

Account.enable_unaudited_hdwallet_features()


def dev_account(index: int) -> LocalAccount:
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
