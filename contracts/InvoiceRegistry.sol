// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IInvoiceRegistry} from "./interfaces/IInvoiceRegistry.sol";
import {IMerchantRegistry} from "./interfaces/IMerchantRegistry.sol";
import {ChinaCalendar} from "./libraries/ChinaCalendar.sol";

/**
 * @title InvoiceRegistry
 * @notice E-invoices registered on chain and checked by audit rules the moment they are issued.
 *
 * Hard rules revert with a named custom error: merchant approved and active, caller the
 * merchant or its operator, number in the seller's allocated range and new, gross = net + tax,
 * net and tax the sums of the rate groups, each group's tax = net x rate within a bounded
 * rounding tolerance, rates allowed, issue time within the window, gross within the
 * merchant's per-invoice cap. Soft rules register the invoice as Flagged with a flag bit
 * per reason (see the FLAG_ constants): monthly quota exceeded, the seller registered the
 * document before, buyer = seller, more invoices this hour than the merchant's norm.
 * Every rule is O(1) in the number of invoices (the group loop is bounded by 24 rates).
 *
 * Storage per invoice: two slots for the record (seller, status, flags, type, item count,
 * issue time, rate mask | buyer commitment, net, tax) and one slot indexing the seller's
 * document hash. Red-letter totals, receivable draws and settlements, and note links live in
 * separate mappings written only when used. The merchant's soft-rule counters and its
 * number range share one slot.
 */
