"""The one module that owns web3.

* contract handles from the build artifacts (build/contracts/<Name>.json) and the
  deployment record (var/deployment.json: chain_id, rpc_url, block, contracts, abi_dir);
* transactions built here, signed with eth-account (keys.KeyRing), sent raw;
* a nonce manager: one lock per sender + a local counter, resynchronised from the chain
  (and the outbox) on error;
* the outbox: each signed raw transaction is journaled in the DB *before* it is
  broadcast; ``reconcile()`` (run at start and on demand) re-broadcasts what the chain
  does not know, marks mined/reverted what it does, so nothing acknowledged is lost and
  nothing is sent twice (a re-broadcast is the same signed bytes: same hash, same nonce);
* custom errors decoded from the ABIs into a name, arguments and a human message.
"""
import json
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_abi_to_4byte_selector, to_checksum_address
from flask import current_app
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware

from .keys import KeyRing

PENDING_STATUSES = ("signed", "sent")


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
        return {"error": self.name, "message": self.message, "args": _jsonable(self.args_)}


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
    "ExpiredSignature": "签名已过期（截止 {deadline:time}）。The signature expired ({deadline:time}).",
    "InvalidSignature": "签名不是 {expectedSigner} 的（签名人、链、合约或数据不符）。The signature is not "
                        "{expectedSigner}'s (wrong signer, chain, contract or altered data).",
    "InvalidAttestor": "购买方证明的签名人 {signer} 没有税务机关角色。"
                       "The signer {signer} of the buyer attestation lacks AUTHORITY_ROLE.",
}
INVOICE_STATUS = ["None", "Issued", "Flagged", "Cleared", "Rejected", "Voided", "RedLettered"]
INVOICE_STATUS_ZH = ["无", "已开具", "待审核", "审核通过", "审核驳回", "已作废", "已全额红冲"]
MERCHANT_STATUS = ["None", "Pending", "Approved", "Suspended", "Rejected"]
MERCHANT_STATUS_ZH = ["未登记", "待审批", "已批准", "已暂停", "已拒绝"]
RECEIVABLE_STATUS = ["None", "Created", "Accepted", "Pledged", "Split", "Settled", "Cancelled", "Declined", "Held"]
RECEIVABLE_STATUS_ZH = ["无", "待确认", "已确认", "已质押", "已拆分", "已结清", "已撤销", "已拒绝", "已冻结"]
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
}
FORBIDDEN_ERRORS = {
    "NotMerchantOrOperator", "AccessControlUnauthorizedAccount", "AccessControlBadConfirmation",
    "AccessControlInvalidDefaultAdmin", "NotHolder", "NotDebtor", "NotPledgee", "NotFinancier", "NotInvoiceSeller",
}


def _jsonable(value):
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        return str(value)
    return value


def _post(abi_output, value):
    """Checksum addresses inside a decoded value (eth_abi gives lower case)."""
    t = abi_output["type"]
    if t == "address":
        return to_checksum_address(value)
    if t.startswith("tuple"):
        comps = abi_output["components"]
        if t.endswith("]"):
            inner = {**abi_output, "type": t[:t.rindex("[")]}
            return [_post(inner, v) for v in value]
        return tuple(_post(c, v) for c, v in zip(comps, value))
    if t.endswith("]") and t.startswith("address"):
        return [to_checksum_address(v) for v in value]
    return value


def _abi_type(inp):
    t = inp["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in inp["components"]) + ")" + t[5:]
    return t


@dataclass
class TxResult:
    tx_hash: str
    outbox_id: int
    status: str  # mined | reverted | sent (not mined within the timeout) | signed (broadcast failed)
    receipt: dict | None = None
    refusal: ChainRefusal | None = None
    logs: list = field(default_factory=list)


class NonceManager:
    """Per-sender lock + local counter. ``lock(sender)`` must be held around
    ``take`` → sign → journal → broadcast so nonces go out in order."""

    def __init__(self, w3, journal_next):
        self.w3 = w3
        self._journal_next = journal_next  # callable(sender) -> next nonce after journaled txs
        self._locks = defaultdict(threading.Lock)
        self._guard = threading.Lock()
        self._next = {}

    def lock(self, sender):
        with self._guard:
            return self._locks[sender]

    def take(self, sender):
        n = self._next.get(sender)
        if n is None:
            n = max(self.w3.eth.get_transaction_count(sender, "pending"), self._journal_next(sender))
        self._next[sender] = n + 1
        return n

    def give_back(self, sender, nonce):
        """The nonce was not used (nothing journaled/sent): hand it out again."""
        if self._next.get(sender) == nonce + 1:
            self._next[sender] = nonce

    def resync(self, sender=None):
        if sender is None:
            self._next.clear()
        else:
            self._next.pop(sender, None)


