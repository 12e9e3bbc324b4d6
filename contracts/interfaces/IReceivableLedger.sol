// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @dev Receivables (应收账款) created from registered invoices: accepted by the debtor,
 * transferred, split, pledged to a financier, financed and settled in an ERC-20.
 * Holds the enums, structs, events and custom errors of {ReceivableLedger}.
 *
 * Receivable ids encode their lineage: the low 64 bits are the index of the root
 * receivable (created from an invoice, 1, 2, 3, ...); every split appends one 4-bit digit
 * (1..MAX_PARTS) above bit 64. `parentOf`, `rootOf` and `lineage` decode it, so a child
 * records its parent without a storage write.
 */
interface IReceivableLedger {
    enum ReceivableStatus {
        None, // no such receivable
        Created, // created by the seller, waiting for the debtor's acceptance
        Accepted, // the debtor confirmed the debt: transferable, splittable, pledgeable
        Pledged, // pledged to a financier: locked (no transfer, split or second pledge)
        Split, // closed: replaced by its parts
        Settled, // closed: fully paid by the debtor
        Cancelled, // closed: withdrawn by the holder before acceptance
        Declined // closed: refused by the debtor
    }

    /// @dev Everything known about one receivable, as returned by {getReceivable}.
    struct ReceivableView {
        uint256 id;
        uint256 parentId; // 0 for a root receivable
        uint256 rootId;
        bytes32 invoiceKey;
        address creditor; // the invoice seller that created the root
        address holder; // current owner of the claim
        address debtor; // the buyer's registered account
        address financier; // pledgee while Pledged (kept when settled while pledged), else zero
        ReceivableStatus status;
        uint256 amount; // face value, fen
        uint256 paid; // settled so far, fen
        uint256 advance; // financed by the current pledgee so far, fen
        uint40 createdAt; // of the root
        uint40 dueDate;
        bool overdue; // live and past its due date
    }

    /// @dev `account` is the registered on-chain account of the buyer whose tax-ID hash is `buyerIdHash`.
    event BuyerRegistered(bytes20 indexed buyerIdHash, address indexed account, address indexed attestedBy);

    /// @dev `creditor` created root receivable `id` on invoice `invoiceKey` against `debtor`.
    event ReceivableCreated(
        uint256 indexed id,
        address indexed creditor,
        address indexed debtor,
        bytes32 invoiceKey,
        uint256 amount,
        uint40 dueDate
    );

    /// @dev `debtor` accepted receivable `id`; `relayer` sent the transaction (the debtor itself when direct).
    event ReceivableAccepted(uint256 indexed id, address indexed debtor, address indexed relayer);

    /// @dev `holder` withdrew receivable `id` before acceptance.
    event ReceivableCancelled(uint256 indexed id, address indexed holder);

    /// @dev `debtor` refused receivable `id`.
    event ReceivableDeclined(uint256 indexed id, address indexed debtor);

    /// @dev Receivable `id` passed from `from` to `to`.
    event ReceivableTransferred(uint256 indexed id, address indexed from, address indexed to);

    /// @dev Part `childId` of `amount` fen, held by `holder`, was split off `parentId` (one event per part).
    event ReceivableSplit(uint256 indexed parentId, uint256 indexed childId, address indexed holder, uint256 amount);

    /// @dev `holder` pledged receivable `id` to `financier`.
    event ReceivablePledged(uint256 indexed id, address indexed holder, address indexed financier);

    /// @dev `financier` paid `amount` fen to `holder` against pledged receivable `id`; `totalAdvance` so far.
    event ReceivableFinanced(
        uint256 indexed id,
        address indexed financier,
        address indexed holder,
        uint256 amount,
        uint256 totalAdvance
    );

    /// @dev `financier` released its pledge on receivable `id` after advancing `totalAdvance` fen.
    event ReceivableReleased(uint256 indexed id, address indexed financier, address indexed holder, uint256 totalAdvance);

    /// @dev `debtor` paid `amount` fen to `beneficiary` on receivable `id`; `outstanding` is left (0: settled).
    event ReceivableSettled(
        uint256 indexed id,
        address indexed debtor,
        address indexed beneficiary,
        uint256 amount,
        uint256 outstanding
    );

    /// @dev No receivable `id`.
    error ReceivableNotFound(uint256 id);

    /// @dev `account` is not the holder of receivable `id`.
    error NotHolder(uint256 id, address account);

    /// @dev `account` is not the debtor of receivable `id`.
    error NotDebtor(uint256 id, address account);

    /// @dev `account` is not the financier receivable `id` is pledged to.
    error NotPledgee(uint256 id, address account);

    /// @dev `account` lacks FINANCIER_ROLE.
    error NotFinancier(address account);

    /// @dev `account` is not the seller of invoice `invoiceKey`.
    error NotInvoiceSeller(bytes32 invoiceKey, address account);

    /// @dev Invoice `invoiceKey` is in status `status`: only Issued or Cleared invoices back receivables.
    error InvoiceNotEligible(bytes32 invoiceKey, uint8 status);

