// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IInvoiceRegistry} from "./interfaces/IInvoiceRegistry.sol";
import {IReceivableLedger} from "./interfaces/IReceivableLedger.sol";
import {IExpenseClaims} from "./interfaces/IExpenseClaims.sol";

/**
 * @title ExpenseClaims
 * @notice No double reimbursement, on chain (报销防重复): the buyer company's account marks an
 * invoice claimed when its finance approves the expense claim; a second mark of the same
 * invoice, by any account of any company, reverts with {AlreadyClaimed}. Approved claims are
 * collected into payment lists (待支付清单), registered here by hash and total and marked paid.
 *
 * The buyer is proved as the receivable ledger proves it: the caller opens the invoice's
 * buyer commitment with the document's buyer digest and tag, and must be the account the
 * authority linked to that tag in the ledger's buyer registry ({IReceivableLedger-buyerAccountOf}).
 * This contract keeps no buyer registry of its own: one link per buyer, made once by the
 * authority, serves receivables and reimbursement alike.
 *
 * It only reads the registry and the ledger (no role on either). The authority can pause it.
 */
contract ExpenseClaims is AccessControlDefaultAdminRules, Pausable, IExpenseClaims {
    bytes32 public constant AUTHORITY_ROLE = keccak256("AUTHORITY_ROLE");

    /// @notice Delay of a two-step transfer of the default admin role.
    uint48 public constant ADMIN_TRANSFER_DELAY = 2 days;

    /// @dev The mark of a claimed invoice in one slot; its claim reference in a second.
    struct Mark {
        address claimant;
        uint40 claimedAt;
    }

    /// @dev A payment list: who and when in one slot, the amount and the payment in another.
    struct ListHead {
        address payer;
        uint40 registeredAt;
        uint32 claimCount;
    }

    struct ListPayment {
        uint216 total;
        uint40 paidAt;
    }

    IInvoiceRegistry private immutable _invoices;
    IReceivableLedger private immutable _buyers;

    mapping(bytes32 invoiceKey => Mark) private _marks;
    mapping(bytes32 invoiceKey => bytes32) private _claimRefs;
    mapping(address account => bool) private _buyerAccounts;
    mapping(bytes32 listHash => ListHead) private _listHeads;
    mapping(bytes32 listHash => ListPayment) private _listPayments;
    mapping(bytes32 listHash => bytes32) private _paymentRefs;

    /**
     * @param authority Receives the default admin role (two-step transfer) and AUTHORITY_ROLE.
     * @param invoices The invoice registry.
     * @param buyerRegistry_ The receivable ledger whose buyer registry names the buyers' accounts.
     */
    constructor(address authority, IInvoiceRegistry invoices, IReceivableLedger buyerRegistry_)
        AccessControlDefaultAdminRules(ADMIN_TRANSFER_DELAY, authority)
    {
        _grantRole(AUTHORITY_ROLE, authority);
        _invoices = invoices;
        _buyers = buyerRegistry_;
    }

    // ------------------------------------------------------------------ claims

    /**
     * @inheritdoc IExpenseClaims
     * @dev Requirements:
     * - not paused;
     * - the invoice exists (else the registry's InvoiceNotFound);
     * - `buyerDigest` and `buyerTag` open its buyer commitment;
     * - the caller is the account registered for `buyerTag`;
     * - it is no red-letter note, its status is Issued or Cleared;
     * - it is not claimed yet.
     *
     * Emits an {InvoiceClaimed} event.
     */
    function markClaimed(bytes32 invoiceKey, bytes32 buyerDigest, bytes32 buyerTag, bytes32 claimRef)
        external
        whenNotPaused
    {
        Mark memory mark = _marks[invoiceKey];
        if (mark.claimant != address(0)) revert AlreadyClaimed(invoiceKey, mark.claimant, mark.claimedAt);
        IInvoiceRegistry.Invoice memory invoice = _invoices.getInvoice(invoiceKey);
        if (bytes20(keccak256(abi.encode(buyerDigest, buyerTag))) != invoice.buyerCommitment) {
            revert BuyerProofMismatch(invoiceKey);
        }
        if (_buyers.buyerAccountOf(buyerTag) != msg.sender) revert NotInvoiceBuyer(invoiceKey, msg.sender);
        if (invoice.isRedLetter) revert RedLetterNoteNotClaimable(invoiceKey);
        if (invoice.status != IInvoiceRegistry.InvoiceStatus.Issued
            && invoice.status != IInvoiceRegistry.InvoiceStatus.Cleared) {
            revert InvoiceNotClaimable(invoiceKey, invoice.status);
        }

        _marks[invoiceKey] = Mark(msg.sender, uint40(block.timestamp));
        if (claimRef != bytes32(0)) _claimRefs[invoiceKey] = claimRef;
        if (!_buyerAccounts[msg.sender]) _buyerAccounts[msg.sender] = true;
        emit InvoiceClaimed(invoiceKey, msg.sender, claimRef, invoice.openAmount);
    }

    // ------------------------------------------------------------------ payment lists

    /**
     * @inheritdoc IExpenseClaims
     * @dev Requirements: not paused; the caller has marked at least one invoice claimed as its
     * buyer ({isBuyerAccount}); `listHash` non-zero and not registered; 0 < `total` < 2^216;
     * `claimCount` > 0.
     *
     * Emits a {PaymentListRegistered} event.
     */
    function registerPaymentList(bytes32 listHash, uint256 total, uint32 claimCount) external whenNotPaused {
        if (!_buyerAccounts[msg.sender]) revert NotBuyerAccount(msg.sender);
        if (listHash == bytes32(0) || total == 0 || total > type(uint216).max || claimCount == 0) {
            revert InvalidPaymentList(listHash, total, claimCount);
        }
        address payer = _listHeads[listHash].payer;
        if (payer != address(0)) revert PaymentListAlreadyRegistered(listHash, payer);
        _listHeads[listHash] = ListHead(msg.sender, uint40(block.timestamp), claimCount);
        _listPayments[listHash] = ListPayment(uint216(total), 0);
        emit PaymentListRegistered(listHash, msg.sender, total, claimCount);
    }

    /**
     * @inheritdoc IExpenseClaims
     * @dev Requirements: not paused; the list exists, the caller registered it, it is unpaid;
     * `paymentRef` non-zero.
     *
     * Emits a {PaymentListPaid} event.
     */
    function markPaid(bytes32 listHash, bytes32 paymentRef) external whenNotPaused {
        address payer = _listHeads[listHash].payer;
        if (payer == address(0)) revert PaymentListNotFound(listHash);
        if (payer != msg.sender) revert NotPaymentListPayer(listHash, msg.sender);
        ListPayment storage payment = _listPayments[listHash];
        uint40 paidAt = payment.paidAt;
        if (paidAt != 0) revert PaymentListAlreadyPaid(listHash, paidAt);
        if (paymentRef == bytes32(0)) revert MissingPaymentRef(listHash);
        payment.paidAt = uint40(block.timestamp);
        _paymentRefs[listHash] = paymentRef;
        emit PaymentListPaid(listHash, msg.sender, paymentRef);
    }

    // ------------------------------------------------------------------ pause

    /**
     * @notice Pauses marking claims and registering or paying payment lists.
     * @dev Requirements: caller has AUTHORITY_ROLE; not paused.
     *
     * Emits a {Paused} event.
     */
    function pause() external onlyRole(AUTHORITY_ROLE) {
        _pause();
    }

    /**
     * @notice Lifts the pause.
     * @dev Requirements: caller has AUTHORITY_ROLE; paused.
     *
     * Emits an {Unpaused} event.
     */
    function unpause() external onlyRole(AUTHORITY_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IExpenseClaims
    function claimOf(bytes32 invoiceKey) external view returns (address claimant, uint40 claimedAt, bytes32 claimRef) {
        Mark memory mark = _marks[invoiceKey];
        return (mark.claimant, mark.claimedAt, _claimRefs[invoiceKey]);
    }

    /// @inheritdoc IExpenseClaims
    function isClaimed(bytes32 invoiceKey) external view returns (bool) {
        // slither-disable-next-line timestamp -- the claimant compared with zero, not a time
        return _marks[invoiceKey].claimant != address(0);
    }

    /// @inheritdoc IExpenseClaims
    function isBuyerAccount(address account) external view returns (bool) {
        return _buyerAccounts[account];
    }

    /// @inheritdoc IExpenseClaims
    function paymentListOf(bytes32 listHash) external view returns (PaymentList memory list) {
        ListHead memory head = _listHeads[listHash];
        ListPayment memory payment = _listPayments[listHash];
        list = PaymentList(
            head.payer, head.registeredAt, head.claimCount, payment.total, payment.paidAt, _paymentRefs[listHash]
        );
    }

    /// @inheritdoc IExpenseClaims
    function invoiceRegistry() external view returns (address) {
        return address(_invoices);
    }

    /// @inheritdoc IExpenseClaims
    function buyerRegistry() external view returns (address) {
        return address(_buyers);
    }
}
