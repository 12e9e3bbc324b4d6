// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {IInvoiceRegistry} from "./interfaces/IInvoiceRegistry.sol";
import {IReceivableLedger} from "./interfaces/IReceivableLedger.sol";

/**
 * @dev Receivables chain (应收账款链) on top of {InvoiceRegistry}.
 *
 * The seller of an Issued or Cleared invoice creates a receivable against the buyer's
 * registered account (the debtor) for at most the invoice's undrawn open amount; the
 * registry records the draw, so the invoice cannot be voided, nor red-lettered below its
 * live receivables. The debtor accepts it (directly or by an EIP-712 signature that anyone
 * relays). The holder may then transfer it whole, split it into 2..MAX_PARTS parts, or
 * pledge it to a financier, who may advance money against it and later release it. The
 * debtor settles it in the settlement token, in one or several payments, to the financier
 * while it is pledged and to the holder otherwise; a fully paid receivable closes and its
 * amount is released on the invoice (and counted as settled, so it cannot be drawn again).
 *
 * Lineage lives in the id (see {IReceivableLedger}): a split writes one storage slot per part.
 * Lists per holder, debtor or financier are derived from the indexed events (docs/receivables.md).
 */
contract ReceivableLedger is AccessControl, EIP712, Nonces, IReceivableLedger {
    using SafeERC20 for IERC20;

    bytes32 public constant AUTHORITY_ROLE = keccak256("AUTHORITY_ROLE");
    bytes32 public constant FINANCIER_ROLE = keccak256("FINANCIER_ROLE");

    /// @dev EIP-712 type of the debtor's acceptance of a receivable.
    bytes32 public constant ACCEPT_TYPEHASH = keccak256(
        "AcceptReceivable(uint256 id,bytes32 invoiceKey,uint256 amount,uint40 dueDate,uint256 nonce,uint256 deadline)"
    );

    /// @dev EIP-712 type of the authority's attestation that `account` is the buyer with `buyerIdHash`.
    bytes32 public constant BUYER_CLAIM_TYPEHASH =
        keccak256("BuyerClaim(bytes20 buyerIdHash,address account,uint256 nonce,uint256 deadline)");

    /// @dev Most parts of one split.
    uint256 public constant MAX_PARTS = 10;

    /// @dev Deepest split level: (256 - 64) bits / 4 bits per level.
    uint256 public constant MAX_DEPTH = 48;

    uint256 private constant _ROOT_BITS = 64;
    uint256 private constant _DIGIT_BITS = 4;
    uint256 private constant _ROOT_MASK = type(uint64).max;

    /// @dev The state every receivable has, in one slot: the one slot a split writes per part.
    struct Core {
        address holder;
        ReceivableStatus status;
        uint88 amount; // face value, fen
    }

    /// @dev Terms shared by a root receivable and all its parts, stored once per root.
    struct Terms {
        address debtor;
        uint40 dueDate;
        uint40 createdAt;
    }

    /// @dev The current (or, once settled, the last) pledge of a receivable.
    struct Pledge {
        address financier;
        uint96 advance; // fen paid to the holder so far
    }

    IInvoiceRegistry private immutable _invoices;
    IERC20 private immutable _token;

    uint64 private _rootCount;
    mapping(uint256 id => Core) private _cores;
    mapping(uint256 id => Pledge) private _pledges;
    mapping(uint256 id => uint256) private _paid;
    mapping(uint256 rootId => Terms) private _terms;
    mapping(uint256 rootId => bytes32) private _invoiceKeys;
    mapping(bytes32 invoiceKey => uint256) private _invoiceRootCounts;
    mapping(bytes32 invoiceKey => mapping(uint256 index => uint256 rootId)) private _invoiceRoots;
    mapping(bytes32 invoiceKey => uint256) private _invoiceSettled;
    mapping(bytes20 buyerIdHash => address) private _buyers;

    constructor(address authority, IInvoiceRegistry invoices, IERC20 settlementToken) EIP712("ReceivableLedger", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, authority);
        _grantRole(AUTHORITY_ROLE, authority);
        _invoices = invoices;
        _token = settlementToken;
    }

    // ------------------------------------------------------------------ buyers

    /**
     * @dev Registers (or re-registers, e.g. after a key change) `account` as the on-chain
     * account of the buyer whose tax-ID hash is `buyerIdHash`. Receivables already created
     * keep their debtor.
     *
     * Requirements: the caller has AUTHORITY_ROLE; neither argument is zero.
     *
     * Emits a {BuyerRegistered} event.
     */
    function registerBuyer(bytes20 buyerIdHash, address account) external onlyRole(AUTHORITY_ROLE) {
        _registerBuyer(buyerIdHash, account, msg.sender);
    }

    /**
     * @dev Registers `account` for `buyerIdHash` with an EIP-712 {BuyerClaim} attestation
     * signed by an AUTHORITY_ROLE holder over the account's current nonce. Anyone may relay.
     *
     * Requirements: `deadline` not passed; `buyerIdHash` not yet registered; the signer
     * holds AUTHORITY_ROLE.
     *
     * Emits a {BuyerRegistered} event.
     */
    function claimBuyer(bytes20 buyerIdHash, address account, uint256 deadline, bytes calldata attestation)
        external
    {
        if (block.timestamp > deadline) revert ExpiredSignature(deadline);
        address registered = _buyers[buyerIdHash];
        if (registered != address(0)) revert BuyerAlreadyRegistered(buyerIdHash, registered);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(BUYER_CLAIM_TYPEHASH, buyerIdHash, account, _useNonce(account), deadline))
        );
        address signer = ECDSA.recover(digest, attestation);
        if (!hasRole(AUTHORITY_ROLE, signer)) revert InvalidAttestor(signer);
        _registerBuyer(buyerIdHash, account, signer);
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * @dev The seller of invoice `invoiceKey` creates a receivable of `amount` fen due at
     * `dueDate` against the buyer's registered account; returns the new (root) id.
     *
     * Requirements:
     * - the invoice exists, is Issued or Cleared and the caller is its seller;
     * - 0 < `amount` <= open amount - drawn - settled of the invoice;
     * - `dueDate` is in the future; the invoice's buyer has a registered account.
     *
     * Emits a {ReceivableCreated} event (and the registry's ReceivableDrawn).
     */
    function create(bytes32 invoiceKey, uint256 amount, uint40 dueDate) external returns (uint256 id) {
        if (amount == 0 || amount > type(uint88).max) revert InvalidAmount(amount);
        if (dueDate <= block.timestamp) revert DueDateNotInFuture(dueDate);
        IInvoiceRegistry.Invoice memory invoice = _invoices.getInvoice(invoiceKey);
        if (invoice.seller != msg.sender) revert NotInvoiceSeller(invoiceKey, msg.sender);
        if (invoice.status != IInvoiceRegistry.InvoiceStatus.Issued && invoice.status != IInvoiceRegistry.InvoiceStatus.Cleared) {
            revert InvoiceNotEligible(invoiceKey, uint8(invoice.status));
        }
        uint256 available = _available(invoiceKey, invoice.openAmount, invoice.drawn);
        if (amount > available) revert ExceedsInvoiceAvailable(invoiceKey, amount, available);
        address debtor = _buyers[invoice.buyerIdHash];
        if (debtor == address(0)) revert BuyerNotRegistered(invoice.buyerIdHash);

        id = ++_rootCount;
        _cores[id] = Core(msg.sender, ReceivableStatus.Created, uint88(amount));
        _terms[id] = Terms(debtor, dueDate, uint40(block.timestamp));
        _invoiceKeys[id] = invoiceKey;
        _invoiceRoots[invoiceKey][_invoiceRootCounts[invoiceKey]++] = id;
        emit ReceivableCreated(id, msg.sender, debtor, invoiceKey, amount, dueDate);

        _invoices.drawForReceivable(invoiceKey, amount);
    }

    /**
     * @dev The debtor accepts receivable `id`: it confirms the debt.
     *
     * Requirements: `id` is Created; the caller is its debtor.
     *
     * Emits a {ReceivableAccepted} event.
     */
    function accept(uint256 id) external {
        ReceivableStatus status = _existing(id).status;
        address debtor = _terms[id & _ROOT_MASK].debtor;
        if (msg.sender != debtor) revert NotDebtor(id, msg.sender);
        _accept(id, status, debtor);
    }

    /**
     * @dev Accepts receivable `id` with the debtor's EIP-712 {AcceptReceivable} signature
     * (an EOA signature, or ERC-1271 for a contract debtor). Anyone may relay it.
     *
     * Requirements:
     * - `deadline` not passed;
     * - `signature` is the debtor's over this chain, this contract, `id` and its terms,
     *   `nonce` and `deadline`;
     * - `nonce` is the debtor's current nonce (a signature works once);
     * - `id` is Created.
     *
     * Emits a {ReceivableAccepted} event.
     */
    function acceptBySignature(uint256 id, uint256 nonce, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert ExpiredSignature(deadline);
        Core memory core = _existing(id);
        uint256 rootId = id & _ROOT_MASK;
        Terms memory terms = _terms[rootId];
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(ACCEPT_TYPEHASH, id, _invoiceKeys[rootId], core.amount, terms.dueDate, nonce, deadline)
            )
        );
        if (!SignatureChecker.isValidSignatureNow(terms.debtor, digest, signature)) {
            revert InvalidSignature(terms.debtor);
        }
        _useCheckedNonce(terms.debtor, nonce);
        _accept(id, core.status, terms.debtor);
    }

    /**
     * @dev The holder withdraws receivable `id` before the debtor accepted it; its amount
     * is released on the invoice.
     *
     * Requirements: `id` is Created; the caller is its holder.
     *
     * Emits a {ReceivableCancelled} event.
     */
    function cancel(uint256 id) external {
        Core memory core = _existing(id);
        if (core.holder != msg.sender) revert NotHolder(id, msg.sender);
        _requireCreated(id, core.status);
        _cores[id].status = ReceivableStatus.Cancelled;
        emit ReceivableCancelled(id, msg.sender);
        _invoices.releaseForReceivable(_invoiceKeys[id], core.amount);
    }

    /**
     * @dev The debtor refuses receivable `id`; its amount is released on the invoice.
     *
     * Requirements: `id` is Created; the caller is its debtor.
     *
     * Emits a {ReceivableDeclined} event.
     */
    function decline(uint256 id) external {
        Core memory core = _existing(id);
        if (_terms[id & _ROOT_MASK].debtor != msg.sender) revert NotDebtor(id, msg.sender);
        _requireCreated(id, core.status);
        _cores[id].status = ReceivableStatus.Declined;
        emit ReceivableDeclined(id, msg.sender);
        _invoices.releaseForReceivable(_invoiceKeys[id], core.amount);
    }

    /**
     * @dev The holder transfers receivable `id` whole to `to`.
     *
     * Requirements: the caller holds `id`; `id` is Accepted (not pledged, not closed);
     * `to` is neither zero nor the caller.
     *
     * Emits a {ReceivableTransferred} event.
     */
    function transfer(uint256 id, address to) external {
        _requireTransferable(id, _cores[id]);
        if (to == address(0) || to == msg.sender) revert InvalidRecipient(to);
        _cores[id].holder = to;
        emit ReceivableTransferred(id, msg.sender, to);
    }

    /**
     * @dev The holder splits receivable `id` into parts of `amounts` fen, held by the
     * caller, with ids `childIdOf(id, 1..amounts.length)`; `id` closes as Split.
     *
     * Requirements: the caller holds `id`; `id` is Accepted and unpaid; 2..MAX_PARTS
     * non-zero amounts summing exactly to its face value; `id` is fewer than MAX_DEPTH
     * splits below its root.
     *
     * Emits a {ReceivableSplit} event per part.
     */
    function split(uint256 id, uint256[] calldata amounts) external returns (uint256[] memory childIds) {
        Core memory core = _cores[id];
        _requireTransferable(id, core);
        uint256 parts = amounts.length;
        if (parts < 2 || parts > MAX_PARTS) revert InvalidPartCount(parts, MAX_PARTS);
        uint256 paid = _paid[id];
        if (paid != 0) revert ReceivablePartiallySettled(id, paid);
        uint256 depth = _depth(id);
        if (depth >= MAX_DEPTH) revert SplitDepthExceeded(id);
        uint256 total;
        for (uint256 i = 0; i < parts; ++i) {
            if (amounts[i] == 0) revert InvalidAmount(0);
            total += amounts[i];
        }
        if (total != core.amount) revert SplitAmountMismatch(total, core.amount);

        _cores[id].status = ReceivableStatus.Split;
        uint256 shift = _ROOT_BITS + depth * _DIGIT_BITS;
        childIds = new uint256[](parts);
        for (uint256 i = 0; i < parts; ++i) {
            uint256 childId = id | ((i + 1) << shift);
            childIds[i] = childId;
            _cores[childId] = Core(msg.sender, ReceivableStatus.Accepted, uint88(amounts[i]));
            emit ReceivableSplit(id, childId, msg.sender, amounts[i]);
        }
    }

    /**
     * @dev The holder pledges receivable `id` to `financier`; it is locked until released
     * or settled.
     *
     * Requirements: the caller holds `id`; `id` is Accepted (not already pledged, not
     * closed); `financier` has FINANCIER_ROLE.
     *
     * Emits a {ReceivablePledged} event.
     */
    function pledge(uint256 id, address financier) external {
        _requireTransferable(id, _cores[id]);
        if (!hasRole(FINANCIER_ROLE, financier)) revert NotFinancier(financier);
        _cores[id].status = ReceivableStatus.Pledged;
        _pledges[id] = Pledge(financier, 0);
        emit ReceivablePledged(id, msg.sender, financier);
    }

    /**
     * @dev The financier of pledged receivable `id` advances `amount` fen of the
     * settlement token to the holder, through this contract (the financier approves it first).
     *
     * Requirements: `id` is Pledged to the caller; 0 < `amount`; total advance <= face value;
     * allowance and balance suffice.
     *
     * Emits a {ReceivableFinanced} event (and the token's Transfer).
     */
    function finance(uint256 id, uint256 amount) external {
        Core memory core = _requirePledged(id);
        Pledge memory current = _pledges[id];
        if (current.financier != msg.sender) revert NotPledgee(id, msg.sender);
        if (amount == 0) revert InvalidAmount(0);
        uint256 advance = current.advance + amount;
        if (advance > core.amount) revert AdvanceExceedsFaceValue(id, advance, core.amount);
        _pledges[id].advance = uint96(advance);
        emit ReceivableFinanced(id, msg.sender, core.holder, amount, advance);
        _token.safeTransferFrom(msg.sender, core.holder, amount);
    }

    /**
     * @dev The financier releases its pledge on receivable `id` (typically once repaid off
     * chain); the holder may transfer, split or pledge it again.
     *
     * Requirements: `id` is Pledged to the caller.
     *
     * Emits a {ReceivableReleased} event.
     */
    function release(uint256 id) external {
        Core memory core = _requirePledged(id);
        Pledge memory current = _pledges[id];
        if (current.financier != msg.sender) revert NotPledgee(id, msg.sender);
        _cores[id].status = ReceivableStatus.Accepted;
        delete _pledges[id];
        emit ReceivableReleased(id, msg.sender, core.holder, current.advance);
    }

    /**
     * @dev The debtor pays `amount` fen of receivable `id` in the settlement token to its
     * beneficiary: the financier while pledged, else the holder. Once fully paid it closes
     * as Settled and its face value is released on the invoice.
     *
     * Requirements: `id` is Accepted or Pledged; the caller is its debtor;
     * 0 < `amount` <= outstanding; allowance and balance suffice.
     *
     * Emits a {ReceivableSettled} event (and the token's Transfer).
     */
    function settle(uint256 id, uint256 amount) external {
        Core memory core = _existing(id);
        if (core.status == ReceivableStatus.Created) revert ReceivableNotAccepted(id);
        if (core.status != ReceivableStatus.Accepted && core.status != ReceivableStatus.Pledged) {
            revert ReceivableClosed(id, core.status);
        }
        uint256 rootId = id & _ROOT_MASK;
        if (msg.sender != _terms[rootId].debtor) revert NotDebtor(id, msg.sender);
        if (amount == 0) revert InvalidAmount(0);
        uint256 paid = _paid[id];
        uint256 outstanding = core.amount - paid;
        if (amount > outstanding) revert SettlementExceedsOutstanding(id, amount, outstanding);
        address beneficiary = core.status == ReceivableStatus.Pledged ? _pledges[id].financier : core.holder;

        _paid[id] = paid + amount;
        outstanding -= amount;
        bytes32 invoiceKey;
        if (outstanding == 0) {
            _cores[id].status = ReceivableStatus.Settled;
            invoiceKey = _invoiceKeys[rootId];
            _invoiceSettled[invoiceKey] += core.amount;
        }
        emit ReceivableSettled(id, msg.sender, beneficiary, amount, outstanding);

        _token.safeTransferFrom(msg.sender, beneficiary, amount);
        if (outstanding == 0) _invoices.releaseForReceivable(invoiceKey, core.amount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IReceivableLedger
    function getReceivable(uint256 id) external view returns (ReceivableView memory view_) {
        Core memory core = _existing(id);
        uint256 rootId = id & _ROOT_MASK;
        Terms memory terms = _terms[rootId];
        Pledge memory current = _pledges[id];
        view_.id = id;
        view_.parentId = parentOf(id);
        view_.rootId = rootId;
        view_.invoiceKey = _invoiceKeys[rootId];
        view_.creditor = _invoices.getInvoice(view_.invoiceKey).seller;
        view_.holder = core.holder;
        view_.debtor = terms.debtor;
        view_.financier = current.financier;
        view_.status = core.status;
        view_.amount = core.amount;
        view_.paid = _paid[id];
        view_.advance = current.advance;
        view_.createdAt = terms.createdAt;
        view_.dueDate = terms.dueDate;
        view_.overdue = _isLive(core.status) && block.timestamp > terms.dueDate;
    }

    /// @dev Status of `id` (None if unknown).
    function statusOf(uint256 id) external view returns (ReceivableStatus) {
        return _cores[id].status;
    }

    /// @dev Current (or, once closed, last) holder of `id`.
    function holderOf(uint256 id) external view returns (address) {
        return _existing(id).holder;
    }

    /// @dev Who a payment on `id` goes to now: the pledgee while Pledged, else the holder.
    function beneficiaryOf(uint256 id) external view returns (address) {
        Core memory core = _existing(id);
        return core.status == ReceivableStatus.Pledged ? _pledges[id].financier : core.holder;
    }

    /// @dev Face value minus payments of a live `id`; zero once closed.
    function outstandingOf(uint256 id) external view returns (uint256) {
        Core memory core = _existing(id);
        return _isLive(core.status) ? core.amount - _paid[id] : 0;
    }

    /// @dev True when `id` is live (Created, Accepted or Pledged) and its due date has passed.
    function isOverdue(uint256 id) external view returns (bool) {
        return _isLive(_existing(id).status) && block.timestamp > _terms[id & _ROOT_MASK].dueDate;
    }

    /// @dev The receivable `id` was split off, or 0 for a root receivable.
    function parentOf(uint256 id) public pure returns (uint256) {
        uint256 depth = _depth(id);
        if (depth == 0) return 0;
        return id & ~(uint256(0xF) << (_ROOT_BITS + (depth - 1) * _DIGIT_BITS));
    }

    /// @dev The root receivable (created from the invoice) of `id`.
    function rootOf(uint256 id) external pure returns (uint256) {
        return id & _ROOT_MASK;
    }

    /// @dev `id`, its parent, ..., up to its root (at most MAX_DEPTH + 1 ids).
    function lineage(uint256 id) external pure returns (uint256[] memory ids) {
        uint256 depth = _depth(id);
        ids = new uint256[](depth + 1);
        for (uint256 i = 0; i <= depth; ++i) {
            ids[i] = id;
            id = parentOf(id);
        }
    }

    /// @dev The id of part `part` (1..MAX_PARTS) of a split of `parentId`.
    function childIdOf(uint256 parentId, uint256 part) external pure returns (uint256) {
        if (part == 0 || part > MAX_PARTS) revert InvalidPartCount(part, MAX_PARTS);
        uint256 depth = _depth(parentId);
        if (depth >= MAX_DEPTH) revert SplitDepthExceeded(parentId);
        return parentId | (part << (_ROOT_BITS + depth * _DIGIT_BITS));
    }

    /// @dev Number of root receivables created on invoice `invoiceKey`.
    function receivableCountOfInvoice(bytes32 invoiceKey) external view returns (uint256) {
        return _invoiceRootCounts[invoiceKey];
    }

    /// @dev The `index`-th root receivable created on invoice `invoiceKey` (0 when out of range).
    function receivableOfInvoiceAt(bytes32 invoiceKey, uint256 index) external view returns (uint256) {
        return _invoiceRoots[invoiceKey][index];
    }

    /// @dev What a new receivable may still draw on invoice `invoiceKey`: open - drawn - settled.
    function availableOfInvoice(bytes32 invoiceKey) external view returns (uint256) {
        IInvoiceRegistry.Invoice memory invoice = _invoices.getInvoice(invoiceKey);
        if (invoice.status != IInvoiceRegistry.InvoiceStatus.Issued && invoice.status != IInvoiceRegistry.InvoiceStatus.Cleared) {
            return 0;
        }
        return _available(invoiceKey, invoice.openAmount, invoice.drawn);
    }

    /// @dev Face value of the receivables settled on invoice `invoiceKey`.
    function settledOfInvoice(bytes32 invoiceKey) external view returns (uint256) {
        return _invoiceSettled[invoiceKey];
    }

    /// @dev The registered account of the buyer with `buyerIdHash`, or zero.
    function buyerAccountOf(bytes20 buyerIdHash) external view returns (address) {
        return _buyers[buyerIdHash];
    }

    /// @dev Number of root receivables created (the highest root id).
    function rootCount() external view returns (uint256) {
        return _rootCount;
    }

    /// @dev The invoice registry and the settlement token this ledger works with.
    function invoiceRegistry() external view returns (IInvoiceRegistry) {
        return _invoices;
    }

    function settlementToken() external view returns (IERC20) {
        return _token;
    }

    /// @dev The EIP-712 domain separator (chain id and this contract included).
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ internals

    function _registerBuyer(bytes20 buyerIdHash, address account, address attestedBy) private {
        if (buyerIdHash == bytes20(0) || account == address(0)) revert InvalidBuyerRegistration(buyerIdHash, account);
        _buyers[buyerIdHash] = account;
        emit BuyerRegistered(buyerIdHash, account, attestedBy);
    }

    function _accept(uint256 id, ReceivableStatus status, address debtor) private {
        _requireCreated(id, status);
        _cores[id].status = ReceivableStatus.Accepted;
        emit ReceivableAccepted(id, debtor, msg.sender);
    }

    function _existing(uint256 id) private view returns (Core memory core) {
        core = _cores[id];
        if (core.status == ReceivableStatus.None) revert ReceivableNotFound(id);
    }

    function _requireCreated(uint256 id, ReceivableStatus status) private pure {
        if (status == ReceivableStatus.Created) return;
        if (_isLive(status)) revert ReceivableAlreadyAccepted(id, status);
        revert ReceivableClosed(id, status);
    }

    /// @dev The caller holds `id`, which is Accepted: it may be transferred, split or pledged.
    function _requireTransferable(uint256 id, Core memory core) private view {
        if (core.status == ReceivableStatus.Accepted && core.holder == msg.sender) return;
        if (core.status == ReceivableStatus.None) revert ReceivableNotFound(id);
        if (core.holder != msg.sender) revert NotHolder(id, msg.sender);
        if (core.status == ReceivableStatus.Pledged) revert ReceivableLocked(id, _pledges[id].financier);
        if (core.status == ReceivableStatus.Created) revert ReceivableNotAccepted(id);
        revert ReceivableClosed(id, core.status);
    }

    function _requirePledged(uint256 id) private view returns (Core memory core) {
        core = _existing(id);
        if (core.status == ReceivableStatus.Pledged) return core;
        if (_isLive(core.status)) revert ReceivableNotPledged(id);
        revert ReceivableClosed(id, core.status);
    }

    function _available(bytes32 invoiceKey, uint256 openAmount, uint256 drawn) private view returns (uint256) {
        uint256 used = drawn + _invoiceSettled[invoiceKey];
        return openAmount > used ? openAmount - used : 0;
    }

    function _isLive(ReceivableStatus status) private pure returns (bool) {
        return status == ReceivableStatus.Created || status == ReceivableStatus.Accepted
            || status == ReceivableStatus.Pledged;
    }

    /// @dev Number of splits between `id` and its root: 4-bit digits above the 64-bit root index.
    function _depth(uint256 id) private pure returns (uint256) {
        uint256 digits = id >> _ROOT_BITS;
        return digits == 0 ? 0 : Math.log2(digits) / _DIGIT_BITS + 1;
    }
}
