"""Shared brownie fixtures: named accounts and the deployed MerchantRegistry.

Contract tests run on the Anvil chain brownie launches (network `development`,
127.0.0.1:8546); every test is isolated by an EVM snapshot.
"""
import pytest
from eth_utils import keccak

# Valid USCC tax IDs (check character verified).
MERCHANT_TAX_ID = "91350100M000100Y43"
OTHER_MERCHANT_TAX_ID = "91110000802100433B"
DEFAULT_LIMITS = (10_000_000_00, 50_000_000_00, 50)  # cap 10M yuan, quota 50M yuan, 50 invoices/hour


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


@pytest.fixture(scope="session")
def authority(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def merchant(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def other_merchant(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def auditor(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def financier(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def buyer(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def stranger(accounts):
    return accounts[9]


def licence_hash(number: str) -> bytes:
    return keccak(text=number)


@pytest.fixture(scope="module")
def merchant_registry(MerchantRegistry, authority):
    return MerchantRegistry.deploy(authority, {"from": authority})


@pytest.fixture(scope="module")
def approved_merchants(merchant_registry, authority, merchant, other_merchant):
    """Both merchants applied and approved with DEFAULT_LIMITS."""
    merchant_registry.applyAsMerchant("厦门示例贸易有限公司", MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})
    merchant_registry.applyAsMerchant("北京示例科技有限公司", OTHER_MERCHANT_TAX_ID, licence_hash("L-002"), {"from": other_merchant})
    merchant_registry.approve(merchant, DEFAULT_LIMITS, {"from": authority})
    merchant_registry.approve(other_merchant, DEFAULT_LIMITS, {"from": authority})
    return merchant_registry