contract InvoiceRegistry is AccessControlDefaultAdminRules, Pausable, IInvoiceRegistry {
    bytes32 public constant AUTHORITY_ROLE = keccak256("AUTHORITY_ROLE");
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    bytes32 public constant LEDGER_ROLE = keccak256("LEDGER_ROLE");

    /// @notice Delay of a two-step transfer of the default admin role.
    uint48 public constant ADMIN_TRANSFER_DELAY = 2 days;

    /// @notice Soft-rule flag bits.
    uint8 public constant FLAG_MONTHLY_QUOTA_EXCEEDED = 1;
    uint8 public constant FLAG_DUPLICATE_DOCUMENT = 2;
    uint8 public constant FLAG_SELF_DEALING = 4;
    uint8 public constant FLAG_RATE_SPIKE = 8;

    /// @notice China VAT rates 0, 1, 3, 5, 6, 9 and 13 % as a bitmask (bit r = rate r %).
    uint32 public constant CHINA_VAT_RATES = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | (1 << 6) | (1 << 9) | (1 << 13);

    uint32 public constant DEFAULT_BACKDATING_WINDOW = 30 days;
    uint32 public constant DEFAULT_FUTURE_SKEW = 5 minutes;
    uint16 public constant DEFAULT_PER_ITEM_TOLERANCE = 1; // fen
    uint32 public constant DEFAULT_VOID_WINDOW = 0; // same China calendar month

    /// @notice Largest amount stored (48 bits of fen, about 2.8 trillion yuan).
    uint256 public constant MAX_AMOUNT = type(uint48).max;

    /// @notice Most line items of one invoice (what the platform's document holds).
    uint256 public constant MAX_ITEM_COUNT = 1000;

    /// @notice Most invoices of one {issueBatch}: 200 cost about 16M gas, well under a 30M block.
    uint256 public constant MAX_BATCH_SIZE = 200;

    /// @notice Numbers under one 5-digit prefix: a 15-digit sequence, 1..10^15 - 1.
    uint256 public constant NUMBERS_PER_PREFIX = 1e15;

    uint8 private constant _NOTE_BIT = 0x80; // in Record.kind: the record is a red-letter note
    uint8 private constant _REDUCED_BIT = 0x40; // in Record.kind: red-letter notes reduced the invoice
    uint256 private constant _MAX_RATE = 23; // rates 0..23: the record's 24-bit rate mask

    // Merchant book word: month (24) | monthGross (48) | hour (24) | hourCount (16) | rangeFirst (72) | rangeLast (72).
    uint256 private constant _MASK16 = (1 << 16) - 1;
    uint256 private constant _MASK24 = (1 << 24) - 1;
    uint256 private constant _MASK48 = (1 << 48) - 1;
    uint256 private constant _MASK72 = (1 << 72) - 1;
    uint256 private constant _RANGE_SHIFT = 112;
    uint256 private constant _COUNTER_BITS = (1 << _RANGE_SHIFT) - 1;

    // 20-byte SWAR constants of the 20-digit number check and parse.
    uint256 private constant _ONES = 0x000101010101010101010101010101010101010101; // 20 bytes of 0x01
    uint256 private constant _HIGH_BITS = 0x008080808080808080808080808080808080808080;
    uint256 private constant _ADD_46 = 0x004646464646464646464646464646464646464646;
    uint256 private constant _ADD_50 = 0x005050505050505050505050505050505050505050;
    uint256 private constant _LANES8 = type(uint256).max / 0xffff; // 1 per 16-bit lane
    uint256 private constant _LANES16 = type(uint256).max / 0xffffffff; // 1 per 32-bit lane
    uint256 private constant _LANES32 = type(uint256).max / type(uint64).max; // 1 per 64-bit lane
    uint256 private constant _LANES64 = type(uint256).max / type(uint128).max; // 1 per 128-bit lane

    /// @dev An invoice or note in two storage slots (written as two words by {_store}); gross is net + tax.
    struct Record {
        // slot 0
        address seller;
        InvoiceStatus status;
        uint8 flags;
        uint8 kind; // invoice type (0/1) | _REDUCED_BIT | _NOTE_BIT
        uint16 itemCount;
        uint32 issuedAt;
        uint24 rateMask;
        // slot 1
        bytes20 buyerCommitment;
        uint48 net;
        uint48 tax;
    }

    /**
     * @dev Audit parameters and the pause flag in one slot, which issuance reads once and never
     * writes. (Counts per status are the indexer's: the events hold every transition, and a
     * global counter would cost every invoice a storage write.)
     */
    struct Config {
        uint32 allowedRates;
        uint32 backdatingWindow;
        uint32 futureSkew;
        uint16 perItemTolerance;
        uint32 voidWindow;
        bool paused;
    }

    /// @dev Red-letter total and receivable amounts of an invoice, written only when used.
    struct Balance {
        uint48 redLettered;
        uint48 drawn; // backing live receivables
        uint48 settled; // of receivables paid in full
    }

    /// @dev What issuance needs to know about the seller, read once per transaction.
    struct Issuer {
        address seller;
        uint256 invoiceCap;
        uint256 monthlyQuota;
        uint256 hourlyNorm;
        bytes12 sellerTag;
    }

    IMerchantRegistry private immutable _merchants;

    Config private _config;

    mapping(bytes32 key => Record) private _records;
    mapping(bytes32 sellerDocument => bytes32 key) private _documentKeys; // keccak256(seller, documentHash) -> first key
    mapping(bytes32 key => bytes32 documentHash) private _duplicateDocuments; // only for flagged duplicates
    mapping(bytes32 key => Balance) private _balances;
    mapping(bytes32 noteKey => bytes32 originalKey) private _originals;
    mapping(address merchant => uint256) private _books; // packed counters and number range
    mapping(uint32 prefix => uint256) private _numberCursors; // numbers allocated under a prefix

    /**
     * @param authority Receives the default admin role (two-step transfer) and AUTHORITY_ROLE.
     * @param merchants The merchant registry the audit rules read.
     */
    constructor(address authority, IMerchantRegistry merchants)
        AccessControlDefaultAdminRules(ADMIN_TRANSFER_DELAY, authority)
    {
        _merchants = merchants;
        _grantRole(AUTHORITY_ROLE, authority);
        _config = Config({
            allowedRates: CHINA_VAT_RATES,
            backdatingWindow: DEFAULT_BACKDATING_WINDOW,
            futureSkew: DEFAULT_FUTURE_SKEW,
            perItemTolerance: DEFAULT_PER_ITEM_TOLERANCE,
            voidWindow: DEFAULT_VOID_WINDOW,
            paused: false
        });
    }

    // ================================================================ issuance

    /**
     * @inheritdoc IInvoiceRegistry
     * @dev Requirements:
     * - not paused;
     * - the seller is an approved, active merchant and the caller is it or its operator;
     * - `request.number` is a 20-digit decimal string in the seller's range, not registered before;
     * - amounts fit 48 bits, gross is non-zero and equals net + tax;
     * - 1..24 rate groups, rates allowed and strictly ascending, each with 1+ items, at most
     *   MAX_ITEM_COUNT in all; net and tax are the sums of the groups;
     * - each group's tax = net x rate / 100 within min(itemCount x perItemTolerance,
     *   net x rate / 1000 + 1) fen (no tolerance at rate 0): at most one rounding step per
     *   line and never more than a tenth of the tax, whatever the declared item count;
     * - invoiceType 0 or 1, documentHash non-zero;
     * - issuedAt not after block time + futureSkew, not before block time - backdatingWindow;
     * - gross not above the merchant's invoiceCap.
     *
     * Soft rules set flag bits and status Flagged instead of Issued.
     *
     * Emits an {InvoiceIssued} event, and an {InvoiceFlagged} event when flagged.
     */
    function issue(IssueRequest calldata request) external returns (bytes32 key) {
        uint256 config = _configWord();
        if (_isPaused(config)) revert EnforcedPause();
        Issuer memory issuer = _requireIssuer(request.seller);
        uint256 book = _books[issuer.seller];
        (key, book) = _register(request, config, issuer, book);
        _books[issuer.seller] = book;
    }

    /**
     * @inheritdoc IInvoiceRegistry
     * @dev Requirements: 1..MAX_BATCH_SIZE requests with the seller of the first; each one
     * passes every rule of {issue}, in order (the soft-rule counters see the earlier ones).
     * A hard-rule failure of any request reverts the whole batch with its error, so a batch
     * is registered entirely or not at all and a retry cannot half-duplicate it.
     *
     * Emits the events of {issue} for each invoice.
     */
    function issueBatch(IssueRequest[] calldata requests) external returns (bytes32[] memory keys) {
        uint256 size = requests.length;
        if (size == 0 || size > MAX_BATCH_SIZE) revert InvalidBatchSize(size, MAX_BATCH_SIZE);
        uint256 config = _configWord();
        if (_isPaused(config)) revert EnforcedPause();
        Issuer memory issuer = _requireIssuer(requests[0].seller);
        uint256 book = _books[issuer.seller];
        keys = new bytes32[](size);
        for (uint256 i = 0; i < size; ++i) {
            IssueRequest calldata request = requests[i];
            if (request.seller != issuer.seller) revert BatchSellerMismatch(i, request.seller);
            (keys[i], book) = _register(request, config, issuer, book);
        }
        _books[issuer.seller] = book;
    }

    /**
     * @inheritdoc IInvoiceRegistry
     * @dev Requirements:
     * - the hard rules of {issue} on `note` (the per-invoice cap aside: the note is bounded by the open amount);
     * - the original exists, is not a note, and is Issued, Flagged or Cleared;
     * - the note has the original's seller and buyer commitment, only rates of the original,
     *   and a document hash its seller has not registered before;
     * - `note.gross` is not above the original's open amount, and the open amount left is
     *   not below the original's receivables (drawn and settled).
     *
     * The note is registered with status Issued; the soft rules do not apply to it.
     * The original becomes RedLettered when its open amount reaches zero.
     *
     * Emits an {InvoiceIssued} event for the note and an {InvoiceRedLettered} event.
     */
    function issueRedLetter(bytes32 originalKey, IssueRequest calldata note, uint8 reasonCode)
        external
        returns (bytes32 noteKey)
    {
        uint256 config = _configWord();
        if (_isPaused(config)) revert EnforcedPause();
        _requireIssuer(note.seller);
        uint256[] memory groups;
        (noteKey, groups) = _registerNote(originalKey, note, config);
        (uint256 openAfter, InvoiceStatus originalStatus) = _reduceOriginal(originalKey, note.gross);
        _emitIssued(noteKey, note, 0, groups);
        emit InvoiceRedLettered(originalKey, noteKey, note.seller, note.gross, reasonCode, openAfter, originalStatus);
    }

    /**
     * @inheritdoc IInvoiceRegistry
     * @dev Requirements: caller has AUTHORITY_ROLE; not paused; `merchant` is Approved;
     * `prefix` < 100000; 1 <= `count` <= the numbers left under the prefix.
     * The merchant's earlier range is replaced (its unused numbers are never issued).
     * The first allocation also opens the merchant's book, so that its first invoice
     * does not pay for a fresh storage slot.
     *
     * Emits a {NumberRangeAllocated} event.
     */
    function allocateNumberRange(address merchant, uint32 prefix, uint64 count)
        external
        onlyRole(AUTHORITY_ROLE)
        whenNotPaused
        returns (uint256 first, uint256 last)
    {
        if (!_merchants.isActiveMerchant(merchant)) {
            revert MerchantNotActive(merchant, uint8(_merchants.merchant(merchant).status));
        }
        uint256 cursor = _numberCursors[prefix];
        uint256 available = prefix < 100000 ? NUMBERS_PER_PREFIX - 1 - cursor : 0;
        if (count == 0 || count > available) revert InvalidNumberRange(prefix, count, available);
        first = uint256(prefix) * NUMBERS_PER_PREFIX + cursor + 1;
        last = first + count - 1;
        _numberCursors[prefix] = cursor + count;

        uint256 book = _books[merchant];
        // slither-disable-next-line incorrect-equality -- an unopened book is exactly zero, not a time comparison
        if (book == 0) {
            book = ChinaCalendar.month(block.timestamp) | (((block.timestamp / 1 hours) & _MASK24) << 72);
        }
        _books[merchant] = (book & _COUNTER_BITS) | (first << _RANGE_SHIFT) | (last << (_RANGE_SHIFT + 72));
        emit NumberRangeAllocated(merchant, prefix, first, last);
    }

    // ================================================================ review, void

    /**
     * @inheritdoc IInvoiceRegistry
     * @dev Requirements: not paused; caller has AUDITOR_ROLE; the invoice is Flagged.
     *
     * Emits an {InvoiceCleared} event.
     */
    function clear(bytes32 key, uint16 reasonCode) external onlyRole(AUDITOR_ROLE) whenNotPaused {
        _review(key, InvoiceStatus.Cleared);
        emit InvoiceCleared(key, msg.sender, reasonCode);
    }

    /**
     * @inheritdoc IInvoiceRegistry
     * @dev A rejected invoice can no longer be voided, red-lettered or used for a receivable.
     *
     * Requirements: not paused; caller has AUDITOR_ROLE; the invoice is Flagged.
     *
     * Emits an {InvoiceRejected} event.
     */
    function reject(bytes32 key, uint16 reasonCode) external onlyRole(AUDITOR_ROLE) whenNotPaused {
        _review(key, InvoiceStatus.Rejected);
        emit InvoiceRejected(key, msg.sender, reasonCode);
    }

    /**
     * @inheritdoc IInvoiceRegistry
     * @dev Requirements:
     * - not paused;
     * - the seller is an active merchant and the caller is it or its operator;
     * - the invoice is not a note, and is Issued or Cleared;
     * - within the void window: the issue time's China calendar month when voidWindow is
     *   0, otherwise at most voidWindow seconds after the issue time;
     * - no red-letter note reduced it and no receivable, live or paid, draws on it.
     *
     * Emits an {InvoiceVoided} event.
     */
    function voidInvoice(bytes32 key) external whenNotPaused {
        Record storage record = _requireRecord(key);
        address seller = record.seller;
        _requireIssuer(seller);
        InvoiceStatus status = record.status;
        if (record.kind & _NOTE_BIT != 0) revert IsRedLetterNote(key);
        if (status != InvoiceStatus.Issued && status != InvoiceStatus.Cleared) revert InvalidInvoiceStatus(key, status);
        uint32 issuedAt = record.issuedAt;
        uint32 voidWindow = _config.voidWindow;
        // slither-disable-next-line incorrect-equality -- calendar months compared as YYYYMM, by design
        bool open = voidWindow == 0
            ? ChinaCalendar.month(block.timestamp) == ChinaCalendar.month(issuedAt)
            : block.timestamp <= uint256(issuedAt) + voidWindow;
        if (!open) revert VoidWindowClosed(key, issuedAt);
        Balance memory balance = _balances[key];
        if (balance.redLettered != 0) revert InvoiceHasRedLetterNotes(key, balance.redLettered);
        uint256 receivables = uint256(balance.drawn) + balance.settled;
        if (receivables != 0) revert InvoiceHasReceivable(key, receivables);

        record.status = InvoiceStatus.Voided;
        emit InvoiceVoided(key, seller, msg.sender);
    }

    // ================================================================ receivable coupling

    /**
     * @inheritdoc IInvoiceRegistry
     * @dev Requirements: not paused; caller has LEDGER_ROLE; the invoice is not a note and is
     * Issued or Cleared; `amount` is non-zero and at most openAmount - drawn - settled.
     *
     * Emits an {InvoiceAmountDrawn} event.
     */
    function drawForReceivable(bytes32 key, uint256 amount) external onlyRole(LEDGER_ROLE) whenNotPaused {
        Record storage record = _requireRecord(key);
        InvoiceStatus status = record.status;
        if (record.kind & _NOTE_BIT != 0) revert IsRedLetterNote(key);
        if (status != InvoiceStatus.Issued && status != InvoiceStatus.Cleared) revert InvalidInvoiceStatus(key, status);
        Balance storage balance = _balances[key];
        uint256 available = _available(record, balance);
        if (amount == 0 || amount > available) revert DrawExceedsAvailable(key, amount, available);
        uint48 drawn = balance.drawn + uint48(amount);
        balance.drawn = drawn;
        emit InvoiceAmountDrawn(key, msg.sender, amount, drawn);
    }

    /**
     * @inheritdoc IInvoiceRegistry
     * @dev Works while paused, so that ledgers can always close receivables.
     *
     * Requirements: caller has LEDGER_ROLE; the invoice exists; `amount` at most drawn.
     *
     * Emits an {InvoiceDrawReleased} event.
     */
    function releaseForReceivable(bytes32 key, uint256 amount) external onlyRole(LEDGER_ROLE) {
        _requireRecord(key);
        Balance storage balance = _balances[key];
        uint48 drawn = balance.drawn;
        if (amount > drawn) revert ReleaseExceedsDrawn(key, amount, drawn);
        drawn -= uint48(amount);
        balance.drawn = drawn;
        emit InvoiceDrawReleased(key, msg.sender, amount, drawn);
    }

    /**
     * @inheritdoc IInvoiceRegistry
     * @dev The settled amount stays counted against the invoice for good: no ledger can draw
     * it again, and the invoice can no longer be voided nor red-lettered below it.
     * Works while paused.
     *
     * Requirements: caller has LEDGER_ROLE; the invoice exists; `amount` at most drawn.
     *
     * Emits an {InvoiceAmountSettled} event.
     */
    function settleForReceivable(bytes32 key, uint256 amount) external onlyRole(LEDGER_ROLE) {
        _requireRecord(key);
        Balance storage balance = _balances[key];
        Balance memory current = balance;
        if (amount > current.drawn) revert ReleaseExceedsDrawn(key, amount, current.drawn);
        uint48 drawn = current.drawn - uint48(amount);
        uint48 settled = current.settled + uint48(amount);
        balance.drawn = drawn;
        balance.settled = settled;
        emit InvoiceAmountSettled(key, msg.sender, amount, drawn, settled);
    }

    // ================================================================ parameters

    /**
     * @notice Sets the allowed tax rates: bit r of `allowedRates` allows rate r % (0 <= r <= 23).
     * @dev Requirements: caller has AUTHORITY_ROLE; the mask is non-zero and uses bits 0..23 only.
     *
     * Emits an {AllowedRatesChanged} event.
     * @param allowedRates The mask.
     */
    function setAllowedRates(uint32 allowedRates) external onlyRole(AUTHORITY_ROLE) {
        if (allowedRates == 0 || allowedRates >> (_MAX_RATE + 1) != 0) revert InvalidAllowedRates(allowedRates);
        _config.allowedRates = allowedRates;
        emit AllowedRatesChanged(allowedRates);
    }

    /**
     * @notice Sets how far an issue time may lie before (`backdatingWindow`) and after
     * (`futureSkew`) the block time, in seconds.
     * @dev Requirements: caller has AUTHORITY_ROLE; `backdatingWindow` non-zero.
     *
     * Emits an {IssueTimeWindowChanged} event.
     * @param backdatingWindow Seconds before the block time.
     * @param futureSkew Seconds after the block time.
     */
    function setIssueTimeWindow(uint32 backdatingWindow, uint32 futureSkew) external onlyRole(AUTHORITY_ROLE) {
        if (backdatingWindow == 0) revert InvalidIssueTimeWindow(backdatingWindow, futureSkew);
        _config.backdatingWindow = backdatingWindow;
        _config.futureSkew = futureSkew;
        emit IssueTimeWindowChanged(backdatingWindow, futureSkew);
    }

    /**
     * @notice Sets the rounding tolerance of the tax rule, in fen per line item (still capped
     * at a tenth of each group's tax plus one fen).
     * @dev Requirements: caller has AUTHORITY_ROLE.
     *
     * Emits a {RoundingToleranceChanged} event.
     * @param perItemTolerance Fen per line item.
     */
    function setRoundingTolerance(uint16 perItemTolerance) external onlyRole(AUTHORITY_ROLE) {
        _config.perItemTolerance = perItemTolerance;
        emit RoundingToleranceChanged(perItemTolerance);
    }

    /**
     * @notice Sets the void window: seconds after the issue time, or 0 for "same China
     * calendar month as the issue time".
     * @dev Requirements: caller has AUTHORITY_ROLE.
     *
     * Emits a {VoidWindowChanged} event.
     * @param voidWindow Seconds, or 0.
     */
    function setVoidWindow(uint32 voidWindow) external onlyRole(AUTHORITY_ROLE) {
        _config.voidWindow = voidWindow;
        emit VoidWindowChanged(voidWindow);
    }

    /**
     * @notice Pauses issuance, batches, red-letter notes, voids, reviews, receivable draws and
     * range allocation. Ledgers can still release and settle, so receivables can close.
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

    /**
     * @notice True while the registry is paused.
     * @dev The flag lives in the config word that issuance reads anyway (one storage read
     * instead of two); {_pause} and {_unpause} keep OpenZeppelin's checks and events.
     */
    function paused() public view override returns (bool) {
        return _config.paused;
    }

    function _pause() internal override whenNotPaused {
        _config.paused = true;
        emit Paused(_msgSender());
    }

    function _unpause() internal override whenPaused {
        _config.paused = false;
        emit Unpaused(_msgSender());
    }

    // ================================================================ views

    /// @inheritdoc IInvoiceRegistry
    function merchantRegistry() external view returns (address) {
        return address(_merchants);
    }

    /// @notice The current audit parameters.
    function auditParameters() external view returns (AuditParameters memory) {
        Config memory config = _config;
        return AuditParameters({
            allowedRates: config.allowedRates,
            backdatingWindow: config.backdatingWindow,
            futureSkew: config.futureSkew,
            perItemTolerance: config.perItemTolerance,
            voidWindow: config.voidWindow,
            paused: config.paused
        });
    }

    /// @notice The soft-rule counters and number range of `merchant`.
    function merchantActivity(address merchant) external view returns (MerchantActivity memory) {
        uint256 book = _books[merchant];
        return MerchantActivity({
            month: uint24(book),
            monthGross: uint64((book >> 24) & _MASK48),
            hour: uint32((book >> 72) & _MASK24),
            hourCount: uint32((book >> 96) & _MASK16),
            rangeFirst: (book >> _RANGE_SHIFT) & _MASK72,
            rangeLast: book >> (_RANGE_SHIFT + 72)
        });
    }

    /// @inheritdoc IInvoiceRegistry
    function numberRangeOf(address merchant) external view returns (uint256 first, uint256 last) {
        uint256 book = _books[merchant];
        return ((book >> _RANGE_SHIFT) & _MASK72, book >> (_RANGE_SHIFT + 72));
    }

    /// @notice Numbers already allocated under the 5-digit `prefix`.
    function numbersAllocated(uint32 prefix) external view returns (uint256) {
        return _numberCursors[prefix];
    }

    /// @inheritdoc IInvoiceRegistry
    function getInvoice(bytes32 key) public view returns (Invoice memory) {
        _requireRecord(key);
        return _invoice(key);
    }

    /// @inheritdoc IInvoiceRegistry
    function getInvoiceByNumber(string calldata number) external view returns (Invoice memory) {
        return getInvoice(keccak256(bytes(number)));
    }

    /// @inheritdoc IInvoiceRegistry
    function keyOf(string calldata number) external pure returns (bytes32) {
        return keccak256(bytes(number));
    }

    /// @notice True when an invoice or note with `key` is registered.
    function exists(bytes32 key) external view returns (bool) {
        return _records[key].status != InvoiceStatus.None;
    }

    /**
     * @notice Status and flags of invoice `key`, the flags also as names
     * ("MonthlyQuotaExceeded", "DuplicateDocument", "SelfDealing", "RateSpike").
     */
    function statusOf(bytes32 key) external view returns (InvoiceStatus status, uint8 flags, string[] memory flagNames) {
        Record storage record = _requireRecord(key);
        status = record.status;
        flags = record.flags;
        flagNames = flagNamesOf(flags);
    }

    /// @notice Names of the flag bits set in `flags`.
    function flagNamesOf(uint8 flags) public pure returns (string[] memory names) {
        names = new string[](_popCount(flags & 15));
        uint256 i = 0;
        if (flags & FLAG_MONTHLY_QUOTA_EXCEEDED != 0) names[i++] = "MonthlyQuotaExceeded";
        if (flags & FLAG_DUPLICATE_DOCUMENT != 0) names[i++] = "DuplicateDocument";
        if (flags & FLAG_SELF_DEALING != 0) names[i++] = "SelfDealing";
        if (flags & FLAG_RATE_SPIKE != 0) names[i++] = "RateSpike";
    }

    /// @inheritdoc IInvoiceRegistry
    function openAmount(bytes32 key) external view returns (uint256) {
        return _openAmount(key, _requireRecord(key));
    }

    /// @inheritdoc IInvoiceRegistry
    function availableForReceivable(bytes32 key) external view returns (uint256) {
        Record storage record = _requireRecord(key);
        InvoiceStatus status = record.status;
        if (record.kind & _NOTE_BIT != 0 || (status != InvoiceStatus.Issued && status != InvoiceStatus.Cleared)) {
            return 0;
        }
        return _available(record, _balances[key]);
    }

    /// @inheritdoc IInvoiceRegistry
    function checkCodeOf(bytes32 key) external view returns (uint256) {
        return _checkCode(key, _requireRecord(key));
    }

    /// @notice The China calendar date (YYYYMMDD) of invoice `key`'s issue time.
    function issueDateOf(bytes32 key) external view returns (uint32) {
        return ChinaCalendar.date(_requireRecord(key).issuedAt);
    }

    /// @notice The invoice `seller` registered first with `documentHash`, or zero.
    function keyOfDocument(address seller, bytes32 documentHash) external view returns (bytes32) {
        return _documentKeys[_sellerDocument(seller, documentHash)];
    }

    /**
     * @notice For an invoice flagged as a duplicate document: its document hash and the key of
     * the seller's invoice registered first with it; zeros otherwise.
     */
    function duplicateOf(bytes32 key) external view returns (bytes32 documentHash, bytes32 firstKey) {
        documentHash = _duplicateDocuments[key];
        if (documentHash != bytes32(0)) firstKey = _documentKeys[_sellerDocument(_records[key].seller, documentHash)];
    }

    /// @inheritdoc IInvoiceRegistry
    function verify(string calldata number, uint32 issueDate, uint256 amount, uint32 checkCode6)
        external
        view
        returns (VerifyResult)
    {
        return _verify(keccak256(bytes(number)), issueDate, amount, checkCode6);
    }

    /// @inheritdoc IInvoiceRegistry
    function verifyBatch(VerifyQuery[] calldata queries) external view returns (VerifyResult[] memory results) {
        uint256 length = queries.length;
        results = new VerifyResult[](length);
        for (uint256 i = 0; i < length; ++i) {
            VerifyQuery calldata query = queries[i];
            results[i] = _verify(query.key, query.issueDate, query.amount, query.checkCode6);
        }
    }

    /// @inheritdoc IInvoiceRegistry
    function verifyDocument(bytes32 key, bytes32 documentHash) external view returns (bool) {
        Record storage record = _records[key];
        if (documentHash == bytes32(0) || record.status == InvoiceStatus.None) return false;
        return _documentKeys[_sellerDocument(record.seller, documentHash)] == key
            || _duplicateDocuments[key] == documentHash;
    }

    /// @inheritdoc IInvoiceRegistry
    function verifyBuyer(bytes32 key, bytes32 salt, string calldata buyerTaxId, bytes32 buyerTag)
        external
        view
        returns (bool)
    {
        Record storage record = _records[key];
        if (record.status == InvoiceStatus.None) return false;
        (bytes20 commitment,) = buyerCommitmentOf(salt, buyerTaxId, buyerTag);
        return commitment == record.buyerCommitment;
    }

    /// @inheritdoc IInvoiceRegistry
    function buyerCommitmentOf(bytes32 salt, string calldata buyerTaxId, bytes32 buyerTag)
        public
        pure
        returns (bytes20 commitment, bytes32 digest)
    {
        digest = keccak256(abi.encode(salt, keccak256(bytes(buyerTaxId))));
        commitment = bytes20(keccak256(abi.encode(digest, buyerTag)));
    }

    // ================================================================ internal

    /**
     * @dev Checks, stores and announces one invoice of `issuer` against the merchant book
     * word `book`; returns the key and the updated book.
     */
    function _register(IssueRequest calldata request, uint256 config, Issuer memory issuer, uint256 book)
        private
        returns (bytes32 key, uint256 newBook)
    {
        uint256 rateMask;
        uint256 itemCount;
        uint256[] memory groups;
        (key, rateMask, itemCount, groups) = _checkRequest(request, config, book);
        uint8 flags;
        (flags, newBook) = _applySoftRules(key, request, issuer, book);
        _store(key, request, flags, request.invoiceType, itemCount, rateMask);
        _emitIssued(key, request, flags, groups);
        if (flags != 0) emit InvoiceFlagged(key, issuer.seller, flags);
    }

    /**
     * @dev The per-invoice cap (hard) and the soft rules of invoice `key`: counts it in the
     * merchant's book and indexes its document; returns the flags and the updated book.
     */
    function _applySoftRules(bytes32 key, IssueRequest calldata request, Issuer memory issuer, uint256 book)
        private
        returns (uint8 flags, uint256 newBook)
    {
        uint256 gross = request.gross;
        if (gross > issuer.invoiceCap) revert InvoiceCapExceeded(gross, issuer.invoiceCap);
        (flags, newBook) = _countActivity(book, gross, issuer.monthlyQuota, issuer.hourlyNorm);
        if (request.buyerTagForSeller == issuer.sellerTag) flags |= FLAG_SELF_DEALING;
        bytes32 documentHash = request.documentHash;
        bytes32 sellerDocument = _sellerDocument(issuer.seller, documentHash);
        if (_documentKeys[sellerDocument] == bytes32(0)) {
            _documentKeys[sellerDocument] = key;
        } else {
            flags |= FLAG_DUPLICATE_DOCUMENT;
            _duplicateDocuments[key] = documentHash;
        }
    }

    /**
     * @dev Reverts unless `seller` is an active merchant and the caller may act for it;
     * returns its limits and seller tag. One low-level call to {IMerchantRegistry-issuerProfile}
     * (the return data is five static words, one storage slot there) keeps issuance gas down.
     */
    function _requireIssuer(address seller) private view returns (Issuer memory issuer) {
        IMerchantRegistry registry = _merchants;
        bytes4 selector = IMerchantRegistry.issuerProfile.selector;
        uint256 merchantStatus;
        uint256 invoiceCap;
        uint256 monthlyQuota;
        uint256 hourlyNorm;
        bytes12 sellerTag;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), seller)
            if iszero(staticcall(gas(), registry, ptr, 0x24, ptr, 0xa0)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            if lt(returndatasize(), 0xa0) { revert(0, 0) }
            merchantStatus := mload(ptr)
            invoiceCap := mload(add(ptr, 0x20))
            monthlyQuota := mload(add(ptr, 0x40))
            hourlyNorm := mload(add(ptr, 0x60))
            sellerTag := mload(add(ptr, 0x80))
        }
        if (merchantStatus != uint256(IMerchantRegistry.MerchantStatus.Approved)) {
            revert MerchantNotActive(seller, uint8(merchantStatus));
        }
        if (msg.sender != seller && !registry.canActFor(msg.sender, seller)) {
            revert NotMerchantOrOperator(msg.sender, seller);
        }
        issuer = Issuer(seller, invoiceCap, monthlyQuota, hourlyNorm, sellerTag);
    }

    /// @dev The config word (audit parameters and pause flag) in one read.
    function _configWord() private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(_config.slot)
        }
    }

    /**
     * @dev The hard rules on the request itself (seller and cap aside) against the seller's
     * book word (its number range); returns the new key, the rate mask and the item count.
     */
    function _checkRequest(IssueRequest calldata request, uint256 config, uint256 book)
        private
        view
        returns (bytes32 key, uint256 rateMask, uint256 itemCount, uint256[] memory groups)
    {
        key = _checkNumber(request.number, book);
        uint256 net = request.net;
        uint256 tax = request.tax;
        uint256 gross = request.gross;
        if (gross > MAX_AMOUNT) revert AmountTooLarge(gross);
        // gross = net + tax without overflow for any input; net and tax then fit 48 bits too
        if (net > gross || gross - net != tax) revert GrossMismatch(net, tax, gross);
        if (gross == 0) revert ZeroAmount();
        (rateMask, itemCount, groups) = _checkGroups(request.groups, net, tax, config);
        if (request.invoiceType > 1) revert InvalidInvoiceType(request.invoiceType);
        if (request.documentHash == bytes32(0)) revert MissingDocumentHash();
        _checkIssueTime(request.issuedAt, config);
    }

    /// @dev A 20-digit number in the seller's range (from its book word), not registered yet; returns its key.
    function _checkNumber(string calldata number, uint256 book) private view returns (bytes32 key) {
        bytes calldata digits = bytes(number);
        if (!_isTwentyDigits(digits)) revert InvalidInvoiceNumber(number);
        uint256 value = _numberValue(digits);
        uint256 first = (book >> _RANGE_SHIFT) & _MASK72;
        uint256 last = book >> (_RANGE_SHIFT + 72);
        // slither-disable-next-line incorrect-equality -- first is 0 exactly when no range was allocated
        if (first == 0 || value < first || value > last) revert NumberNotInSellerRange(value, first, last);
        key = keccak256(digits);
        if (_records[key].status != InvoiceStatus.None) revert InvoiceAlreadyRegistered(key);
    }

    /// @dev The rate groups: allowed, ascending, items bounded, taxes within tolerance, sums = totals.
    function _checkGroups(RateGroup[] calldata groups, uint256 net, uint256 tax, uint256 config)
        private
        pure
        returns (uint256 rateMask, uint256 itemCount, uint256[] memory packed)
    {
        uint256 count = groups.length;
        if (count == 0 || count > _MAX_RATE + 1) revert InvalidRateGroups(count, 0);
        packed = new uint256[](count);
        uint256 perItemTolerance = uint16(config >> 96);
        uint256 groupsNet = 0;
        uint256 groupsTax = 0;
        for (uint256 i = 0; i < count; ++i) {
            RateGroup calldata group = groups[i];
            uint256 rate = group.rate;
            if (rate > _MAX_RATE || (config >> rate) & 1 == 0) revert RateNotAllowed(uint8(rate)); // allowedRates: bits 0-23
            if (rateMask >> rate != 0) revert InvalidRateGroups(count, uint8(rate)); // not strictly ascending
            rateMask |= 1 << rate;
            uint256 items = group.itemCount;
            if (items == 0) revert InvalidItemCount(0, MAX_ITEM_COUNT);
            itemCount += items;
            uint256 groupNet = group.net;
            uint256 groupTax = group.tax;
            if (groupNet > MAX_AMOUNT || groupTax > MAX_AMOUNT) revert AmountTooLarge(groupNet > groupTax ? groupNet : groupTax);
            groupsNet += groupNet;
            groupsTax += groupTax;
            _checkTax(rate, items * perItemTolerance, groupNet, groupTax);
            packed[i] = (rate << 112) | (items << 96) | (groupNet << 48) | groupTax;
        }
        if (itemCount > MAX_ITEM_COUNT) revert InvalidItemCount(itemCount, MAX_ITEM_COUNT);
        if (groupsNet != net || groupsTax != tax) revert RateGroupTotalsMismatch(net, tax, groupsNet, groupsTax);
    }

    /**
     * @dev Tax of a rate group = net x rate / 100 within `itemTolerance` fen (one rounding step
     * per line), capped at a tenth of the exact tax plus one fen (none at rate 0).
     */
    function _checkTax(uint256 rate, uint256 itemTolerance, uint256 net, uint256 tax) private pure {
        uint256 exact = net * rate; // hundredths of a fen
        uint256 cap = rate == 0 ? 0 : exact / 1000 + 1;
        uint256 tolerance = itemTolerance < cap ? itemTolerance : cap;
        uint256 scaledTax = tax * 100;
        uint256 deviation = scaledTax > exact ? scaledTax - exact : exact - scaledTax;
        if (deviation > tolerance * 100) revert TaxOutOfTolerance(uint8(rate), net, tax, tolerance);
    }

    /// @dev Issue time not after block time + futureSkew, not before block time - backdatingWindow.
    function _checkIssueTime(uint64 issuedAt, uint256 config) private view {
        uint256 latest = block.timestamp + uint32(config >> 64); // futureSkew
        if (latest > type(uint32).max) latest = type(uint32).max; // the record keeps 32-bit seconds (until 2106)
        if (issuedAt > latest) revert IssueTimeInFuture(issuedAt, latest);
        uint256 backdatingWindow = uint32(config >> 32);
        uint256 earliest = block.timestamp > backdatingWindow ? block.timestamp - backdatingWindow : 0;
        if (issuedAt < earliest) revert IssueTimeTooOld(issuedAt, earliest);
    }

    /// @dev The rules linking a red-letter note to its original (reverts when one fails).
    function _checkNote(bytes32 originalKey, IssueRequest calldata note, uint256 rateMask) private view {
        Record storage original = _requireRecord(originalKey);
        InvoiceStatus status = original.status;
        if (original.kind & _NOTE_BIT != 0) revert IsRedLetterNote(originalKey);
        if (status != InvoiceStatus.Issued && status != InvoiceStatus.Flagged && status != InvoiceStatus.Cleared) {
            revert InvalidInvoiceStatus(originalKey, status);
        }
        if (original.seller != note.seller) revert SellerMismatch(originalKey, original.seller, note.seller);
        if (original.buyerCommitment != note.buyerCommitment) {
            revert BuyerMismatch(originalKey, original.buyerCommitment, note.buyerCommitment);
        }
        uint256 originalRates = original.rateMask;
        if (rateMask & ~originalRates != 0) revert RateMismatch(originalKey, uint32(originalRates), uint32(rateMask));

        Balance memory balance = _balances[originalKey];
        uint256 open = uint256(original.net) + original.tax - balance.redLettered;
        if (note.gross > open) revert RedLetterExceedsOpenAmount(originalKey, note.gross, open);
        uint256 receivables = uint256(balance.drawn) + balance.settled;
        if (open - note.gross < receivables) revert OpenAmountBelowReceivables(originalKey, open - note.gross, receivables);
    }

    /// @dev Checks and stores red-letter note `note` of `originalKey`; returns its key and packed groups.
    function _registerNote(bytes32 originalKey, IssueRequest calldata note, uint256 config)
        private
        returns (bytes32 noteKey, uint256[] memory groups)
    {
        uint256 rateMask;
        uint256 itemCount;
        (noteKey, rateMask, itemCount, groups) = _checkRequest(note, config, _books[note.seller]);
        _checkNote(originalKey, note, rateMask);
        bytes32 sellerDocument = _sellerDocument(note.seller, note.documentHash);
        bytes32 firstHolder = _documentKeys[sellerDocument];
        if (firstHolder != bytes32(0)) revert DocumentAlreadyRegistered(note.documentHash, firstHolder);
        _documentKeys[sellerDocument] = noteKey;
        _store(noteKey, note, 0, note.invoiceType | _NOTE_BIT, itemCount, rateMask);
        _originals[noteKey] = originalKey;
    }

    /// @dev Reduces `originalKey` by a note of `amount`; returns the open amount left and its status.
    function _reduceOriginal(bytes32 originalKey, uint256 amount)
        private
        returns (uint256 openAfter, InvoiceStatus status)
    {
        Record storage original = _records[originalKey];
        Balance storage balance = _balances[originalKey];
        uint48 redLettered = balance.redLettered + uint48(amount);
        balance.redLettered = redLettered;
        original.kind |= _REDUCED_BIT; // lets verification see partial notes without another read
        openAfter = uint256(original.net) + original.tax - redLettered;
        status = original.status;
        if (openAfter == 0) {
            status = InvoiceStatus.RedLettered;
            original.status = status;
        }
    }

    /**
     * @dev Counts an invoice of `gross` in the merchant's month and hour; returns the quota and
     * spike flags and the updated book word (its number range untouched).
     */
    function _countActivity(uint256 book, uint256 gross, uint256 monthlyQuota, uint256 hourlyNorm)
        private
        view
        returns (uint8 flags, uint256 newBook)
    {
        uint256 hour = (block.timestamp / 1 hours) & _MASK24;
        // slither-disable-next-line incorrect-equality -- same whole hour and month, compared as indexes by design
        bool sameHour = (book >> 72) & _MASK24 == hour;
        // China months start on whole UTC hours (UTC+8), so the same hour means the same month.
        uint256 month = sameHour ? book & _MASK24 : ChinaCalendar.month(block.timestamp);
        // slither-disable-next-line incorrect-equality -- same China month (YYYYMM), by design
        uint256 monthGross = book & _MASK24 == month ? (book >> 24) & _MASK48 : 0;
        uint256 hourCount = sameHour ? (book >> 96) & _MASK16 : 0;
        unchecked {
            monthGross += gross; // both below 2^48: no overflow
            hourCount += 1;
            if (monthGross > monthlyQuota) flags = FLAG_MONTHLY_QUOTA_EXCEEDED;
            if (hourCount > hourlyNorm) flags |= FLAG_RATE_SPIKE;
            if (monthGross > _MASK48) monthGross = _MASK48; // saturate
            if (hourCount > _MASK16) hourCount = _MASK16;
        }
        newBook = (book & ~_COUNTER_BITS) | month | (monthGross << 24) | (hour << 72) | (hourCount << 96);
    }

    function _isPaused(uint256 config) private pure returns (bool) {
        return (config >> 144) & 0xff != 0;
    }

    /// @dev Writes the two record words at once; the status is Flagged when `flags` is non-zero.
    function _store(
        bytes32 key,
        IssueRequest calldata request,
        uint8 flags,
        uint8 kind,
        uint256 itemCount,
        uint256 rateMask
    ) private {
        // slither-disable-next-line incorrect-equality -- flags are bits, not a balance or a time
        uint256 status = uint256(flags == 0 ? InvoiceStatus.Issued : InvoiceStatus.Flagged);
        uint256 word0 = uint256(uint160(request.seller)) | (status << 160) | (uint256(flags) << 168)
            | (uint256(kind) << 176) | (itemCount << 184) | (uint256(request.issuedAt) << 200) | (rateMask << 232);
        uint256 word1 = uint256(uint160(request.buyerCommitment)) | (request.net << 160) | (request.tax << 208);
        Record storage record = _records[key];
        assembly ("memory-safe") {
            sstore(record.slot, word0)
            sstore(add(record.slot, 1), word1)
        }
    }

    function _emitIssued(bytes32 key, IssueRequest calldata request, uint8 flags, uint256[] memory groups) private {
        emit InvoiceIssued(
            key,
            request.seller,
            bytes20(bytes(request.number)),
            request.buyerCommitment,
            request.invoiceType,
            request.issuedAt,
            request.documentHash,
            flags,
            groups
        );
    }

    function _review(bytes32 key, InvoiceStatus outcome) private {
        Record storage record = _requireRecord(key);
        InvoiceStatus status = record.status;
        if (status != InvoiceStatus.Flagged) revert InvalidInvoiceStatus(key, status);
        record.status = outcome;
    }

    function _requireRecord(bytes32 key) private view returns (Record storage record) {
        record = _records[key];
        if (record.status == InvoiceStatus.None) revert InvoiceNotFound(key);
    }

    function _sellerDocument(address seller, bytes32 documentHash) private pure returns (bytes32 sellerDocument) {
        assembly ("memory-safe") {
            mstore(0x00, seller)
            mstore(0x20, documentHash)
            sellerDocument := keccak256(0x00, 0x40)
        }
    }

    /// @dev open - drawn - settled of an Issued or Cleared invoice (zero if the notes ate it).
    function _available(Record storage record, Balance storage balance) private view returns (uint256) {
        Balance memory current = balance;
        uint256 used = uint256(current.redLettered) + current.drawn + current.settled;
        uint256 gross = uint256(record.net) + record.tax;
        return gross > used ? gross - used : 0;
    }

    function _invoice(bytes32 key) private view returns (Invoice memory invoice) {
        Record storage record = _records[key];
        Balance memory balance = _balances[key];
        invoice.key = key;
        invoice.seller = record.seller;
        invoice.buyerCommitment = record.buyerCommitment;
        invoice.net = record.net;
        invoice.tax = record.tax;
        invoice.gross = uint256(record.net) + record.tax;
        invoice.rateMask = record.rateMask;
        invoice.itemCount = record.itemCount;
        invoice.invoiceType = record.kind & 1;
        invoice.issuedAt = record.issuedAt;
        invoice.status = record.status;
        invoice.flags = record.flags;
        invoice.isRedLetter = record.kind & _NOTE_BIT != 0;
        invoice.original = _originals[key];
        invoice.redLettered = balance.redLettered;
        invoice.drawn = balance.drawn;
        invoice.settled = balance.settled;
        invoice.openAmount = _openAmount(key, record);
        invoice.checkCode = _checkCode(key, record);
    }

    function _openAmount(bytes32 key, Record storage record) private view returns (uint256) {
        InvoiceStatus status = record.status;
        if (record.kind & _NOTE_BIT != 0 || status == InvoiceStatus.Voided || status == InvoiceStatus.Rejected) {
            return 0;
        }
        return uint256(record.net) + record.tax - _balances[key].redLettered;
    }

    /**
     * @dev The 20-digit check code: keccak256(abi.encode(key, seller, buyerCommitment, net,
     * tax, issuedAt)) modulo 10^20. It depends only on data fixed at issuance, so the issuer
     * can compute it before building (and hashing) the document that prints it.
     */
    function _checkCode(bytes32 key, Record storage record) private view returns (uint256) {
        return uint256(
            keccak256(
                abi.encode(key, record.seller, record.buyerCommitment, record.net, record.tax, uint40(record.issuedAt))
            )
        ) % 1e20;
    }

    function _verify(bytes32 key, uint32 issueDate, uint256 amount, uint32 checkCode6)
        private
        view
        returns (VerifyResult)
    {
        Record storage record = _records[key];
        InvoiceStatus status = record.status;
        if (status == InvoiceStatus.None) return VerifyResult.NotFound;
        uint256 net = record.net;
        if (
            ChinaCalendar.date(record.issuedAt) != issueDate || (amount != net && amount != net + record.tax)
                || _checkCode(key, record) % 1e6 != checkCode6
        ) return VerifyResult.Mismatch;
        uint8 kind = record.kind;
        if (kind & _NOTE_BIT != 0) return VerifyResult.RedLetterNote;
        if (status == InvoiceStatus.Voided) return VerifyResult.Voided;
        if (status == InvoiceStatus.Rejected) return VerifyResult.Rejected;
        if (status == InvoiceStatus.Flagged) return VerifyResult.Flagged;
        if (status == InvoiceStatus.RedLettered) return VerifyResult.RedLettered;
        if (kind & _REDUCED_BIT != 0) return VerifyResult.PartlyRedLettered;
        return VerifyResult.Authentic;
    }

    /// @dev True when `number` is exactly 20 ASCII digits (one 20-byte SWAR test, no loop).
    function _isTwentyDigits(bytes calldata number) private pure returns (bool) {
        if (number.length != 20) return false;
        uint256 word = uint160(bytes20(number));
        // every byte < 0x80, <= 0x39 (adding 0x46 keeps the high bit clear) and >= 0x30 (adding 0x50 sets it)
        return word & _HIGH_BITS == 0 && (word + _ADD_46) & _HIGH_BITS == 0 && (word + _ADD_50) & _HIGH_BITS == _HIGH_BITS;
    }

    /**
     * @dev The value of a checked 20-digit number: SWAR over a 32-byte word holding 12 zero
     * digits and the 20 digits, combining pairs of digits, then pairs of pairs, ... (5 steps).
     */
    function _numberValue(bytes calldata number) private pure returns (uint256 x) {
        x = uint160(bytes20(number)) - _ONES * 0x30;
        x = ((x >> 8) & (_LANES8 * 0xff)) * 10 + (x & (_LANES8 * 0xff));
        x = ((x >> 16) & (_LANES16 * 0xffff)) * 100 + (x & (_LANES16 * 0xffff));
        x = ((x >> 32) & (_LANES32 * 0xffffffff)) * 10000 + (x & (_LANES32 * 0xffffffff));
        x = ((x >> 64) & (_LANES64 * type(uint64).max)) * 1e8 + (x & (_LANES64 * type(uint64).max));
        x = (x >> 128) * 1e16 + (x & type(uint128).max);
    }

    function _popCount(uint8 value) private pure returns (uint256 count) {
        for (; value != 0; value &= value - 1) ++count;
    }
}
