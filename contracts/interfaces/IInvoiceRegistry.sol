// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @dev Registry of e-invoices checked on chain by audit rules at issuance, reviewed by
 * auditors, voided or reduced by red-letter notes, and drawn on by receivables.
 * Holds the types, events and custom errors of {InvoiceRegistry}.
 *
 * Amounts are integers in fen. Dates are China calendar dates (UTC+8) as YYYYMMDD.
 * The key of an invoice is `keccak256(bytes(number))`, `number` the 20-digit invoice number.
 */
interface IInvoiceRegistry {
    enum InvoiceStatus {
        None,
        Issued,
        Flagged,
        Cleared,
        Rejected,
        Voided,
        RedLettered
    }

    enum VerifyResult {
        Authentic,
        NotFound,
        Mismatch,
        Voided,
        Flagged,
        Rejected,
        RedLettered
    }

    /// @dev What a merchant (or its operator) submits to register an invoice or a red-letter note.
    struct IssueRequest {
        string number; // 20-digit decimal invoice number
        address seller;
        bytes20 buyerIdHash; // first 20 bytes of keccak256(upper-cased buyer tax ID)
        uint256 net; // fen
        uint256 tax; // fen
        uint256 gross; // fen, must be net + tax
        uint8 rate; // whole percent
        uint16 itemCount; // declared line items (the rounding tolerance grows with it)
        uint8 invoiceType; // 0 ordinary, 1 special VAT
        uint64 issuedAt; // unix seconds
        bytes32 documentHash; // keccak256 of the canonical full document
    }

    /// @dev An invoice as returned by the views.
    struct Invoice {
        bytes32 key;
        address seller;
        bytes20 buyerIdHash;
        uint256 net;
        uint256 tax;
        uint256 gross;
        uint8 rate;
        uint16 itemCount;
        uint8 invoiceType;
        uint64 issuedAt;
        InvoiceStatus status;
        uint8 flags;
        bool isRedLetter;
        bytes32 original; // the invoice a red-letter note reduces, zero otherwise
        uint256 redLettered; // sum of the red-letter notes against this invoice
        uint256 drawn; // amount backing live receivables
        uint256 openAmount; // gross - redLettered (zero for notes, voided and rejected invoices)
        uint256 checkCode; // 20-digit check code, < 1e20
    }

    /// @dev One row of {verifyBatch}.
    struct VerifyQuery {
        bytes32 key;
        uint32 issueDate; // YYYYMMDD, China time
        uint256 amount; // gross or net
        uint32 checkCode6; // last 6 digits of the check code
    }

    /// @dev Audit parameters set by the authority.
    struct AuditParameters {
        uint32 allowedRates; // bit r set: rate r % allowed (rates 0..31)
        uint32 backdatingWindow; // seconds an issue time may lie before the block time
        uint32 futureSkew; // seconds an issue time may lie after the block time
        uint16 perItemTolerance; // fen of rounding tolerance per declared line item
        uint32 voidWindow; // seconds after the issue time an invoice may be voided; 0 = same China month
        bool paused;
    }

    /// @dev Per-merchant counters of the soft rules.
    struct MerchantActivity {
        uint24 month; // YYYYMM (China time) the monthly gross counts
        uint64 monthGross; // gross registered in `month`
        uint32 hour; // hours since the epoch the hourly count counts
        uint32 hourCount; // invoices registered in `hour`
        uint64 issuedCount; // all invoices and notes registered by the merchant
    }

    // ---------------------------------------------------------------- events

    /// @dev Invoice `key` (or a red-letter note) was registered for `seller`. `number` holds the
    /// 20 ASCII digits of the invoice number. The status is Issued when `flags` is 0, Flagged otherwise.
    event InvoiceIssued(
        bytes32 indexed key,
        address indexed seller,
        bytes20 indexed buyerIdHash,
        bytes20 number,
        uint256 net,
        uint256 tax,
        uint8 rate,
        uint8 invoiceType,
        uint64 issuedAt,
        bytes32 documentHash,
        uint8 flags
    );

    /// @dev Invoice `key` was put in the auditors' queue for the soft rules in `flags`.
    event InvoiceFlagged(bytes32 indexed key, address indexed seller, uint8 flags);

    /// @dev `auditor` cleared the flagged invoice `key`.
    event InvoiceCleared(bytes32 indexed key, address indexed auditor, uint16 reasonCode);

    /// @dev `auditor` rejected the flagged invoice `key`.
    event InvoiceRejected(bytes32 indexed key, address indexed auditor, uint16 reasonCode);

