from tests.conftest import MERCHANT_TAX_ID


def test_approved_merchant_is_active(approved_merchants, merchant):
    assert approved_merchants.isActiveMerchant(merchant)
    assert approved_merchants.merchant(merchant)["taxId"].hex().upper().startswith(MERCHANT_TAX_ID.encode().hex().upper())