class Chain:
    def __init__(self, *, rpc_url, deployment, artifacts_dir, keyring, session_factory, tx_timeout=30,
                 priority_fee=10**9):
        self.deployment = deployment
        session = requests.Session()
        session.trust_env = False  # no proxy lookup in the environment on every RPC
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": 15}, session=session))
        # Calldata is encoded and checked here (eth_abi, from the ABI), so web3's default
        # middlewares (ENS, validation: an eth_chainId per call, gas strategies) are not
        # needed; the POA one lets get_block work on Clique/QBFT chains.
        self.w3.middleware_onion.clear()
        self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        self._fn_cache = {}
        self.keyring = keyring
        self.session_factory = session_factory  # () -> SQLAlchemy session
        self.tx_timeout = tx_timeout
        self.priority_fee = priority_fee
        self.chain_id = int(deployment["chain_id"])
        self.deploy_block = int(deployment.get("block", 0))
        self.contracts = {}
        self.errors = {}  # selector -> (name, [types], [names])
        abi_dir = deployment.get("abi_dir") or artifacts_dir
        for name, address in deployment["contracts"].items():
            abi = load_abi(name, abi_dir, artifacts_dir)
            if abi is None:
                continue
            self.contracts[name] = self.w3.eth.contract(address=to_checksum_address(address), abi=abi)
            for entry in abi:
                if entry.get("type") == "error":
                    types = [_abi_type(i) for i in entry.get("inputs", [])]
                    selector = function_abi_to_4byte_selector({"name": entry["name"], "type": "function",
                                                                "inputs": entry.get("inputs", [])})
                    self.errors[bytes(selector)] = (entry["name"], types, [i["name"] for i in entry.get("inputs", [])])
        self.nonces = NonceManager(self.w3, self._journal_next)
        self._fee_cache = (0.0, None)

    # ---- reading -------------------------------------------------------------------
    def contract(self, name):
        try:
            return self.contracts[name]
        except KeyError:
            raise ChainUnavailable(f"contract {name} is not deployed") from None

    def has(self, name):
        return name in self.contracts

    def _function(self, contract, function):
        """(address, selector, input types, output ABI) of ``contract.function``, cached."""
        key = (contract, function)
        hit = self._fn_cache.get(key)
        if hit is None:
            c = self.contract(contract)
            for entry in c.abi:
                if entry.get("type") == "function" and entry.get("name") == function:
                    break
            else:
                raise ChainError(f"{contract} has no function {function}")
            selector = bytes(function_abi_to_4byte_selector(entry))
            hit = (c.address, selector, [_abi_type(i) for i in entry["inputs"]], entry.get("outputs", []))
            self._fn_cache[key] = hit
        return hit

    def encode(self, contract, function, *args):
        """Calldata for ``contract.function(*args)`` (eth_abi; bad arguments raise ValueError/TypeError)."""
        address, selector, types, _ = self._function(contract, function)
        return address, "0x" + (selector + abi_encode(types, list(args))).hex()

    def call(self, contract, function, *args, block="latest"):
        """eth_call of a view; the decoded result (one value, or a tuple for several)."""
        address, data = self.encode(contract, function, *args)
        outputs = self._function(contract, function)[3]
        try:
            raw = self.w3.eth.call({"to": address, "data": data}, block)
        except ContractLogicError as exc:
            raise self.decode_error(exc, contract) from None
        except (OSError, Web3RPCError) as exc:
            raise ChainUnavailable(str(exc)) from exc
        except Exception as exc:
            if _is_connection_error(exc):
                raise ChainUnavailable(str(exc)) from exc
            raise
        values = abi_decode([_abi_type(o) for o in outputs], bytes(raw))
        values = [_post(o, v) for o, v in zip(outputs, values)]
        return values[0] if len(values) == 1 else tuple(values)

    def call_named(self, contract, function, *args):
        """Call a view returning one struct; the result as a dict by component name."""
        result = self.call(contract, function, *args)
        for entry in self.contract(contract).abi:
            if entry.get("type") == "function" and entry.get("name") == function:
                outputs = entry.get("outputs", [])
                if len(outputs) == 1 and outputs[0]["type"] == "tuple":
                    return dict(zip([c["name"] for c in outputs[0]["components"]], result))
                return dict(zip([o["name"] or f"out{i}" for i, o in enumerate(outputs)],
                                result if len(outputs) > 1 else [result]))
        raise ChainError(f"{contract} has no function {function}")

    def has_function(self, contract, function):
        return self.has(contract) and any(e.get("type") == "function" and e.get("name") == function
                                          for e in self.contract(contract).abi)

    def decode_error(self, exc, contract=None):
        data = getattr(exc, "data", None)
        if isinstance(data, dict):
            data = data.get("data")
        return self.decode_revert_data(data, contract, fallback=str(exc))

    def decode_revert_data(self, data, contract=None, fallback="execution reverted"):
        if isinstance(data, (bytes, bytearray)):
            raw = bytes(data)
        elif isinstance(data, str) and data.startswith("0x"):
            try:
                raw = bytes.fromhex(data[2:])
            except ValueError:
                raw = b""
        else:
            raw = b""
        if len(raw) >= 4 and raw[:4] in self.errors:
            name, types, names = self.errors[raw[:4]]
            try:
                values = abi_decode(types, raw[4:])
            except Exception:
                values = ()
            values = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, values)]
            args = {n or f"arg{i}": v for i, (n, v) in enumerate(zip(names, values))}
            return ChainRefusal(name, args, human_message(name, args), contract)
        if raw[:4] == bytes.fromhex("08c379a0"):  # Error(string)
            try:
                (reason,) = abi_decode(["string"], raw[4:])
            except Exception:
                reason = fallback
            return ChainRefusal("Reverted", {"reason": reason}, reason, contract)
        if raw[:4] == bytes.fromhex("4e487b71"):  # Panic(uint256)
            return ChainRefusal("Panic", {"code": int.from_bytes(raw[4:36] or b"\0", "big")},
                                "The contract panicked (arithmetic or assertion error).", contract)
        return ChainRefusal("Reverted", {}, fallback, contract)

    # ---- writing -------------------------------------------------------------------
    def _journal_next(self, sender):
        from .models import OutboxTx

        session = self.session_factory()
        last = (session.query(OutboxTx.nonce)
                .filter(OutboxTx.sender == sender, OutboxTx.chain_id == self.chain_id,
                        OutboxTx.status.in_(PENDING_STATUSES))
                .order_by(OutboxTx.nonce.desc()).first())
        return last[0] + 1 if last else 0

    def _fees(self):
        ts, fees = self._fee_cache
        if fees is None or time.monotonic() - ts > 2.0:
            block = self.w3.eth.get_block("latest")
            base = block.get("baseFeePerGas")
            if base is None:
                fees = {"gasPrice": self.w3.eth.gas_price}
            else:
                fees = {"maxFeePerGas": 2 * base + self.priority_fee, "maxPriorityFeePerGas": self.priority_fee,
                        "type": 2}
            self._fee_cache = (time.monotonic(), fees)
        return fees

    def transact(self, sender, contract, function, *args, ref=None, journal=(), on_journal=None, wait=True):
        """Estimate (a revert raises ChainRefusal, nothing journaled), sign, journal
        (together with the ``journal`` objects and ``on_journal(row)``), broadcast, wait.

        Returns TxResult. Raises ChainRefusal before journaling, ChainUnavailable when
        the node cannot be reached before journaling.
        """
        from .models import OutboxTx

        sender = to_checksum_address(sender)
        c = self.contract(contract)
        account = self.keyring.account(sender)
        _, data = self.encode(contract, function, *args)
        try:
            gas = self.w3.eth.estimate_gas({"from": sender, "to": c.address, "data": data})
            fees = self._fees()
        except ContractLogicError as exc:
            raise self.decode_error(exc, contract) from None
        except Exception as exc:
            if _is_connection_error(exc):
                raise ChainUnavailable(str(exc)) from exc
            raise
        tx = {"to": c.address, "data": data, "value": 0, "gas": int(gas * 1.25) + 20_000,
              "chainId": self.chain_id, **fees}
        session = self.session_factory()
        lock = self.nonces.lock(sender)
        with lock:
            for attempt in range(3):
                try:
                    nonce = self.nonces.take(sender)
                except Exception as exc:
                    if _is_connection_error(exc):
                        raise ChainUnavailable(str(exc)) from exc
                    raise
                signed = account.sign_transaction({**tx, "nonce": nonce})
                tx_hash = Web3.to_hex(signed.hash)
                row = OutboxTx(chain_id=self.chain_id, sender=sender, nonce=nonce, tx_hash=tx_hash,
                               raw_tx=Web3.to_hex(signed.raw_transaction), contract=contract,
                               function=function, ref=ref, status="signed")
                session.add(row)
                for obj in journal:
                    session.add(obj)
                if on_journal:
                    session.flush()
                    on_journal(row)
                try:
                    session.commit()  # journaled: from here the tx is durable
                except Exception:
                    session.rollback()
                    self.nonces.resync(sender)
                    raise
                outcome = self._broadcast(row, session, commit=False)
                if outcome == "retry":
                    continue
                break
        if row.status == "signed" or not wait:
            session.commit()
            return TxResult(tx_hash, row.id, row.status)
        return self.wait(row, session)

    def _broadcast(self, row, session, commit=True):
        """Send the journaled raw tx. Returns 'ok', 'retry' (nonce was stale: row
        dropped, counter resynced) or 'offline' (left 'signed' for reconcile)."""
        try:
            self.w3.eth.send_raw_transaction(row.raw_tx)
        except Exception as exc:
            msg = str(exc).lower()
            if "already known" in msg or "already imported" in msg:
                pass
            elif "nonce too low" in msg or "nonce is too low" in msg:
                row.status = "dropped"
                row.error = "nonce too low at broadcast; re-signed with a fresh nonce"
                session.commit()
                self.nonces.resync(row.sender)
                return "retry"
            elif _is_connection_error(exc):
                row.error = f"broadcast failed: {exc}"
                session.commit()
                return "offline"
            else:
                row.status = "rejected"
                row.error = str(exc)
                session.commit()
                self.nonces.resync(row.sender)
                raise ChainError(f"node rejected the transaction: {exc}") from exc
        row.status = "sent"
        row.broadcasts += 1
        if commit:  # else written with the receipt: 'signed' and 'sent' reconcile alike
            session.commit()
        return "ok"

    def wait(self, row, session, timeout=None):
        """Wait for the receipt (polling 2 ms, growing to 100 ms); record it."""
        deadline = time.monotonic() + (timeout or self.tx_timeout)
        delay = 0.002
        try:
            while True:
                try:
                    receipt = self.w3.eth.get_transaction_receipt(row.tx_hash)
                    break
                except TransactionNotFound:
                    if time.monotonic() >= deadline:
                        session.commit()
                        return TxResult(row.tx_hash, row.id, row.status)
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
        except Exception as exc:
            session.commit()
            if _is_connection_error(exc):
                return TxResult(row.tx_hash, row.id, row.status)
            raise
        return self._record_receipt(row, receipt, session)

    def _record_receipt(self, row, receipt, session):
        row.block_number = receipt["blockNumber"]
        row.gas_used = receipt["gasUsed"]
        refusal = None
        if receipt["status"] == 1:
            row.status = "mined"
        else:
            row.status = "reverted"
            refusal = self._revert_reason(row, receipt)
            row.error = json.dumps(refusal.to_dict()) if refusal else "reverted"
        session.commit()
        return TxResult(row.tx_hash, row.id, row.status, dict(receipt), refusal, list(receipt["logs"]))

    def _revert_reason(self, row, receipt):
        try:
            tx = self.w3.eth.get_transaction(row.tx_hash)
            self.w3.eth.call({"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]},
                             receipt["blockNumber"] - 1)
        except ContractLogicError as exc:
            return self.decode_error(exc, row.contract)
        except Exception:
            pass
        return ChainRefusal("Reverted", {}, "The transaction reverted.", row.contract)

    def reconcile(self, deep=False):
        """Bring the outbox in line with the chain. Returns {tx_hash: new status, or
        "broadcast" for a (re-)broadcast}.

        signed/sent rows: receipt → mined/reverted; known but pending → left; unknown →
        re-broadcast (same bytes) unless the sender's nonce was consumed by another
        transaction (→ dropped). With ``deep`` also re-checks mined rows (a chain
        restarted from an older state) and re-broadcasts the lost ones.
        """
        from .models import OutboxTx

        session = self.session_factory()
        statuses = PENDING_STATUSES + (("mined",) if deep else ())
        rows = (session.query(OutboxTx)
                .filter(OutboxTx.chain_id == self.chain_id, OutboxTx.status.in_(statuses))
                .order_by(OutboxTx.sender, OutboxTx.nonce).all())
        changed = {}
        senders = {r.sender for r in rows}
        locks = [self.nonces.lock(s) for s in sorted(senders)]
        for lock in locks:
            lock.acquire()
        try:
            for row in rows:
                before = row.status
                try:
                    receipt = self.w3.eth.get_transaction_receipt(row.tx_hash)
                except TransactionNotFound:
                    receipt = None
                if receipt is not None:
                    if before != "mined":
                        self._record_receipt(row, receipt, session)
                elif self._known_pending(row.tx_hash):
                    if row.status == "signed":
                        row.status = "sent"
                        session.commit()
                elif self.w3.eth.get_transaction_count(row.sender, "latest") > row.nonce:
                    row.status = "dropped"
                    row.error = "nonce consumed by another transaction"
                    session.commit()
                else:
                    if self._broadcast(row, session) == "ok":
                        changed[row.tx_hash] = "broadcast"
                        continue
                if row.status != before:
                    changed[row.tx_hash] = row.status
            for s in senders:
                self.nonces.resync(s)
        finally:
            for lock in locks:
                lock.release()
        return changed

    def _known_pending(self, tx_hash):
        try:
            self.w3.eth.get_transaction(tx_hash)
            return True
        except TransactionNotFound:
            return False

    def wait_pending(self, timeout=None):
        """Wait for receipts of every 'sent' row (after reconcile)."""
        from .models import OutboxTx

        session = self.session_factory()
        for row in session.query(OutboxTx).filter_by(chain_id=self.chain_id, status="sent").all():
            self.wait(row, session, timeout)


def yuan(fen):
    """Fen as yuan: 123456 → '¥1,234.56'."""
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


def _role_name(value):
    from eth_utils import keccak

    raw = bytes(value) if isinstance(value, (bytes, bytearray)) else None
    if raw == bytes(32):
        return "DEFAULT_ADMIN_ROLE"
    for name in ROLE_NAMES:
        if raw == keccak(text=name):
            return name
    return _jsonable(value)


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
            from datetime import datetime, timedelta, timezone

            try:
                return datetime.fromtimestamp(v, timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M (UTC+8)")
            except (OverflowError, OSError, ValueError):
                return str(v)
        return str(_jsonable(v))


def human_message(name, args):
    """The error's message (MESSAGES) with its arguments, or "Name(arg=value, ...)"."""
    template = MESSAGES.get(name)
    if template:
        try:
            return template.format(**{k: _Arg(v) for k, v in args.items()})
        except (KeyError, IndexError, ValueError):
            return template
    return f"{name}(" + ", ".join(f"{k}={_jsonable(v)}" for k, v in args.items()) + ")"


def _is_connection_error(exc):
    import requests

    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError)):
        return True
    text = str(exc)
    return "Connection refused" in text or "Max retries exceeded" in text