    /// @dev `operator` voided the invoice `key` of `seller`.
    event InvoiceVoided(bytes32 indexed key, address indexed seller, address operator);

    /// @dev The red-letter note `noteKey` reduced `originalKey` by `amount`; `openAmount` is left
    /// and the original now has `status` (RedLettered when `openAmount` is zero).
    event InvoiceRedLettered(
        bytes32 indexed originalKey,
        bytes32 indexed noteKey,
        address indexed seller,
        uint256 amount,
        uint8 reasonCode,
        uint256 openAmount,
        InvoiceStatus status
    );

    /// @dev The ledger drew `amount` of invoice `key` for a receivable; `drawn` is the new total.
    event ReceivableDrawn(bytes32 indexed key, address indexed ledger, uint256 amount, uint256 drawn);

    /// @dev The ledger released `amount` of invoice `key` (a receivable closed); `drawn` is the new total.
    event ReceivableReleased(bytes32 indexed key, address indexed ledger, uint256 amount, uint256 drawn);

    /// @dev The authority set the allowed tax rates (bit r = rate r %).
    event AllowedRatesChanged(uint32 allowedRates);

    /// @dev The authority set the issue-time window.
    event IssueTimeWindowChanged(uint32 backdatingWindow, uint32 futureSkew);

    /// @dev The authority set the rounding tolerance per line item.
    event RoundingToleranceChanged(uint16 perItemTolerance);

    /// @dev The authority set the void window (0 = same China calendar month).
    event VoidWindowChanged(uint32 voidWindow);

    /// @dev The per-merchant counters of `merchant` were initialised ahead of its first invoice.
    event MerchantBookOpened(address indexed merchant);

    /// @dev Issuance was paused by `account`.
    event Paused(address account);

    /// @dev Issuance was unpaused by `account`.
    event Unpaused(address account);

    // ---------------------------------------------------------------- errors

    /// @dev `seller` is not an approved, active merchant (status as in IMerchantRegistry.MerchantStatus).
    error MerchantNotActive(address seller, uint8 merchantStatus);

    /// @dev `caller` is neither `seller` nor one of its operators.
    error NotMerchantOrOperator(address caller, address seller);

    /// @dev `number` is not a 20-digit decimal string.
    error InvalidInvoiceNumber(string number);

    /// @dev An invoice with this key is already registered.
    error InvoiceAlreadyRegistered(bytes32 key);

    /// @dev No invoice has this key.
    error InvoiceNotFound(bytes32 key);

    /// @dev `gross` is not `net` + `tax`.
    error GrossMismatch(uint256 net, uint256 tax, uint256 gross);

    /// @dev The gross amount is zero.
    error ZeroAmount();

    /// @dev `amount` does not fit the 48-bit storage of amounts.
    error AmountTooLarge(uint256 amount);

    /// @dev `tax` differs from `net` x `rate` / 100 by more than `tolerance` fen.
    error TaxOutOfTolerance(uint256 net, uint8 rate, uint256 tax, uint256 tolerance);

    /// @dev `rate` is not in the allowed set.
    error RateNotAllowed(uint8 rate);

    /// @dev The declared number of line items is zero.
    error InvalidItemCount(uint16 itemCount);

    /// @dev `invoiceType` is neither 0 (ordinary) nor 1 (special VAT).
    error InvalidInvoiceType(uint8 invoiceType);

    /// @dev The document hash is zero.
    error MissingDocumentHash();

    /// @dev `issuedAt` is later than `latest` (block time + future skew).
    error IssueTimeInFuture(uint64 issuedAt, uint256 latest);

    /// @dev `issuedAt` is earlier than `earliest` (block time - backdating window).
    error IssueTimeTooOld(uint64 issuedAt, uint256 earliest);

    /// @dev `gross` is over the merchant's per-invoice cap.
    error InvoiceCapExceeded(uint256 gross, uint256 cap);

    /// @dev Invoice `key` has `status`, which does not allow the operation.
    error InvalidInvoiceStatus(bytes32 key, InvoiceStatus status);

    /// @dev Invoice `key` is a red-letter note, which does not allow the operation.
    error IsRedLetterNote(bytes32 key);

    /// @dev The void window of invoice `key` (issued at `issuedAt`) has closed.
    error VoidWindowClosed(bytes32 key, uint64 issuedAt);

    /// @dev Invoice `key` backs live receivables worth `drawn`.
    error InvoiceHasReceivable(bytes32 key, uint256 drawn);

