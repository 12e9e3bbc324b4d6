"""Buyer privacy formulas (backend/core/buyer_privacy.py) computed independently here, as the
spec writes them; the chain agrees with them in test_backend_v2 (buyerCommitmentOf,
verifyBuyer, the self-dealing flag through seller tags)."""
import hashlib
import hmac

import pytest
from eth_abi import encode
from eth_utils import keccak

from backend.core import buyer_privacy as bp

KEY = bytes(range(32))
TAX_ID = "91530100MA6K0002XU"
SELLER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_buyer_tag_is_hmac_sha256_of_the_upper_cased_tax_id():
    expected = hmac.new(KEY, b"einvoice-buyer-tag:91530100MA6K0002XU", hashlib.sha256).digest()
    assert bp.buyer_tag(TAX_ID, KEY) == expected
    assert bp.buyer_tag(" 91530100ma6k0002xu ", KEY) == expected  # normalised
    assert bp.buyer_tag(TAX_ID, KEY[::-1]) != expected  # keyed
    assert len(expected) == 32


def test_digest_commitment_and_seller_scoped_tag():
    salt, tag = b"\x01" * 32, bp.buyer_tag(TAX_ID, KEY)
    digest = keccak(encode(["bytes32", "bytes32"], [salt, keccak(TAX_ID.encode())]))
    commitment = keccak(encode(["bytes32", "bytes32"], [digest, tag]))[:20]
    assert bp.buyer_digest(salt, TAX_ID) == digest
    assert bp.commitment_of(salt, TAX_ID, tag) == (commitment, digest) and len(commitment) == 20
    self_dealing = hmac.new(KEY, b"einvoice-self-dealing-tag:" + TAX_ID.encode(), hashlib.sha256).digest()
    for_seller = keccak(encode(["bytes32", "address"], [self_dealing, SELLER]))[:12]
    assert bp.buyer_tag_for_seller(TAX_ID, SELLER.lower(), KEY) == for_seller and len(for_seller) == 12
    assert bp.seller_tag(TAX_ID, SELLER, KEY) == for_seller  # a merchant's own tag = its tax ID as a buyer's
    # the published buyer tag does not give the calldata value away (a registered buyer stays unlinkable)
    assert keccak(encode(["bytes32", "address"], [tag, SELLER]))[:12] != for_seller
    assert bp.commitment_of(b"\x02" * 32, TAX_ID, tag)[0] != commitment  # a fresh salt, another commitment


def test_fresh_salts():
    salts = {bp.new_salt() for _ in range(100)}
    assert len(salts) == 100 and all(len(s) == 32 for s in salts)


def test_dev_key_vector():
    """A fixed vector for other implementations (dev key only: public, proves nothing)."""
    key = bp.parse_key(bp.DEV_BUYER_TAG_KEY)
    assert key == b"einvoice-dev-buyer-tag-key-NOT-FOR-PRODUCTION"
    assert bp.buyer_tag(TAX_ID, key).hex() == hmac.new(key, b"einvoice-buyer-tag:" + TAX_ID.encode(),
                                                       hashlib.sha256).hexdigest()


@pytest.mark.parametrize("value,key", [
    ("0x" + "ab" * 32, bytes.fromhex("ab" * 32)),
    ("hex:" + "cd" * 16, bytes.fromhex("cd" * 16)),
    ("operator passphrase, long enough", b"operator passphrase, long enough"),
    (b"\x00" * 16, b"\x00" * 16),
])
def test_parse_key(value, key):
    assert bp.parse_key(value) == key


@pytest.mark.parametrize("value", ["0x1234", "too-short", "0xnothexnothexnothexnothexnothex00", 42])
def test_parse_key_refuses(value):
    with pytest.raises(bp.BuyerKeyError):
        bp.parse_key(value)


def test_document_buyer():
    doc = {"buyer": {"name": "B", "tax_id": TAX_ID, "salt": "0x" + "11" * 32, "tag": "0x" + "22" * 32}}
    assert bp.document_buyer(doc) == (b"\x11" * 32, b"\x22" * 32)
    with pytest.raises(ValueError):
        bp.document_buyer({"buyer": {"name": "B", "tax_id": TAX_ID}})  # a version 1 document
