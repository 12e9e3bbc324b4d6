"""Chain errors: the exception types, the contracts' custom errors decoded into a name, its
arguments and a human message (Chinese, then English), and which of them are conflicts or
refusals of permission."""
from datetime import datetime

import requests
from eth_utils import keccak

from ..core.canonical import CHINA, yuan


class ChainError(Exception):
    """Base: the chain is unavailable or misconfigured."""


class ChainUnavailable(ChainError):
    pass


class ChainRefusal(ChainError):
    """A call or transaction reverted. ``name`` is the custom error's name."""

    def __init__(self, name, args=None, message=None, contract=None):
        self.name = name
        self.args_ = args or {}
        self.contract = contract
        self.message = message or name
        super().__init__(self.message)

    def to_dict(self):
        return {"error": self.name, "message": self.message, "args": jsonable(self.args_)}


# Human messages for the custom errors of the platform contracts (v2 interfaces and the
# OpenZeppelin errors they inherit), Chinese first, then English. Format fields are the
# error's arguments; ``:yuan`` shows fen as yuan (¥1,234.56), ``:mstatus``/``:istatus``/
# ``:rstatus`` (``_zh`` for Chinese) name an enum value, ``:mask``/``:mask_zh`` lists the rates of a rate
# mask, ``:role`` names a role, ``:time`` shows unix seconds in China time. Other errors
# fall back to "Name(arg=value, ...)".
MESSAGES = {
    # MerchantRegistry
    "InvalidTaxId": "税号 {taxId} 不是带有效校验位的18位统一社会信用代码。"
                    "The tax ID {taxId} is not an 18-character USCC with a valid check character.",
    "InvalidMerchantName": "商户名称为空或过长（{length} 字节，最多 {maxLength}）。"
                           "The merchant name is empty or too long ({length} bytes, at most {maxLength}).",
    "MissingLicenceHash": "缺少营业执照号。The business licence number is missing.",
    "MerchantAlreadyRegistered": "账户 {account} 已有商户申请或登记。"
                                 "The account {account} already has a merchant application or registration.",
    "TaxIdAlreadyRegistered": "该税号已属于另一家已批准的商户（{holder}）。"
                              "This tax ID already belongs to another approved merchant ({holder}).",
    "InvalidMerchantStatus": "商户状态为“{actual:mstatus_zh}”，此操作需要“{expected:mstatus_zh}”。"
                             "The merchant is {actual:mstatus} where this needs {expected:mstatus}.",
    "InvalidMerchantLimits": "限额必须大于零，且月度限额不低于单张发票上限（单张上限 {invoiceCap:yuan}，月度限额 "
                             "{monthlyQuota:yuan}，每小时 {hourlyNorm} 张）。Limits must be non-zero and the monthly "
                             "quota at least the invoice cap (cap {invoiceCap:yuan}, monthly quota {monthlyQuota:yuan}, "
                             "{hourlyNorm}/hour).",
    "MissingSellerTag": "批准商户时缺少销售方标签。The seller tag given at approval is missing (zero).",
    "InvalidOperator": "该账户不能设为开票员（零地址或商户本身）。"
                       "This account cannot be made an operator (zero address or the merchant itself).",
    # OpenZeppelin: AccessControl, AccessControlDefaultAdminRules, Pausable
    "AccessControlUnauthorizedAccount": "账户 {account} 没有此操作所需的角色 {neededRole:role}。"
                                        "The account {account} lacks the role {neededRole:role} this action needs.",
    "AccessControlBadConfirmation": "只能由账户本人放弃自己的角色。A role can only be renounced by the account itself.",
    "AccessControlEnforcedDefaultAdminRules": "默认管理员角色不能直接授予或撤销，只能延时转移（发起转移、等待延时、"
                                              "由新管理员接受）。DEFAULT_ADMIN_ROLE cannot be granted or revoked "
                                              "directly: it moves by a delayed transfer (begin, wait, accept).",
    "AccessControlInvalidDefaultAdmin": "{defaultAdmin} 不是待接受的默认管理员（或为零地址）。"
                                        "{defaultAdmin} is not the pending default admin (or is the zero address).",
    "AccessControlEnforcedDefaultAdminDelay": "默认管理员转移的等待期未满（{schedule:time} 后才能接受）。"
                                              "The default admin transfer's delay has not passed (it can be "
                                              "accepted after {schedule:time}).",
    "EnforcedPause": "合约已被税务机关暂停，请在恢复后重试。The contract is paused by the authority; try again when "
                     "it resumes.",
    "ExpectedPause": "合约未处于暂停状态。The contract is not paused.",
    # InvoiceRegistry
    "MerchantNotActive": "销售方不是已批准且正常的商户（状态：{merchantStatus:mstatus_zh}）。"
                         "The seller is not an approved, active merchant (status {merchantStatus:mstatus}).",
    "NotMerchantOrOperator": "调用方 {caller} 不能代表该商户操作。The caller {caller} may not act for this merchant.",
    "InvalidInvoiceNumber": "发票号码 {number} 不是20位数字。The invoice number {number} is not a 20-digit decimal "
                            "string.",
    "NumberNotInSellerRange": "发票号码 {number} 不在销售方的号段 {first}–{last} 内（0–0 表示尚未分配号段）。"
                              "The invoice number {number} is not in the seller's range {first}–{last} "
                              "(0–0: none allocated).",
    "InvalidNumberRange": "号段无效：前缀须为5位数字，数量须在 1 至 {available} 之间（前缀 {prefix}，数量 {count}）。"
                          "A number range needs a 5-digit prefix and 1..{available} numbers (prefix {prefix}, "
                          "count {count}).",
    "InvoiceAlreadyRegistered": "该发票号码已登记。This invoice number is already registered.",
    "InvoiceNotFound": "链上没有该号码的发票。No invoice with this number on chain.",
    "GrossMismatch": "价税合计 {gross:yuan} 必须等于金额 {net:yuan} 加税额 {tax:yuan}。"
                     "Gross ({gross:yuan}) must equal net ({net:yuan}) + tax ({tax:yuan}).",
    "RateGroupTotalsMismatch": "合计与各税率分组之和不符：金额 {net:yuan}（分组合计 {groupsNet:yuan}），税额 {tax:yuan}"
                               "（分组合计 {groupsTax:yuan}）。The totals are not the sums of the rate groups: net "
                               "{net:yuan} (groups {groupsNet:yuan}), tax {tax:yuan} (groups {groupsTax:yuan}).",
    "InvalidRateGroups": "税率分组无效：须有 1 至 24 组且税率严格递增（共 {groupCount} 组，在 {rate}% 处出错）。"
                         "An invoice needs 1..24 rate groups in strictly ascending rate order ({groupCount} groups; "
                         "{rate}% breaks it).",
    "ZeroAmount": "价税合计为零。The gross amount is zero.",
    "AmountTooLarge": "金额 {amount:yuan} 过大。The amount {amount:yuan} is too large.",
    "TaxOutOfTolerance": "{rate}% 税率分组的税额 {tax:yuan} 与金额 {net:yuan} × {rate}% 相差超过容差 {tolerance:yuan}。"
                         "The tax {tax:yuan} of the {rate}% group differs from net {net:yuan} × {rate}% by more than "
                         "the tolerance of {tolerance:yuan}.",
    "RateNotAllowed": "不允许 {rate}% 税率。The tax rate {rate}% is not allowed.",
    "InvalidItemCount": "明细行数无效：每个税率分组至少一行，整张发票最多 {maxItems} 行（{itemCount}）。"
                        "Each rate group needs at least one line item and the invoice at most {maxItems} "
                        "({itemCount}).",
    "InvalidInvoiceType": "发票类型须为 0（普通发票）或 1（增值税专用发票）。"
                          "The invoice type must be 0 (ordinary) or 1 (special VAT).",
    "MissingDocumentHash": "缺少文件哈希。The document hash is missing.",
    "IssueTimeInFuture": "开票时间晚于当前时间。The issue time is in the future.",
    "IssueTimeTooOld": "开票日期早于允许的补开期限。The issue date is older than the backdating window allows.",
    "InvoiceCapExceeded": "价税合计 {gross:yuan} 超过该商户的单张发票上限 {cap:yuan}。"
                          "The gross amount {gross:yuan} is above the merchant's per-invoice cap of {cap:yuan}.",
    "InvalidBatchSize": "批量开票须含 1 至 {maxSize} 张发票（收到 {size} 张）。"
                        "A batch holds 1..{maxSize} invoices ({size} given).",
    "BatchSellerMismatch": "批量中第 {index} 张发票的销售方 {seller} 与第一张不同：一批只能属于一个销售方。"
                           "Request {index} of the batch has another seller ({seller}) than the first.",
    "InvalidInvoiceStatus": "发票状态（{status:istatus_zh}）不允许此操作。"
                            "The invoice's status ({status:istatus}) does not allow this action.",
    "IsRedLetterNote": "这是一张红字发票：不能作废、红冲或融资。"
                       "This is a red-letter note: it cannot be voided, red-lettered or financed.",
    "VoidWindowClosed": "作废期限已过：发票只能在开具当月作废，请改为开具红字发票。"
                        "The void window has closed: an invoice can be voided only within its issue month; "
                        "issue a red-letter note instead.",
    "InvoiceHasReceivable": "该发票支持着应收账款（{receivables:yuan}，含已结清部分），不能作废。"
                            "Receivables ({receivables:yuan}, live or paid) are backed by this invoice: it cannot "
                            "be voided.",
    "InvoiceHasRedLetterNotes": "该发票已被红字发票冲减 {redLettered:yuan}，不能作废。"
                                "Red-letter notes ({redLettered:yuan}) already reduce this invoice: it cannot be "
                                "voided.",
    "RedLetterExceedsOpenAmount": "红字金额 {amount:yuan} 超过原发票的未冲销金额 {openAmount:yuan}。"
                                  "The note amount {amount:yuan} is over the open amount {openAmount:yuan} of the "
                                  "original.",
    "OpenAmountBelowReceivables": "红冲后未冲销金额 {openAmount:yuan} 将低于该发票支持的应收账款 {receivables:yuan}。"
                                  "The note would leave the open amount ({openAmount:yuan}) below the receivables "
                                  "on the invoice ({receivables:yuan}).",
    "SellerMismatch": "红字发票的销售方必须与原发票相同。A red-letter note must have the original's seller.",
    "BuyerMismatch": "红字发票的购买方必须与原发票相同（购买方承诺不符）。"
                     "A red-letter note must have the original's buyer (the buyer commitment differs).",
    "RateMismatch": "红字发票只能含原发票已有的税率（原发票：{expectedMask:mask_zh}；红字发票：{actualMask:mask_zh}）。"
                    "A red-letter note may only have the original's rates (original: {expectedMask:mask}; "
                    "note: {actualMask:mask}).",
    "DocumentAlreadyRegistered": "该销售方已登记过此文件（红字发票需要新的文件）。"
                                 "This seller already registered this document (a red-letter note needs a new "
                                 "document).",
    "DrawExceedsAvailable": "占用金额 {amount:yuan} 超过发票的可用金额 {available:yuan}。"
                            "The amount {amount:yuan} is over the invoice's available {available:yuan}.",
    "ReleaseExceedsDrawn": "释放或结清金额 {amount:yuan} 超过已占用金额 {drawn:yuan}。"
                           "The amount {amount:yuan} released or settled is over the {drawn:yuan} drawn.",
    "InvalidAllowedRates": "允许税率设置无效：不能为空，且只能使用 0–23%。"
                           "The allowed rates must be non-empty and use rates 0..23 % only.",
    "InvalidIssueTimeWindow": "补开期限必须大于零。The backdating window must be non-zero.",
    # ReceivableLedger
    "ReceivableNotFound": "没有编号为 {id} 的应收账款。No receivable {id}.",
    "NotHolder": "{account} 不是应收账款 {id} 的持有人。{account} is not the holder of receivable {id}.",
    "NotDebtor": "{account} 不是应收账款 {id} 的债务人。{account} is not the debtor of receivable {id}.",
    "NotPledgee": "{account} 不是应收账款 {id} 的质权人。{account} is not the financier receivable {id} is "
                  "pledged to.",
    "NotFinancier": "{account} 没有金融机构角色。{account} lacks FINANCIER_ROLE.",
    "NotInvoiceSeller": "{account} 不是该发票的销售方。{account} is not the seller of this invoice.",
    "CreditorNotActive": "{account} 不是已批准且正常的商户，不能创建应收账款。"
                         "{account} is not an approved, active merchant: it may not create receivables.",
    "HolderSuspended": "应收账款 {id} 的持有人 {account} 是已暂停的商户：不能质押或融资。"
                       "The holder {account} of receivable {id} is a suspended merchant: no pledge or financing.",
    "InvoiceNotEligible": "发票状态为“{status:istatus_zh}”：只有已开具或审核通过的发票可支持应收账款。"
                          "The invoice is {status:istatus}: only Issued or Cleared invoices back receivables.",
    "ExceedsInvoiceAvailable": "金额 {amount:yuan} 超过发票可用于应收账款的金额 {available:yuan}（未冲销金额减去已占用和"
                               "已结清部分）。The amount {amount:yuan} exceeds the {available:yuan} of the invoice "
                               "still available (open amount minus receivables drawn and settled).",
    "BuyerProofMismatch": "购买方证明与发票的购买方承诺不符。"
                          "The buyer digest and tag do not open the invoice's buyer commitment.",
    "InvalidAmount": "金额无效（为零或超过 2^48-1 分）：{amount:yuan}。"
                     "The amount is zero or too large (above 2^48 - 1 fen): {amount:yuan}.",
    "DueDateNotInFuture": "到期日必须在将来。The due date must be in the future.",
    "BuyerNotRegistered": "该购买方尚未登记链上账户。No account is registered for this buyer.",
    "BuyerAlreadyRegistered": "该购买方已登记账户 {account}。This buyer is already registered to {account}.",
    "InvalidBuyerRegistration": "购买方登记无效（标签或账户为零）。A buyer registration needs a tag and an account.",
    "ReceivableLocked": "应收账款 {id} 已质押给 {financier}：不能转让、拆分或再次质押。"
                        "Receivable {id} is pledged to {financier}: no transfer, split or second pledge.",
    "ReceivableClosed": "应收账款 {id} 已关闭（{status:rstatus_zh}）。Receivable {id} is closed ({status:rstatus}).",
    "ReceivableOnHold": "应收账款 {id} 已被税务机关冻结。Receivable {id} is frozen by the authority.",
    "ReceivableNotHeld": "应收账款 {id} 未被冻结。Receivable {id} is not on hold.",
    "ReceivableNotAccepted": "应收账款 {id} 尚待债务人确认。Receivable {id} is still waiting for the debtor's "
                             "acceptance.",
    "ReceivableAlreadyAccepted": "应收账款 {id} 已被确认（{status:rstatus_zh}）。"
                                 "Receivable {id} has already been accepted ({status:rstatus}).",
    "ReceivableNotPledged": "应收账款 {id} 未质押。Receivable {id} is not pledged.",
    "InvalidRecipient": "接收方无效（零地址或当前持有人）。The recipient is the zero address or the current holder.",
    "InvalidPartCount": "拆分须为 2 至 {maxParts} 份（{parts}）。A split needs 2..{maxParts} parts ({parts}).",
    "SplitAmountMismatch": "拆分各份合计 {total:yuan}，与面值 {expected:yuan} 不符。"
                           "The parts sum to {total:yuan} where the face value is {expected:yuan}.",
    "SplitDepthExceeded": "应收账款 {id} 已达最大拆分层级。Receivable {id} sits at the deepest split level.",
    "AdvanceExceedsOutstanding": "融资总额 {advance:yuan} 将超过未付金额 {outstanding:yuan}。"
                                 "The total advance {advance:yuan} would exceed the outstanding {outstanding:yuan}.",
    "SettlementExceedsOutstanding": "付款 {amount:yuan} 超过未付金额 {outstanding:yuan}。"
                                    "Paying {amount:yuan} exceeds the outstanding {outstanding:yuan}.",
    "FeeExceedsOutstanding": "融资额 {advance:yuan} 加费用 {fee:yuan} 超过未付金额 {outstanding:yuan}。"
                             "The advance {advance:yuan} plus fee {fee:yuan} exceed the outstanding {outstanding:yuan}.",
    "NoPledgeOffer": "应收账款 {id} 没有待处理的质押申请。Receivable {id} has no pending pledge offer.",
    "AlreadyFinanced": "应收账款 {id} 已由 {financier} 融资。Receivable {id} is already financed by {financier}.",
    "PledgeOfferPending": "应收账款 {id} 的质押申请正等待 {financier} 处理。"
                          "Receivable {id} has a pledge offer pending with {financier}.",
    "NotHolderOrFinancier": "{account} 既不是应收账款 {id} 的持有人也不是其金融机构。"
                            "{account} is neither the holder nor the financier of receivable {id}.",
    "MaturityNotReached": "时间未到：应收账款 {id} 须在 {notBefore:time} 之后才能标记。"
                          "Too early: receivable {id} can be marked only from {notBefore:time}.",
    "ReceivableNotOverdue": "应收账款 {id} 未逾期（{status:rstatus_zh}）。Receivable {id} is not overdue ({status:rstatus}).",
    "ReceivableMatured": "应收账款 {id} 已{status:rstatus_zh}：不能转让、拆分或质押。"
                         "Receivable {id} is {status:rstatus}: no transfer, split or pledge.",
    "InvalidPeriod": "期限 {period} 秒超过上限 {maxPeriod} 秒。The period {period} s exceeds the maximum {maxPeriod} s.",
    "ExpiredSignature": "签名已过期（截止 {deadline:time}）。The signature expired ({deadline:time}).",
    "InvalidSignature": "签名不是 {expectedSigner} 的（签名人、链、合约或数据不符）。The signature is not "
                        "{expectedSigner}'s (wrong signer, chain, contract or altered data).",
    "InvalidAttestor": "购买方证明的签名人 {signer} 没有税务机关角色。"
                       "The signer {signer} of the buyer attestation lacks AUTHORITY_ROLE.",
    # ExpenseClaims
    "NotInvoiceBuyer": "{caller} 不是该发票购买方登记的链上账户，不能报销。"
                       "{caller} is not the account registered for the invoice's buyer: it may not claim it.",
    "RedLetterNoteNotClaimable": "红字发票不能报销。A red-letter note cannot be claimed for reimbursement.",
    "InvoiceNotClaimable": "发票状态为“{status:istatus_zh}”：只有已开具或审核通过的发票可以报销。"
                           "The invoice is {status:istatus}: only Issued or Cleared invoices can be reimbursed.",
    "AlreadyClaimed": "该发票已于 {claimedAt:time} 由账户 {claimedBy} 报销（链上记录），不能重复报销。"
                      "The invoice was already claimed for reimbursement by {claimedBy} at {claimedAt:time} "
                      "(recorded on chain): it cannot be reimbursed twice.",
    "NotBuyerAccount": "{caller} 尚未作为购买方报销过发票，不能登记付款清单。"
                       "{caller} has claimed no invoice as its buyer: it may not register payment lists.",
    "InvalidPaymentList": "付款清单无效（哈希为零、合计 {total:yuan} 或笔数 {claimCount} 为零）。"
                          "The payment list is invalid (zero hash, total {total:yuan} or count {claimCount}).",
    "PaymentListAlreadyRegistered": "该付款清单已由 {payer} 登记。This payment list is already registered by {payer}.",
    "PaymentListNotFound": "链上没有该付款清单。No such payment list is registered on chain.",
    "NotPaymentListPayer": "{caller} 不是该付款清单的登记人。{caller} did not register this payment list.",
    "PaymentListAlreadyPaid": "该付款清单已于 {paidAt:time} 标记为已支付。This payment list was marked paid at "
                              "{paidAt:time}.",
    "MissingPaymentRef": "缺少付款凭证号。The payment reference is missing.",
}
INVOICE_STATUS = ["None", "Issued", "Flagged", "Cleared", "Rejected", "Voided", "RedLettered"]
INVOICE_STATUS_ZH = ["无", "已开具", "待审核", "审核通过", "审核驳回", "已作废", "已全额红冲"]
MERCHANT_STATUS = ["None", "Pending", "Approved", "Suspended", "Rejected"]
MERCHANT_STATUS_ZH = ["未登记", "待审批", "已批准", "已暂停", "已拒绝"]
RECEIVABLE_STATUS = ["None", "Created", "Accepted", "Pledged", "Split", "Settled", "Cancelled", "Declined", "Held",
                     "Offered", "Overdue", "Defaulted"]
