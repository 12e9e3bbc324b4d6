"""Shared brownie fixtures: named accounts, the deployed MerchantRegistry with both
merchants approved, and the book of invoice numbers (contracts v2).

Contract tests run on the Anvil chain brownie launches (`--network anvil`, port
TEST_CHAIN_PORT); every test is isolated by an EVM snapshot (fn_isolation). Module-scoped
fixtures run before the first test's snapshot, so what they set up stays for the module.

Numbers belong to merchants in v2: the authority allocates each merchant a range on the
InvoiceRegistry (`allocate_number_ranges`, done by the `invoice_registry` fixture for both
approved merchants) and `NUMBERS.next(seller)` hands out the seller's next number. The book
lives here, in a module that is imported once (tests/contracts/conftest.py is imported twice:
by pytest as `conftest` and by the test modules as `tests.contracts.conftest`).
"""
import itertools

import pytest
from eth_utils import keccak

# Valid USCC tax IDs (check character verified).
MERCHANT_TAX_ID = "91350100M000100Y43"
OTHER_MERCHANT_TAX_ID = "91110000802100433B"
DEFAULT_LIMITS = (10_000_000_00, 50_000_000_00, 50)  # cap 10M yuan, quota 50M yuan, 50 invoices/hour

NUMBER_PREFIX = 26440  # YY=26, region 44, channel 0
RANGE_SIZE = 10**9  # numbers allocated to each approved merchant


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


def approve_with_tag(merchant_registry, authority, account, tax_id, limits=DEFAULT_LIMITS):
    """Approves the pending `account` with `limits` and the seller tag of its own `tax_id`."""
    from tests.contracts.conftest import seller_tag  # the buyer-privacy formulas live there

    return merchant_registry.approve(account, limits, seller_tag(tax_id, account), {"from": authority})


@pytest.fixture(scope="module")
def merchant_registry(MerchantRegistry, authority):
    return MerchantRegistry.deploy(authority, {"from": authority})


@pytest.fixture(scope="module")
def approved_merchants(merchant_registry, authority, merchant, other_merchant):
    """Both merchants applied and approved with DEFAULT_LIMITS and the seller tags of their
    own tax IDs. Their number ranges are allocated on each InvoiceRegistry deployed on this
    registry (the `invoice_registry` fixture; `allocate_number_ranges` for others)."""
    merchant_registry.applyAsMerchant("厦门示例贸易有限公司", MERCHANT_TAX_ID, licence_hash("L-001"), {"from": merchant})
    merchant_registry.applyAsMerchant("北京示例科技有限公司", OTHER_MERCHANT_TAX_ID, licence_hash("L-002"), {"from": other_merchant})
    approve_with_tag(merchant_registry, authority, merchant, MERCHANT_TAX_ID)
    approve_with_tag(merchant_registry, authority, other_merchant, OTHER_MERCHANT_TAX_ID)
    return merchant_registry


class NumberBook:
    """Hands out invoice numbers from the sellers' allocated ranges.

    The range is read from the registry on every draw (a reallocation inside a test is seen,
    a snapshot revert too); a run-wide serial picks the offset in it, so two draws never give
    the same number unless a range is smaller than the draws made from it."""

    def __init__(self):
        self.registry = None  # the InvoiceRegistry of the module running
        self.default_seller = None
        self._serial = itertools.count(0)

    def use(self, registry, default_seller):
        self.registry, self.default_seller = registry, default_seller

    def next(self, seller=None, registry=None) -> str:
        registry = registry or self.registry
        seller = seller or self.default_seller
        assert registry is not None, "no InvoiceRegistry: request the invoice_registry fixture"
        first, last = registry.numberRangeOf(seller)
        assert first != 0, f"no number range allocated to {seller}"
        return f"{first + next(self._serial) % (last - first + 1):020d}"


NUMBERS = NumberBook()


def allocate_number_ranges(invoice_registry, authority, sellers, prefix=NUMBER_PREFIX, count=RANGE_SIZE):
    """The authority allocates `count` numbers under `prefix` to each seller (in order, so the
    ranges are adjacent); returns {seller address: (first, last)}."""
    ranges = {}
    for seller in sellers:
        tx = invoice_registry.allocateNumberRange(seller, prefix, count, {"from": authority})
        ranges[str(seller)] = tuple(tx.return_value)
    return ranges
