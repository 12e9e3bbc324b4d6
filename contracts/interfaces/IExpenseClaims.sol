// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInvoiceRegistry} from "./IInvoiceRegistry.sol";

/**
 * @title IExpenseClaims
 * @notice Reimbursement (报销) of invoices, on chain: when a company's finance approves an
 * expense claim, the company's account marks the claimed invoices here, once and for all;
 * approved claims are collected into payment lists (待支付清单) whose hash and total are
 * registered here, and marked paid with the payment's reference.
 * Holds the structs, events and custom errors of {ExpenseClaims}.
 *
 * Only the invoice's buyer may mark it: the caller opens the invoice's buyer commitment with
 * the document's buyer digest and buyer tag (see IInvoiceRegistry) and must be the account the
 * authority registered for that tag in the receivable ledger's buyer registry
 * (IReceivableLedger.buyerAccountOf). An invoice is marked at most once: a second mark, by any
 * account, reverts with {AlreadyClaimed}.
 */
interface IExpenseClaims {
    /// @notice The mark of one claimed invoice, as returned by {claimOf}.
    struct Claim {
        address claimant; // the buyer's registered account that marked it
        uint40 claimedAt; // block time of the mark
        bytes32 claimRef; // the company's reference of the expense claim (e.g. a hash of its id)
    }

    /// @notice A registered payment list, as returned by {paymentListOf}.
    struct PaymentList {
        address payer; // the buyer account that registered it (the company's finance)
        uint40 registeredAt;
        uint32 claimCount; // approved claims in the list
        uint256 total; // fen
        uint40 paidAt; // 0 while unpaid
        bytes32 paymentRef; // the payment's reference (e.g. hash of the bank transfer), zero while unpaid
    }

    // ---------------------------------------------------------------- events

    /// @notice `claimant`, the buyer's account, marked invoice `key` claimed for the expense claim
    /// `claimRef`; `openAmount` is the invoice's open amount (gross less red-letter notes) then.
    event InvoiceClaimed(bytes32 indexed key, address indexed claimant, bytes32 claimRef, uint256 openAmount);

    /// @notice `payer` registered the payment list `listHash` of `claimCount` claims worth `total` fen.
    event PaymentListRegistered(bytes32 indexed listHash, address indexed payer, uint256 total, uint32 claimCount);

    /// @notice `payer` marked the payment list `listHash` paid by the payment `paymentRef`.
    event PaymentListPaid(bytes32 indexed listHash, address indexed payer, bytes32 paymentRef);

    // ---------------------------------------------------------------- errors

    /// @notice The buyer digest and tag do not open the buyer commitment of invoice `key`.
    error BuyerProofMismatch(bytes32 key);

    /// @notice `caller` is not the account registered for the buyer tag of invoice `key`.
    error NotInvoiceBuyer(bytes32 key, address caller);

    /// @notice Invoice `key` is a red-letter note (a negative invoice): nothing to reimburse.
    error RedLetterNoteNotClaimable(bytes32 key);

    /// @notice Invoice `key` has `status`: only Issued and Cleared invoices may be claimed.
    error InvoiceNotClaimable(bytes32 key, IInvoiceRegistry.InvoiceStatus status);

    /// @notice Invoice `key` was already marked claimed by `claimedBy` at `claimedAt`.
    error AlreadyClaimed(bytes32 key, address claimedBy, uint40 claimedAt);

    /// @notice `caller` has never marked an invoice claimed as its buyer, so it is no buyer account.
    error NotBuyerAccount(address caller);

    /// @notice A payment list needs a non-zero hash, a total in 1..2^216-1 fen and at least one claim.
    error InvalidPaymentList(bytes32 listHash, uint256 total, uint32 claimCount);

    /// @notice The payment list `listHash` was already registered by `payer`.
    error PaymentListAlreadyRegistered(bytes32 listHash, address payer);

    /// @notice No payment list has the hash `listHash`.
    error PaymentListNotFound(bytes32 listHash);

    /// @notice `caller` did not register the payment list `listHash`.
    error NotPaymentListPayer(bytes32 listHash, address caller);

    /// @notice The payment list `listHash` was already marked paid at `paidAt`.
    error PaymentListAlreadyPaid(bytes32 listHash, uint40 paidAt);

    /// @notice The payment reference is zero.
    error MissingPaymentRef(bytes32 listHash);

    // ---------------------------------------------------------------- state-changing

    /**
     * @notice Marks invoice `invoiceKey` claimed (reimbursed) by its buyer, for good.
     * @param invoiceKey The invoice, keccak256(bytes(number)).
     * @param buyerDigest The buyer digest of the invoice's document.
     * @param buyerTag The buyer tag of the invoice's document.
     * @param claimRef The company's reference of the expense claim.
     */
    function markClaimed(bytes32 invoiceKey, bytes32 buyerDigest, bytes32 buyerTag, bytes32 claimRef) external;

    /**
     * @notice Registers a payment list of approved claims by its hash and total.
     * @param listHash Hash of the canonical payment list (off chain).
     * @param total Its total in fen.
     * @param claimCount The claims in it.
     */
    function registerPaymentList(bytes32 listHash, uint256 total, uint32 claimCount) external;

    /**
     * @notice Marks the payment list `listHash` paid.
     * @param listHash The list.
     * @param paymentRef The payment's reference (e.g. a hash of the bank transfer's id).
     */
    function markPaid(bytes32 listHash, bytes32 paymentRef) external;

    // ---------------------------------------------------------------- views

    /**
     * @notice The mark of invoice `invoiceKey`.
     * @param invoiceKey The invoice.
     * @return claimant The account that marked it (zero when unclaimed).
     * @return claimedAt When (0 when unclaimed).
     * @return claimRef The expense claim's reference.
     */
    function claimOf(bytes32 invoiceKey) external view returns (address claimant, uint40 claimedAt, bytes32 claimRef);

    /**
     * @notice Whether invoice `invoiceKey` has been marked claimed.
     * @param invoiceKey The invoice.
     * @return True when it has.
     */
    function isClaimed(bytes32 invoiceKey) external view returns (bool);

    /**
     * @notice Whether `account` has marked an invoice claimed as its buyer (and so may register payment lists).
     * @param account The account.
     * @return True when it has.
     */
    function isBuyerAccount(address account) external view returns (bool);

    /**
     * @notice The payment list `listHash`.
     * @param listHash The list.
     * @return The list (payer zero when none).
     */
    function paymentListOf(bytes32 listHash) external view returns (PaymentList memory);

    /// @notice The invoice registry the claims are checked against.
    function invoiceRegistry() external view returns (address);

    /// @notice The receivable ledger whose buyer registry names the buyers' accounts.
    function buyerRegistry() external view returns (address);
}