    /// @dev Invoice `key` has been reduced by red-letter notes worth `redLettered`.
    error InvoiceHasRedLetterNotes(bytes32 key, uint256 redLettered);

    /// @dev The note's `amount` is over the `openAmount` of invoice `key`.
    error RedLetterExceedsOpenAmount(bytes32 key, uint256 amount, uint256 openAmount);

    /// @dev The note would leave `openAmount` of invoice `key` below the `drawn` receivables.
    error OpenAmountBelowDrawn(bytes32 key, uint256 openAmount, uint256 drawn);

    /// @dev The note's seller differs from the original's.
    error SellerMismatch(bytes32 key, address expected, address actual);

    /// @dev The note's buyer differs from the original's.
    error BuyerMismatch(bytes32 key, bytes20 expected, bytes20 actual);

    /// @dev The note's rate differs from the original's.
    error RateMismatch(bytes32 key, uint8 expected, uint8 actual);

    /// @dev A red-letter note reuses the document hash of invoice `key`.
    error DocumentAlreadyRegistered(bytes32 documentHash, bytes32 key);

    /// @dev The ledger asked for `amount` of invoice `key` with only `available` undrawn.
    error DrawExceedsAvailable(bytes32 key, uint256 amount, uint256 available);

    /// @dev The ledger released `amount` of invoice `key` with only `drawn` drawn.
    error ReleaseExceedsDrawn(bytes32 key, uint256 amount, uint256 drawn);

    /// @dev An allowed-rates mask must be non-zero.
    error InvalidAllowedRates(uint32 allowedRates);

    /// @dev The backdating window must be non-zero.
    error InvalidIssueTimeWindow(uint32 backdatingWindow, uint32 futureSkew);

    /// @dev The operation is refused while the registry is paused.
    error EnforcedPause();

    /// @dev The registry is not paused.
    error ExpectedPause();

    // ---------------------------------------------------------------- state-changing

    /// @dev Registers an invoice after the audit rules; returns its key.
    function issue(IssueRequest calldata request) external returns (bytes32 key);

    /// @dev Registers a red-letter note reducing `originalKey`; returns the note's key.
    function issueRedLetter(bytes32 originalKey, IssueRequest calldata note, uint8 reasonCode)
        external
        returns (bytes32 noteKey);

    /// @dev An auditor clears the flagged invoice `key`.
    function clear(bytes32 key, uint16 reasonCode) external;

    /// @dev An auditor rejects the flagged invoice `key`.
    function reject(bytes32 key, uint16 reasonCode) external;

    /// @dev The seller (or its operator) voids invoice `key`.
    function voidInvoice(bytes32 key) external;

    /// @dev The receivable ledger draws `amount` of invoice `key`.
    function drawForReceivable(bytes32 key, uint256 amount) external;

    /// @dev The receivable ledger releases `amount` of invoice `key`.
    function releaseForReceivable(bytes32 key, uint256 amount) external;

    // ---------------------------------------------------------------- views

    /// @dev The invoice `key`; reverts with {InvoiceNotFound} if unknown.
    function getInvoice(bytes32 key) external view returns (Invoice memory);

    /// @dev The invoice with `number`; reverts with {InvoiceNotFound} if unknown.
    function getInvoiceByNumber(string calldata number) external view returns (Invoice memory);

    /// @dev The key of invoice `number`: keccak256(bytes(number)).
    function keyOf(string calldata number) external pure returns (bytes32);

    /// @dev Gross minus red-lettered of invoice `key` (zero for notes, voided and rejected invoices).
    function openAmount(bytes32 key) external view returns (uint256);

    /// @dev The 20-digit check code of invoice `key`.
    function checkCodeOf(bytes32 key) external view returns (uint256);

    /// @dev Verifies an invoice by number, China issue date, gross or net amount, last 6 check-code digits.
    function verify(string calldata number, uint32 issueDate, uint256 amount, uint32 checkCode6)
        external
        view
        returns (VerifyResult);

    /// @dev {verify} for many invoices by key.
    function verifyBatch(VerifyQuery[] calldata queries) external view returns (VerifyResult[] memory);

    /// @dev True when `documentHash` is the registered document of invoice `key`.
    function verifyDocument(bytes32 key, bytes32 documentHash) external view returns (bool);

    /// @dev Number of invoices (notes included) per status, indexed by InvoiceStatus.
    function statusCounts() external view returns (uint256[7] memory);
}