RECEIVABLE_STATUS_ZH = ["无", "待确认", "已确认", "已质押", "已拆分", "已结清", "已撤销", "已拒绝", "已冻结",
                        "待融资确认", "已逾期", "已违约"]
ROLE_NAMES = ["AUTHORITY_ROLE", "AUDITOR_ROLE", "LEDGER_ROLE", "FINANCIER_ROLE"]
# Refusals that mean "the state does not allow it" → HTTP 409; "not yours to do" → 403; the rest → 422.
CONFLICT_ERRORS = {
    "InvoiceAlreadyRegistered", "MerchantAlreadyRegistered", "TaxIdAlreadyRegistered",
    "InvalidMerchantStatus", "InvalidInvoiceStatus", "InvoiceHasReceivable", "VoidWindowClosed",
    "InvoiceHasRedLetterNotes", "RedLetterExceedsOpenAmount", "OpenAmountBelowReceivables", "EnforcedPause",
    "IsRedLetterNote", "DocumentAlreadyRegistered", "ExpectedPause", "NumberNotInSellerRange",
    "AccessControlEnforcedDefaultAdminRules", "AccessControlEnforcedDefaultAdminDelay",
    "ReceivableLocked", "ReceivableClosed", "ReceivableOnHold", "ReceivableNotHeld", "ReceivableNotAccepted",
    "ReceivableAlreadyAccepted", "ReceivableNotPledged", "BuyerAlreadyRegistered", "HolderSuspended",
    "CreditorNotActive", "InvoiceNotEligible", "ExceedsInvoiceAvailable", "DrawExceedsAvailable",
    "NoPledgeOffer", "AlreadyFinanced", "PledgeOfferPending", "MaturityNotReached", "ReceivableNotOverdue",
    "ReceivableMatured", "AlreadyClaimed", "InvoiceNotClaimable", "RedLetterNoteNotClaimable",
    "PaymentListAlreadyRegistered", "PaymentListAlreadyPaid",
}
FORBIDDEN_ERRORS = {
    "NotMerchantOrOperator", "AccessControlUnauthorizedAccount", "AccessControlBadConfirmation",
    "AccessControlInvalidDefaultAdmin", "NotHolder", "NotDebtor", "NotPledgee", "NotFinancier", "NotInvoiceSeller",
    "NotInvoiceBuyer", "NotBuyerAccount", "NotPaymentListPayer",
}


def jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value


def _role_name(value):
    raw = bytes(value) if isinstance(value, (bytes, bytearray)) else None
    if raw == bytes(32):
        return "DEFAULT_ADMIN_ROLE"
    for name in ROLE_NAMES:
        if raw == keccak(text=name):
            return name
    return jsonable(value)


class _Arg:
    """One error argument for str.format: the format spec chooses how it is shown."""

    def __init__(self, value):
        self.value = value

    def __format__(self, spec):
        v = self.value
        is_int = isinstance(v, int) and not isinstance(v, bool)
        names = {"mstatus": MERCHANT_STATUS, "mstatus_zh": MERCHANT_STATUS_ZH, "istatus": INVOICE_STATUS,
                 "istatus_zh": INVOICE_STATUS_ZH, "rstatus": RECEIVABLE_STATUS, "rstatus_zh": RECEIVABLE_STATUS_ZH}
        if spec == "yuan" and is_int:
            return yuan(v)
        if spec in names and is_int and 0 <= v < len(names[spec]):
            return names[spec][v]
        if spec in ("mask", "mask_zh") and is_int:
            joiner = "、" if spec == "mask_zh" else ", "
            return joiner.join(f"{r}%" for r in range(v.bit_length()) if v >> r & 1) or "—"
        if spec == "role":
            return str(_role_name(v))
        if spec == "time" and is_int:
            try:
                return datetime.fromtimestamp(v, CHINA).strftime("%Y-%m-%d %H:%M (UTC+8)")
            except (OverflowError, OSError, ValueError):
                return str(v)
        return str(jsonable(v))


def human_message(name, args):
    """The error's message (MESSAGES) with its arguments, or "Name(arg=value, ...)"."""
    template = MESSAGES.get(name)
    if template:
        try:
            return template.format(**{k: _Arg(v) for k, v in args.items()})
        except (KeyError, IndexError, ValueError):
            return template
    return f"{name}(" + ", ".join(f"{k}={jsonable(v)}" for k, v in args.items()) + ")"


def is_connection_error(exc):
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError)):
        return True
    text = str(exc)
    return "Connection refused" in text or "Max retries exceeded" in text