def load_abi(name, abi_dir, artifacts_dir):
    for d in (abi_dir, artifacts_dir):
        if not d:
            continue
        for path in (os.path.join(d, f"{name}.json"), os.path.join(d, "contracts", f"{name}.json")):
            if os.path.exists(path):
                with open(path) as f:
                    data = json.load(f)
                return data["abi"] if isinstance(data, dict) else data
    return None


def read_deployment(path):
    if not os.path.exists(path):
        raise ChainUnavailable(f"no deployment record at {path}: deploy the contracts first")
    with open(path) as f:
        return json.load(f)


# ---- Flask integration -------------------------------------------------------------
_build_lock = threading.Lock()


def init_app(app):
    app.extensions["einvoice.keyring"] = KeyRing(
        dev_mode=app.config["DEV_MODE"], mnemonic=app.config["DEV_MNEMONIC"],
        keystore_dir=app.config["KEYSTORE_DIR"], password=app.config.get("KEYSTORE_PASSWORD"))
    app.extensions["einvoice.chain"] = None


def get_keyring():
    return current_app.extensions["einvoice.keyring"]


def get_chain() -> Chain:
    """The app's Chain, built on first use from the deployment record."""
    app = current_app._get_current_object()
    chain = app.extensions.get("einvoice.chain")
    if chain is not None:
        return chain
    if not app.config.get("CHAIN_ENABLED", True):
        raise ChainUnavailable("chain access is disabled")
    with _build_lock:
        chain = app.extensions.get("einvoice.chain")
        if chain is None:
            from .db import db

            deployment = read_deployment(app.config["DEPLOYMENT_FILE"])
            chain = Chain(rpc_url=app.config.get("RPC_URL") or deployment["rpc_url"], deployment=deployment,
                          artifacts_dir=app.config["ARTIFACTS_DIR"], keyring=get_keyring(),
                          session_factory=lambda: db.session, tx_timeout=app.config["TX_TIMEOUT"])
            app.extensions["einvoice.chain"] = chain
    return chain


def reset_chain(app):
    app.extensions["einvoice.chain"] = None
