// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IInvoiceRegistry
 * @notice Registry of e-invoices checked on chain by audit rules at issuance, reviewed by
 * auditors, voided or reduced by red-letter notes, and drawn on by receivables.
 * Holds the types, events and custom errors of {InvoiceRegistry}.
 *
 * Amounts are integers in fen. Dates are China calendar dates (UTC+8) as YYYYMMDD.
 * The key of an invoice is `keccak256(bytes(number))`, `number` the 20-digit invoice number.
 * Numbers belong to merchants: the authority allocates each merchant a range (号段) and an
 * invoice number outside its seller's range is refused.
 *
 * The buyer is never on chain in the clear. `buyerCommitment` is
 * `bytes20(keccak256(abi.encode(buyerDigest, buyerTag)))` with
 * `buyerDigest = keccak256(abi.encode(salt, keccak256(bytes(buyerTaxId))))`, a fresh random
 * `salt` per invoice and `buyerTag` the operator's keyed tag of the buyer (HMAC); salt, tax ID
 * and tag travel in the off-chain document, so its holder can prove who the buyer is
 * ({verifyBuyer}). `buyerTagForSeller = bytes12(keccak256(abi.encode(selfDealingTag, seller)))`,
 * `selfDealingTag` a second keyed tag of the buyer's tax ID that is never published (buyer tags
 * are, when a ledger registers a buyer), lets the self-dealing rule compare buyer and seller
 * without linking a buyer across sellers.
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
        RedLettered, // fully reversed by red-letter notes
        PartlyRedLettered, // valid for its open amount: red-letter notes reduced part of it
        RedLetterNote // the number is a red-letter note (a negative invoice), not an invoice
    }

    /// @notice The lines of one tax rate on an invoice: their count, net and tax in fen.
    struct RateGroup {
        uint8 rate; // whole percent
        uint16 itemCount; // line items at this rate
        uint256 net;
        uint256 tax;
    }

    /// @notice What a merchant (or its operator) submits to register an invoice or a red-letter note.
    struct IssueRequest {
        string number; // 20-digit decimal invoice number from the seller's range
        address seller;
        bytes20 buyerCommitment; // salted commitment to the buyer (see the interface notes)
        bytes12 buyerTagForSeller; // the buyer's keyed tag scoped to the seller (self-dealing rule)
        uint256 net; // fen, sum of the groups' net
        uint256 tax; // fen, sum of the groups' tax
        uint256 gross; // fen, must be net + tax
        uint8 invoiceType; // 0 ordinary, 1 special VAT
        uint64 issuedAt; // unix seconds
        bytes32 documentHash; // keccak256 of the canonical full document
        RateGroup[] groups; // one per rate, rates strictly ascending
    }

    /// @notice An invoice as returned by the views.
    struct Invoice {
        bytes32 key;
        address seller;
        bytes20 buyerCommitment;
        uint256 net;
        uint256 tax;
        uint256 gross;
        uint32 rateMask; // bit r set: the invoice has lines at rate r %
        uint16 itemCount;
        uint8 invoiceType;
        uint64 issuedAt;
        InvoiceStatus status;
        uint8 flags;
        bool isRedLetter;
        bytes32 original; // the invoice a red-letter note reduces, zero otherwise
        uint256 redLettered; // sum of the red-letter notes against this invoice
        uint256 drawn; // amount backing live receivables
        uint256 settled; // amount of receivables paid in full (any ledger)
        uint256 openAmount; // gross - redLettered (zero for notes, voided and rejected invoices)
        uint256 checkCode; // 20-digit check code, < 1e20
    }

    /// @notice One row of {verifyBatch}.
    struct VerifyQuery {
        bytes32 key;
        uint32 issueDate; // YYYYMMDD, China time
        uint256 amount; // gross or net
        uint32 checkCode6; // last 6 digits of the check code
    }

    /// @notice Audit parameters set by the authority.
    struct AuditParameters {
        uint32 allowedRates; // bit r set: rate r % allowed (rates 0..23)
        uint32 backdatingWindow; // seconds an issue time may lie before the block time
        uint32 futureSkew; // seconds an issue time may lie after the block time
        uint16 perItemTolerance; // fen of rounding tolerance per line item (see {issue})
        uint32 voidWindow; // seconds after the issue time an invoice may be voided; 0 = same China month
        bool paused;
    }

    /// @notice Per-merchant book: soft-rule counters and the allocated number range.
    struct MerchantActivity {
        uint24 month; // YYYYMM (China time) the monthly gross counts
        uint64 monthGross; // gross registered in `month` (saturates at 2^48 - 1)
        uint32 hour; // hours since the epoch (mod 2^24) the hourly count counts
        uint32 hourCount; // invoices registered in `hour` (saturates at 2^16 - 1)
        uint256 rangeFirst; // first number of the merchant's range (0: none)
        uint256 rangeLast; // last number of the merchant's range
    }

    // ---------------------------------------------------------------- events

    /**
     * @notice Invoice `key` (or a red-letter note) was registered for `seller`: everything its
     * record holds. `number` is the 20 ASCII digits of the number. `groups` has one word per
     * rate group, `rate << 112 | itemCount << 96 | net << 48 | tax` (one word instead of four
     * keeps issuance cheap); the invoice's net, tax and item count are their sums, its rate mask
     * their rates. The status is Issued when `flags` is 0, Flagged otherwise.
     */
    event InvoiceIssued(
        bytes32 indexed key,
        address indexed seller,
        bytes20 number,
        bytes20 buyerCommitment,
        uint8 invoiceType,
        uint64 issuedAt,
        bytes32 documentHash,
        uint8 flags,
        uint256[] groups
    );

    /// @notice Invoice `key` was put in the auditors' queue for the soft rules in `flags`.
    event InvoiceFlagged(bytes32 indexed key, address indexed seller, uint8 flags);

    /// @notice `auditor` cleared the flagged invoice `key`.
    event InvoiceCleared(bytes32 indexed key, address indexed auditor, uint16 reasonCode);

    /// @notice `auditor` rejected the flagged invoice `key`.
    event InvoiceRejected(bytes32 indexed key, address indexed auditor, uint16 reasonCode);

    /// @notice `operator` voided the invoice `key` of `seller`.
    event InvoiceVoided(bytes32 indexed key, address indexed seller, address operator);

    /// @notice The red-letter note `noteKey` reduced `originalKey` by `amount`; `openAmount` is left
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

    /// @notice `ledger` drew `amount` of invoice `key` for a receivable; `drawn` is the new total.
    event InvoiceAmountDrawn(bytes32 indexed key, address indexed ledger, uint256 amount, uint256 drawn);

    /// @notice `ledger` gave back `amount` of invoice `key` (a receivable closed unpaid); `drawn` is the new total.
    event InvoiceDrawReleased(bytes32 indexed key, address indexed ledger, uint256 amount, uint256 drawn);

    /// @notice Receivables of `ledger` on invoice `key` were paid in full for `amount`: moved from
    /// drawn to settled, never to be drawn again.
    event InvoiceAmountSettled(
        bytes32 indexed key,
        address indexed ledger,
        uint256 amount,
        uint256 drawn,
        uint256 settled
    );

    /// @notice The authority allocated the numbers `first`..`last` to `merchant`, replacing its previous range.
    event NumberRangeAllocated(address indexed merchant, uint32 indexed prefix, uint256 first, uint256 last);

    /// @notice The authority set the allowed tax rates (bit r = rate r %).
    event AllowedRatesChanged(uint32 allowedRates);

    /// @notice The authority set the issue-time window.
    event IssueTimeWindowChanged(uint32 backdatingWindow, uint32 futureSkew);

    /// @notice The authority set the rounding tolerance per line item.
    event RoundingToleranceChanged(uint16 perItemTolerance);

    /// @notice The authority set the void window (0 = same China calendar month).
    event VoidWindowChanged(uint32 voidWindow);

    // ---------------------------------------------------------------- errors

    /// @notice `seller` is not an approved, active merchant (status as in IMerchantRegistry.MerchantStatus).
    error MerchantNotActive(address seller, uint8 merchantStatus);

    /// @notice `caller` is neither `seller` nor one of its operators.
    error NotMerchantOrOperator(address caller, address seller);

    /// @notice `number` is not a 20-digit decimal string.
    error InvalidInvoiceNumber(string number);

    /// @notice `number` is not in the seller's allocated range `first`..`last` (0..0: none allocated).
    error NumberNotInSellerRange(uint256 number, uint256 first, uint256 last);

    /// @notice A range needs a 5-digit prefix and 1..`available` numbers.
    error InvalidNumberRange(uint32 prefix, uint64 count, uint256 available);

    /// @notice An invoice with this key is already registered.
    error InvoiceAlreadyRegistered(bytes32 key);

    /// @notice No invoice has this key.
    error InvoiceNotFound(bytes32 key);

    /// @notice `gross` is not `net` + `tax`.
    error GrossMismatch(uint256 net, uint256 tax, uint256 gross);

    /// @notice The declared totals are not the sums of the rate groups.
    error RateGroupTotalsMismatch(uint256 net, uint256 tax, uint256 groupsNet, uint256 groupsTax);

    /// @notice An invoice needs 1..24 rate groups in strictly ascending rate order; `rate` breaks it.
    error InvalidRateGroups(uint256 groupCount, uint8 rate);

    /// @notice The gross amount is zero.
    error ZeroAmount();

    /// @notice `amount` does not fit the 48-bit storage of amounts.
    error AmountTooLarge(uint256 amount);

    /// @notice The tax of the `rate` % group differs from `net` x `rate` / 100 by more than `tolerance` fen.
    error TaxOutOfTolerance(uint8 rate, uint256 net, uint256 tax, uint256 tolerance);

    /// @notice `rate` is not in the allowed set.
    error RateNotAllowed(uint8 rate);

    /// @notice A rate group has no line items, or the invoice more than `maxItems`.
    error InvalidItemCount(uint256 itemCount, uint256 maxItems);

    /// @notice `invoiceType` is neither 0 (ordinary) nor 1 (special VAT).
    error InvalidInvoiceType(uint8 invoiceType);

    /// @notice The document hash is zero.
    error MissingDocumentHash();

    /// @notice `issuedAt` is later than `latest` (block time + future skew).
    error IssueTimeInFuture(uint64 issuedAt, uint256 latest);

    /// @notice `issuedAt` is earlier than `earliest` (block time - backdating window).
    error IssueTimeTooOld(uint64 issuedAt, uint256 earliest);

    /// @notice `gross` is over the merchant's per-invoice cap.
    error InvoiceCapExceeded(uint256 gross, uint256 cap);

    /// @notice A batch holds 1..`maxSize` requests.
    error InvalidBatchSize(uint256 size, uint256 maxSize);

    /// @notice Request `index` of a batch has another seller than the first request.
    error BatchSellerMismatch(uint256 index, address seller);

    /// @notice Invoice `key` has `status`, which does not allow the operation.
    error InvalidInvoiceStatus(bytes32 key, InvoiceStatus status);

    /// @notice Invoice `key` is a red-letter note, which does not allow the operation.
    error IsRedLetterNote(bytes32 key);

    /// @notice The void window of invoice `key` (issued at `issuedAt`) has closed.
    error VoidWindowClosed(bytes32 key, uint64 issuedAt);

    /// @notice Invoice `key` backs receivables (live or paid) worth `receivables`.
    error InvoiceHasReceivable(bytes32 key, uint256 receivables);

    /// @notice Invoice `key` has been reduced by red-letter notes worth `redLettered`.
    error InvoiceHasRedLetterNotes(bytes32 key, uint256 redLettered);

    /// @notice The note's `amount` is over the `openAmount` of invoice `key`.
    error RedLetterExceedsOpenAmount(bytes32 key, uint256 amount, uint256 openAmount);

    /// @notice The note would leave `openAmount` of invoice `key` below its `receivables` (drawn + settled).
    error OpenAmountBelowReceivables(bytes32 key, uint256 openAmount, uint256 receivables);

    /// @notice The note's seller differs from the original's.
    error SellerMismatch(bytes32 key, address expected, address actual);

    /// @notice The note's buyer commitment differs from the original's.
    error BuyerMismatch(bytes32 key, bytes20 expected, bytes20 actual);

    /// @notice The note has rates (`actualMask`) the original (`expectedMask`) does not have.
    error RateMismatch(bytes32 key, uint32 expectedMask, uint32 actualMask);

    /// @notice The seller already registered `documentHash` as invoice `key` (red-letter notes need a new document).
    error DocumentAlreadyRegistered(bytes32 documentHash, bytes32 key);

    /// @notice The ledger asked for `amount` of invoice `key` with only `available` undrawn.
    error DrawExceedsAvailable(bytes32 key, uint256 amount, uint256 available);

    /// @notice The ledger released or settled `amount` of invoice `key` with only `drawn` drawn.
    error ReleaseExceedsDrawn(bytes32 key, uint256 amount, uint256 drawn);

    /// @notice An allowed-rates mask must be non-zero and use rates 0..23 only.
    error InvalidAllowedRates(uint32 allowedRates);

    /// @notice The backdating window must be non-zero.
    error InvalidIssueTimeWindow(uint32 backdatingWindow, uint32 futureSkew);

    // ---------------------------------------------------------------- state-changing

    /**
     * @notice Registers an invoice after the audit rules.
     * @param request The invoice's on-chain fields.
     * @return key The invoice key, keccak256(bytes(number)).
     */
    function issue(IssueRequest calldata request) external returns (bytes32 key);

    /**
     * @notice Registers up to MAX_BATCH_SIZE invoices of one seller, each audited exactly as by
     * {issue}; any hard-rule failure reverts the whole batch with that invoice's error.
     * @param requests The invoices, all with the same seller.
     * @return keys Their keys, in order.
     */
    function issueBatch(IssueRequest[] calldata requests) external returns (bytes32[] memory keys);

    /**
     * @notice Registers a red-letter note reducing invoice `originalKey` by `note.gross`.
     * @param originalKey The invoice reduced.
     * @param note The note's fields (amounts are positive magnitudes).
     * @param reasonCode Why (e.g. 1 sales return, 2 discount, 3 error), recorded in the event.
     * @return noteKey The note's key.
     */
    function issueRedLetter(bytes32 originalKey, IssueRequest calldata note, uint8 reasonCode)
        external
        returns (bytes32 noteKey);

    /**
     * @notice An auditor clears the flagged invoice `key`.
     * @param key The invoice.
     * @param reasonCode The auditor's reason code.
     */
    function clear(bytes32 key, uint16 reasonCode) external;

    /**
     * @notice An auditor rejects the flagged invoice `key`.
     * @param key The invoice.
     * @param reasonCode The auditor's reason code.
     */
    function reject(bytes32 key, uint16 reasonCode) external;

    /**
     * @notice The seller (or its operator) voids invoice `key`.
     * @param key The invoice.
     */
    function voidInvoice(bytes32 key) external;

    /**
     * @notice A receivable ledger reserves `amount` of invoice `key` for a new receivable.
     * @param key The invoice.
     * @param amount Fen, at most {availableForReceivable}.
     */
    function drawForReceivable(bytes32 key, uint256 amount) external;

    /**
     * @notice A receivable ledger gives back `amount` of invoice `key` (a receivable closed unpaid).
     * @param key The invoice.
     * @param amount Fen, at most what is drawn.
     */
    function releaseForReceivable(bytes32 key, uint256 amount) external;

    /**
     * @notice A receivable ledger records that receivables worth `amount` of invoice `key` were
     * paid in full: the amount moves from drawn to settled.
     * @param key The invoice.
     * @param amount Fen, at most what is drawn.
     */
    function settleForReceivable(bytes32 key, uint256 amount) external;

    /**
     * @notice The authority allocates `count` fresh numbers under a 5-digit `prefix` (year,
     * region, channel) to `merchant`; ranges never overlap.
     * @param merchant An approved merchant.
     * @param prefix The first 5 digits of the numbers, below 100000.
     * @param count How many numbers.
     * @return first The first number of the range.
     * @return last The last number of the range.
     */
    function allocateNumberRange(address merchant, uint32 prefix, uint64 count)
        external
        returns (uint256 first, uint256 last);

    // ---------------------------------------------------------------- views

    /**
     * @notice The merchant registry the audit rules read.
     * @return The MerchantRegistry address.
     */
    function merchantRegistry() external view returns (address);

    /**
     * @notice The invoice `key`; reverts with {InvoiceNotFound} if unknown.
     * @param key The invoice key.
     * @return The invoice.
     */
    function getInvoice(bytes32 key) external view returns (Invoice memory);

    /**
     * @notice The invoice with `number`; reverts with {InvoiceNotFound} if unknown.
     * @param number The 20-digit number.
     * @return The invoice.
     */
    function getInvoiceByNumber(string calldata number) external view returns (Invoice memory);

    /**
     * @notice The key of invoice `number`.
     * @param number The 20-digit number.
     * @return keccak256(bytes(number)).
     */
    function keyOf(string calldata number) external pure returns (bytes32);

    /**
     * @notice Gross minus red-lettered of invoice `key`.
     * @param key The invoice.
     * @return Fen (zero for notes, voided and rejected invoices).
     */
    function openAmount(bytes32 key) external view returns (uint256);

    /**
     * @notice What a new receivable may still draw on invoice `key`: open - drawn - settled.
     * @param key The invoice.
     * @return Fen (zero unless the invoice is Issued or Cleared).
     */
    function availableForReceivable(bytes32 key) external view returns (uint256);

    /**
     * @notice The 20-digit check code of invoice `key`.
     * @param key The invoice.
     * @return The check code, below 1e20.
     */
    function checkCodeOf(bytes32 key) external view returns (uint256);

    /**
     * @notice Verifies an invoice by its four elements.
     * @param number The 20-digit number.
     * @param issueDate China issue date as YYYYMMDD.
     * @param amount Gross or net, in fen.
     * @param checkCode6 Last 6 digits of the check code.
     * @return The result.
     */
    function verify(string calldata number, uint32 issueDate, uint256 amount, uint32 checkCode6)
        external
        view
        returns (VerifyResult);

    /**
     * @notice {verify} for many invoices by key.
     * @param queries The rows.
     * @return One result per row.
     */
    function verifyBatch(VerifyQuery[] calldata queries) external view returns (VerifyResult[] memory);

    /**
     * @notice Whether `documentHash` is the registered document of invoice `key`.
     * @param key The invoice.
     * @param documentHash keccak256 of the canonical document.
     * @return True when it is.
     */
    function verifyDocument(bytes32 key, bytes32 documentHash) external view returns (bool);

    /**
     * @notice Whether invoice `key` was issued to the buyer with `buyerTaxId`, given the salt and tag
     * from its document.
     * @param key The invoice.
     * @param salt The document's buyer salt.
     * @param buyerTaxId The buyer's tax ID (upper case).
     * @param buyerTag The document's buyer tag.
     * @return True when the commitment opens to these values.
     */
    function verifyBuyer(bytes32 key, bytes32 salt, string calldata buyerTaxId, bytes32 buyerTag)
        external
        view
        returns (bool);

    /**
     * @notice The buyer commitment and digest for a salt, tax ID and tag.
     * @param salt A fresh random value per invoice.
     * @param buyerTaxId The buyer's tax ID (upper case).
     * @param buyerTag The operator's keyed tag of the buyer.
     * @return commitment What {issue} takes as `buyerCommitment`.
     * @return digest What a receivable ledger takes to prove the buyer without its tax ID.
     */
    function buyerCommitmentOf(bytes32 salt, string calldata buyerTaxId, bytes32 buyerTag)
        external
        pure
        returns (bytes20 commitment, bytes32 digest);

    /**
     * @notice The number range allocated to `merchant`.
     * @param merchant The merchant.
     * @return first First number (0 when none).
     * @return last Last number.
     */
    function numberRangeOf(address merchant) external view returns (uint256 first, uint256 last);

}