    /// @dev `amount` exceeds the `available` part of invoice `invoiceKey` (open amount minus receivables drawn and settled).
    error ExceedsInvoiceAvailable(bytes32 invoiceKey, uint256 amount, uint256 available);

    /// @dev Amount zero or too large for the ledger (above 2^88 - 1 fen).
    error InvalidAmount(uint256 amount);

    /// @dev `dueDate` is not in the future.
    error DueDateNotInFuture(uint40 dueDate);

    /// @dev No account registered for buyer tax-ID hash `buyerIdHash`.
    error BuyerNotRegistered(bytes20 buyerIdHash);

    /// @dev `buyerIdHash` is already registered to `account`.
    error BuyerAlreadyRegistered(bytes20 buyerIdHash, address account);

    /// @dev Zero buyer hash or zero account.
    error InvalidBuyerRegistration(bytes20 buyerIdHash, address account);

    /// @dev Receivable `id` is pledged to `financier`: no transfer, split or second pledge.
    error ReceivableLocked(uint256 id, address financier);

    /// @dev Receivable `id` is closed (`status` Split, Settled, Cancelled or Declined).
    error ReceivableClosed(uint256 id, ReceivableStatus status);

    /// @dev Receivable `id` is still waiting for the debtor's acceptance.
    error ReceivableNotAccepted(uint256 id);

    /// @dev Receivable `id` has already been accepted (status `status`).
    error ReceivableAlreadyAccepted(uint256 id, ReceivableStatus status);

    /// @dev Receivable `id` is not pledged.
    error ReceivableNotPledged(uint256 id);

    /// @dev Receivable `id` was partly paid (`paid` fen): it can no longer be split.
    error ReceivablePartiallySettled(uint256 id, uint256 paid);

    /// @dev Transfer to the zero address or to the current holder.
    error InvalidRecipient(address to);

    /// @dev A split needs 2..MAX_PARTS parts; `parts` given.
    error InvalidPartCount(uint256 parts, uint256 maxParts);

    /// @dev The parts sum to `total` where the parent's face value is `expected`.
    error SplitAmountMismatch(uint256 total, uint256 expected);

    /// @dev Receivable `id` sits at the deepest split level.
    error SplitDepthExceeded(uint256 id);

    /// @dev The financier's total advance `advance` would exceed the face value `amount`.
    error AdvanceExceedsFaceValue(uint256 id, uint256 advance, uint256 amount);

    /// @dev Paying `amount` fen exceeds the `outstanding` fen of receivable `id`.
    error SettlementExceedsOutstanding(uint256 id, uint256 amount, uint256 outstanding);

    /// @dev The signature's `deadline` has passed.
    error ExpiredSignature(uint256 deadline);

    /// @dev The signature is not `expectedSigner`'s (wrong signer, wrong chain, wrong contract or altered data).
    error InvalidSignature(address expectedSigner);

    /// @dev `signer` of a buyer attestation lacks AUTHORITY_ROLE.
    error InvalidAttestor(address signer);

    function registerBuyer(bytes20 buyerIdHash, address account) external;

    function claimBuyer(bytes20 buyerIdHash, address account, uint256 deadline, bytes calldata attestation) external;

    function create(bytes32 invoiceKey, uint256 amount, uint40 dueDate) external returns (uint256 id);

    function accept(uint256 id) external;

    function acceptBySignature(uint256 id, uint256 nonce, uint256 deadline, bytes calldata signature) external;

    function cancel(uint256 id) external;

    function decline(uint256 id) external;

    function transfer(uint256 id, address to) external;

    function split(uint256 id, uint256[] calldata amounts) external returns (uint256[] memory childIds);

    function pledge(uint256 id, address financier) external;

    function finance(uint256 id, uint256 amount) external;

    function release(uint256 id) external;

    function settle(uint256 id, uint256 amount) external;

    function getReceivable(uint256 id) external view returns (ReceivableView memory);

    function statusOf(uint256 id) external view returns (ReceivableStatus);

    function holderOf(uint256 id) external view returns (address);

    function beneficiaryOf(uint256 id) external view returns (address);

    function outstandingOf(uint256 id) external view returns (uint256);

    function isOverdue(uint256 id) external view returns (bool);

    function parentOf(uint256 id) external pure returns (uint256);

    function rootOf(uint256 id) external pure returns (uint256);

    function lineage(uint256 id) external pure returns (uint256[] memory ids);

    function childIdOf(uint256 parentId, uint256 part) external pure returns (uint256);

    function receivableCountOfInvoice(bytes32 invoiceKey) external view returns (uint256);

    function receivableOfInvoiceAt(bytes32 invoiceKey, uint256 index) external view returns (uint256);

    function availableOfInvoice(bytes32 invoiceKey) external view returns (uint256);

    function buyerAccountOf(bytes20 buyerIdHash) external view returns (address);

    function rootCount() external view returns (uint256);
}
