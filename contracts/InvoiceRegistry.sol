// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IInvoiceRegistry} from "./interfaces/IInvoiceRegistry.sol";
import {IMerchantRegistry} from "./interfaces/IMerchantRegistry.sol";
import {ChinaCalendar} from "./libraries/ChinaCalendar.sol";

/**
 * @dev E-invoices registered on chain and checked by audit rules the moment they are issued.
 *
 * Hard rules revert with a named custom error: merchant approved and active, caller the
 * merchant or its operator, invoice number new, gross = net + tax, tax = net x rate within
 * the rounding tolerance, rate allowed, issue time within the window, gross within the
 * merchant's per-invoice cap. Soft rules register the invoice as Flagged with a flag bit
 * per reason (see the FLAG_ constants): monthly quota exceeded, document hash seen before,
 * buyer = seller, more invoices this hour than the merchant's norm. Every rule is O(1).
 *
 * Storage per invoice: two slots for the record (seller, status, flags, rate, item count,
 * type, issue time | buyer hash, net, tax) and one slot mapping the document hash to the
 * key (the duplicate-document index doubles as the document record). Red-letter totals,
 * drawn amounts and note links live in separate mappings written only when used.
 */
contract InvoiceRegistry is AccessControl, IInvoiceRegistry {
    bytes32 public constant AUTHORITY_ROLE = keccak256("AUTHORITY_ROLE");
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    bytes32 public constant LEDGER_ROLE = keccak256("LEDGER_ROLE");

    /// @dev Soft-rule flag bits.
    uint8 public constant FLAG_MONTHLY_QUOTA_EXCEEDED = 1;
    uint8 public constant FLAG_DUPLICATE_DOCUMENT = 2;
    uint8 public constant FLAG_SELF_DEALING = 4;
    uint8 public constant FLAG_RATE_SPIKE = 8;

    /// @dev China VAT rates 0, 1, 3, 5, 6, 9 and 13 % as a bitmask (bit r = rate r %).
    uint32 public constant CHINA_VAT_RATES = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | (1 << 6) | (1 << 9) | (1 << 13);

    uint32 public constant DEFAULT_BACKDATING_WINDOW = 30 days;
    uint32 public constant DEFAULT_FUTURE_SKEW = 5 minutes;
    uint16 public constant DEFAULT_PER_ITEM_TOLERANCE = 1; // fen
    uint32 public constant DEFAULT_VOID_WINDOW = 0; // same China calendar month

    /// @dev Largest amount stored (48 bits of fen, about 2.8 trillion yuan).
    uint256 public constant MAX_AMOUNT = type(uint48).max;

    uint8 private constant _NOTE_BIT = 0x80; // in Record.kind: the record is a red-letter note
    uint8 private constant _REDUCED_BIT = 0x40; // in Record.kind: red-letter notes reduced the invoice

    // Config word: the audit parameters (bits 0-151), then the issuance counters.
    uint256 private constant _REGISTERED_ONE = 1 << 152; // +1 on Config.registered
    uint256 private constant _FLAGGED_ONE = 1 << 216; // +1 on Config.flaggedAtIssue

    // Transition counters: 40 bits each at index (status - 1); indexes 0 and 1 count
    // invoices that left Issued and Flagged, indexes 2..5 the current Cleared..RedLettered.
    uint256 private constant _COUNT_BITS = 40;
    uint256 private constant _COUNT_MASK = (1 << 40) - 1;
    // Set above the six counters from deployment on, so that the first transition does not pay for a fresh slot.
    uint256 private constant _TRANSITIONS_SENTINEL = 1 << 255;

    // Activity word: month (24 bits) | monthGross (64) | hour (32) | hourCount (32) | issuedCount (64).
    uint256 private constant _MASK24 = (1 << 24) - 1;
    uint256 private constant _MASK32 = (1 << 32) - 1;
    uint256 private constant _MASK64 = (1 << 64) - 1;
    uint256 private constant _ISSUED_COUNT_SHIFT = 152;

    // 20-byte SWAR constants of the 20-digit number check.
    uint256 private constant _ONES = type(uint160).max / 0xff; // 0x0101...01, 20 bytes
    uint256 private constant _HIGH_BITS = _ONES * 0x80;
    uint256 private constant _ADD_46 = _ONES * 0x46;
    uint256 private constant _ADD_50 = _ONES * 0x50;

    /// @dev An invoice or note in two storage slots (written as two words by {_store}); gross is net + tax.
    struct Record {
        // slot 0
        address seller;
        InvoiceStatus status;
        uint8 flags;
        uint8 rate;
        uint8 kind; // invoice type (0/1) | _REDUCED_BIT | _NOTE_BIT
        uint16 itemCount;
        uint40 issuedAt;
        // slot 1
        bytes20 buyerIdHash;
        uint48 net;
        uint48 tax;
    }

    /// @dev Audit parameters and issuance counters in one slot: issuance reads and writes it once.
    struct Config {
        uint32 allowedRates;
        uint32 backdatingWindow;
        uint32 futureSkew;
        uint16 perItemTolerance;
        uint32 voidWindow;
        bool paused;
        uint64 registered; // invoices and notes ever registered
        uint40 flaggedAtIssue; // of which registered as Flagged
    }

    /// @dev Red-letter total and receivable draw of an invoice, written only when used.
    struct Balance {
        uint48 redLettered;
        uint48 drawn;
    }

    IMerchantRegistry private immutable _merchants;

    Config private _config;
    uint256 private _transitions; // 40-bit counters, see _COUNT_BITS

    mapping(bytes32 key => Record) private _records;
    mapping(bytes32 documentHash => bytes32 key) private _documentKeys; // first invoice with the document
    mapping(bytes32 key => bytes32 documentHash) private _duplicateDocuments; // only for flagged duplicates
    mapping(bytes32 key => Balance) private _balances;
    mapping(bytes32 noteKey => bytes32 originalKey) private _originals;
    mapping(address merchant => uint256) private _activity; // packed MerchantActivity

    /**
     * @dev Grants DEFAULT_ADMIN_ROLE and AUTHORITY_ROLE to `authority`, reads merchants
     * from `merchants`, and sets the default audit parameters.
     */
    constructor(address authority, IMerchantRegistry merchants) {
        _merchants = merchants;
        _grantRole(DEFAULT_ADMIN_ROLE, authority);
        _grantRole(AUTHORITY_ROLE, authority);
        _config = Config({
            allowedRates: CHINA_VAT_RATES,
            backdatingWindow: DEFAULT_BACKDATING_WINDOW,
            futureSkew: DEFAULT_FUTURE_SKEW,
            perItemTolerance: DEFAULT_PER_ITEM_TOLERANCE,
            voidWindow: DEFAULT_VOID_WINDOW,
            paused: false,
            registered: 0,
            flaggedAtIssue: 0
        });
        _transitions = _TRANSITIONS_SENTINEL;
    }

    // ================================================================ issuance

    /**
     * @dev Registers an invoice for `request.seller` after the audit rules.
     *
     * Requirements:
     * - not paused;
     * - the seller is an approved, active merchant and the caller is it or its operator;
     * - `request.number` is a 20-digit decimal string not registered before;
     * - amounts fit 48 bits, gross is non-zero and equals net + tax;
     * - the rate is allowed and tax = net x rate / 100 within perItemTolerance x itemCount fen;
     * - itemCount > 0, invoiceType 0 or 1, documentHash non-zero;
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
        address seller = request.seller;
        (bytes18 taxId, uint256 invoiceCap, uint256 monthlyQuota, uint256 hourlyNorm) = _requireIssuer(seller);
        key = _checkRequest(request, config);
        uint256 gross = request.gross;
        if (gross > invoiceCap) revert InvoiceCapExceeded(gross, invoiceCap);

        uint8 flags = _countActivity(seller, gross, monthlyQuota, hourlyNorm);
        if (request.buyerIdHash == bytes20(keccak256(abi.encodePacked(taxId)))) flags |= FLAG_SELF_DEALING;
        bytes32 documentHash = request.documentHash;
        if (_documentKeys[documentHash] == bytes32(0)) {
            _documentKeys[documentHash] = key;
        } else {
            flags |= FLAG_DUPLICATE_DOCUMENT;
            _duplicateDocuments[key] = documentHash;
        }
        _store(key, request, flags == 0 ? InvoiceStatus.Issued : InvoiceStatus.Flagged, flags, request.invoiceType);
        _countRegistered(flags != 0);

        _emitIssued(key, request, flags);
        if (flags != 0) emit InvoiceFlagged(key, seller, flags);
    }

    /**
     * @dev Registers a red-letter note reducing invoice `originalKey` by `note.gross`.
     * Amounts of `note` are positive magnitudes.
     *
     * Requirements:
     * - the hard rules of {issue} on `note` (the per-invoice cap aside: the note is bounded by the open amount);
     * - the original exists, is not a note, and is Issued, Flagged or Cleared;
     * - the note has the original's seller, buyer and rate, and a document hash not registered before;
     * - `note.gross` is not above the original's open amount, and the open amount left is
     *   not below the amount drawn by live receivables.
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
        noteKey = _checkRequest(note, config);
        (Record storage original, InvoiceStatus originalStatus, uint256 openAfter) = _checkNote(originalKey, note);

        uint256 amount = note.gross;
        _documentKeys[note.documentHash] = noteKey;
        _store(noteKey, note, InvoiceStatus.Issued, 0, note.invoiceType | _NOTE_BIT);
        _originals[noteKey] = originalKey;
        _balances[originalKey].redLettered += uint48(amount);
        _countRegistered(false);
        original.kind |= _REDUCED_BIT; // lets verification see partial notes without another read
        if (openAfter == 0) {
            original.status = InvoiceStatus.RedLettered;
            _countTransition(originalStatus, InvoiceStatus.RedLettered);
            originalStatus = InvoiceStatus.RedLettered;
        }
        _activity[note.seller] += 1 << _ISSUED_COUNT_SHIFT;

        _emitIssued(noteKey, note, 0);
        emit InvoiceRedLettered(originalKey, noteKey, note.seller, amount, reasonCode, openAfter, originalStatus);
    }

    /**
     * @dev Initialises the per-merchant counters of `merchant` so that its first invoice
     * does not pay for a fresh storage slot. Optional; anyone may call it; does nothing
     * when the counters already exist.
     *
     * Emits a {MerchantBookOpened} event when it initialises the counters.
     */
    function openMerchantBook(address merchant) external {
        if (_activity[merchant] != 0) return;
        _activity[merchant] = ChinaCalendar.month(block.timestamp) | ((block.timestamp / 1 hours) << 88);
        emit MerchantBookOpened(merchant);
    }

    // ================================================================ review, void

    /**
     * @dev Clears the flagged invoice `key`: it leaves the auditors' queue as valid.
     *
     * Requirements: caller has AUDITOR_ROLE; the invoice is Flagged.
     *
     * Emits an {InvoiceCleared} event.
     */
    function clear(bytes32 key, uint16 reasonCode) external onlyRole(AUDITOR_ROLE) {
        _review(key, InvoiceStatus.Cleared);
        emit InvoiceCleared(key, msg.sender, reasonCode);
    }

    /**
     * @dev Rejects the flagged invoice `key`: it can no longer be voided, red-lettered or
     * used for a receivable.
     *
     * Requirements: caller has AUDITOR_ROLE; the invoice is Flagged.
     *
     * Emits an {InvoiceRejected} event.
     */
    function reject(bytes32 key, uint16 reasonCode) external onlyRole(AUDITOR_ROLE) {
        _review(key, InvoiceStatus.Rejected);
        emit InvoiceRejected(key, msg.sender, reasonCode);
    }

    /**
     * @dev Voids invoice `key`.
     *
     * Requirements:
     * - not paused;
     * - the seller is an active merchant and the caller is it or its operator;
     * - the invoice is not a note, and is Issued or Cleared;
     * - within the void window: the issue time's China calendar month when voidWindow is
     *   0, otherwise at most voidWindow seconds after the issue time;
     * - no red-letter note reduced it and no live receivable draws on it.
     *
     * Emits an {InvoiceVoided} event.
     */
    function voidInvoice(bytes32 key) external {
        Config memory config = _config;
        if (config.paused) revert EnforcedPause();
        Record storage record = _requireRecord(key);
        address seller = record.seller;
        _requireIssuer(seller);
        InvoiceStatus status = record.status;
        if (record.kind & _NOTE_BIT != 0) revert IsRedLetterNote(key);
        if (status != InvoiceStatus.Issued && status != InvoiceStatus.Cleared) revert InvalidInvoiceStatus(key, status);
        uint40 issuedAt = record.issuedAt;
        bool open = config.voidWindow == 0
            ? ChinaCalendar.month(block.timestamp) == ChinaCalendar.month(issuedAt)
            : block.timestamp <= uint256(issuedAt) + config.voidWindow;
        if (!open) revert VoidWindowClosed(key, issuedAt);
        Balance memory balance = _balances[key];
        if (balance.redLettered != 0) revert InvoiceHasRedLetterNotes(key, balance.redLettered);
        if (balance.drawn != 0) revert InvoiceHasReceivable(key, balance.drawn);

        record.status = InvoiceStatus.Voided;
        _countTransition(status, InvoiceStatus.Voided);
        emit InvoiceVoided(key, seller, msg.sender);
    }

    // ================================================================ receivable coupling

    /**
     * @dev The receivable ledger reserves `amount` of invoice `key` for a receivable.
     *
     * Requirements: not paused; caller has LEDGER_ROLE; the invoice is not a note and is
     * Issued or Cleared; `amount` is non-zero and at most openAmount - drawn.
     *
     * Emits a {ReceivableDrawn} event.
     */
    function drawForReceivable(bytes32 key, uint256 amount) external onlyRole(LEDGER_ROLE) {
        if (_config.paused) revert EnforcedPause();
        Record storage record = _requireRecord(key);
        InvoiceStatus status = record.status;
        if (record.kind & _NOTE_BIT != 0) revert IsRedLetterNote(key);
        if (status != InvoiceStatus.Issued && status != InvoiceStatus.Cleared) revert InvalidInvoiceStatus(key, status);
        Balance storage balance = _balances[key];
        uint256 available = uint256(record.net) + record.tax - balance.redLettered - balance.drawn;
        if (amount == 0 || amount > available) revert DrawExceedsAvailable(key, amount, available);
        uint48 drawn = balance.drawn + uint48(amount);
        balance.drawn = drawn;
        emit ReceivableDrawn(key, msg.sender, amount, drawn);
    }

    /**
     * @dev The receivable ledger releases `amount` of invoice `key` (a receivable was
     * settled, cancelled or reduced).
     *
     * Requirements: caller has LEDGER_ROLE; the invoice exists; `amount` at most drawn.
     *
     * Emits a {ReceivableReleased} event.
     */
    function releaseForReceivable(bytes32 key, uint256 amount) external onlyRole(LEDGER_ROLE) {
        _requireRecord(key);
        Balance storage balance = _balances[key];
        uint48 drawn = balance.drawn;
        if (amount > drawn) revert ReleaseExceedsDrawn(key, amount, drawn);
        drawn -= uint48(amount);
        balance.drawn = drawn;
        emit ReceivableReleased(key, msg.sender, amount, drawn);
    }

    // ================================================================ parameters

    /**
     * @dev Sets the allowed tax rates: bit r of `allowedRates` allows rate r % (0 <= r <= 31).
     *
     * Requirements: caller has AUTHORITY_ROLE; the mask is non-zero.
     *
     * Emits an {AllowedRatesChanged} event.
     */
    function setAllowedRates(uint32 allowedRates) external onlyRole(AUTHORITY_ROLE) {
        if (allowedRates == 0) revert InvalidAllowedRates(allowedRates);
        _config.allowedRates = allowedRates;
        emit AllowedRatesChanged(allowedRates);
    }

    /**
     * @dev Sets how far an issue time may lie before (`backdatingWindow`) and after
     * (`futureSkew`) the block time, in seconds.
     *
     * Requirements: caller has AUTHORITY_ROLE; `backdatingWindow` non-zero.
     *
     * Emits an {IssueTimeWindowChanged} event.
     */
    function setIssueTimeWindow(uint32 backdatingWindow, uint32 futureSkew) external onlyRole(AUTHORITY_ROLE) {
        if (backdatingWindow == 0) revert InvalidIssueTimeWindow(backdatingWindow, futureSkew);
        _config.backdatingWindow = backdatingWindow;
        _config.futureSkew = futureSkew;
        emit IssueTimeWindowChanged(backdatingWindow, futureSkew);
    }

    /**
     * @dev Sets the rounding tolerance of the tax rule, in fen per declared line item.
     *
     * Requirements: caller has AUTHORITY_ROLE.
     *
     * Emits a {RoundingToleranceChanged} event.
     */
    function setRoundingTolerance(uint16 perItemTolerance) external onlyRole(AUTHORITY_ROLE) {
        _config.perItemTolerance = perItemTolerance;
        emit RoundingToleranceChanged(perItemTolerance);
    }

    /**
     * @dev Sets the void window: seconds after the issue time, or 0 for "same China
     * calendar month as the issue time".
     *
     * Requirements: caller has AUTHORITY_ROLE.
     *
     * Emits a {VoidWindowChanged} event.
     */
    function setVoidWindow(uint32 voidWindow) external onlyRole(AUTHORITY_ROLE) {
        _config.voidWindow = voidWindow;
        emit VoidWindowChanged(voidWindow);
    }

    /**
     * @dev Pauses issuance, red-letter notes, voids and receivable draws.
     *
     * Requirements: caller has AUTHORITY_ROLE; not paused.
     *
     * Emits a {Paused} event.
     */
    function pause() external onlyRole(AUTHORITY_ROLE) {
        if (_config.paused) revert EnforcedPause();
        _config.paused = true;
        emit Paused(msg.sender);
    }

    /**
     * @dev Lifts the pause.
     *
     * Requirements: caller has AUTHORITY_ROLE; paused.
     *
     * Emits an {Unpaused} event.
     */
    function unpause() external onlyRole(AUTHORITY_ROLE) {
        if (!_config.paused) revert ExpectedPause();
        _config.paused = false;
        emit Unpaused(msg.sender);
    }

    // ================================================================ views

    /// @dev The merchant registry the audit rules read.
    function merchantRegistry() external view returns (IMerchantRegistry) {
        return _merchants;
    }

    /// @dev The current audit parameters.
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

    /// @dev True while issuance is paused.
    function paused() external view returns (bool) {
        return _config.paused;
    }

    /// @dev The soft-rule counters of `merchant`.
    function merchantActivity(address merchant) external view returns (MerchantActivity memory) {
        uint256 word = _activity[merchant];
        return MerchantActivity({
            month: uint24(word),
            monthGross: uint64(word >> 24),
            hour: uint32(word >> 88),
            hourCount: uint32(word >> 120),
            issuedCount: uint64(word >> _ISSUED_COUNT_SHIFT)
        });
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

    /// @dev True when an invoice or note with `key` is registered.
    function exists(bytes32 key) external view returns (bool) {
        return _records[key].status != InvoiceStatus.None;
    }

    /**
     * @dev Status and flags of invoice `key`, the flags also as names
     * ("MonthlyQuotaExceeded", "DuplicateDocument", "SelfDealing", "RateSpike").
     */
    function statusOf(bytes32 key) external view returns (InvoiceStatus status, uint8 flags, string[] memory flagNames) {
        Record storage record = _requireRecord(key);
        status = record.status;
        flags = record.flags;
        flagNames = flagNamesOf(flags);
    }

    /// @dev Names of the flag bits set in `flags`.
    function flagNamesOf(uint8 flags) public pure returns (string[] memory names) {
        names = new string[](_popCount(flags & 15));
        uint256 i;
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
    function checkCodeOf(bytes32 key) external view returns (uint256) {
        return _checkCode(key, _requireRecord(key));
    }

    /// @dev The China calendar date (YYYYMMDD) of invoice `key`'s issue time.
    function issueDateOf(bytes32 key) external view returns (uint32) {
        return ChinaCalendar.date(_requireRecord(key).issuedAt);
    }

    /// @dev The invoice registered first with `documentHash`, or zero.
    function keyOfDocument(bytes32 documentHash) external view returns (bytes32) {
        return _documentKeys[documentHash];
    }

    /**
     * @dev For an invoice flagged as a duplicate document: its document hash and the key of
     * the invoice registered first with it; zeros otherwise.
     */
    function duplicateOf(bytes32 key) external view returns (bytes32 documentHash, bytes32 firstKey) {
        documentHash = _duplicateDocuments[key];
        if (documentHash != bytes32(0)) firstKey = _documentKeys[documentHash];
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
        if (documentHash == bytes32(0) || _records[key].status == InvoiceStatus.None) return false;
        return _documentKeys[documentHash] == key || _duplicateDocuments[key] == documentHash;
    }

    /// @inheritdoc IInvoiceRegistry
    function statusCounts() external view returns (uint256[7] memory counts) {
        uint256 transitions = _transitions;
        for (uint256 s = 1; s < 7; ++s) {
            counts[s] = (transitions >> (_COUNT_BITS * (s - 1))) & _COUNT_MASK;
        }
        Config memory config = _config;
        counts[uint256(InvoiceStatus.Issued)] = config.registered - config.flaggedAtIssue - counts[1];
        counts[uint256(InvoiceStatus.Flagged)] = config.flaggedAtIssue - counts[2];
    }

    // ================================================================ internal

    /**
     * @dev Reverts unless `seller` is an active merchant and the caller may act for it;
     * returns its tax ID and limits. One low-level call to {IMerchantRegistry-issuerProfile}
     * (the return data is five static words) keeps issuance gas down.
     */
    function _requireIssuer(address seller)
        private
        view
        returns (bytes18 taxId, uint256 invoiceCap, uint256 monthlyQuota, uint256 hourlyNorm)
    {
        IMerchantRegistry registry = _merchants;
        bytes4 selector = IMerchantRegistry.issuerProfile.selector;
        uint256 merchantStatus;
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
            taxId := mload(add(ptr, 0x20))
            invoiceCap := mload(add(ptr, 0x40))
            monthlyQuota := mload(add(ptr, 0x60))
            hourlyNorm := mload(add(ptr, 0x80))
        }
        if (merchantStatus != uint256(IMerchantRegistry.MerchantStatus.Approved)) {
            revert MerchantNotActive(seller, uint8(merchantStatus));
        }
        if (msg.sender != seller && !registry.canActFor(msg.sender, seller)) {
            revert NotMerchantOrOperator(msg.sender, seller);
        }
    }

    /// @dev The config word (audit parameters and issuance counters) in one read.
    function _configWord() private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(_config.slot)
        }
    }

    /// @dev The hard rules on the request itself (seller and cap aside); returns the new key.
    function _checkRequest(IssueRequest calldata request, uint256 config) private view returns (bytes32 key) {
        bytes calldata number = bytes(request.number);
        if (!_isTwentyDigits(number)) revert InvalidInvoiceNumber(request.number);
        key = keccak256(number);
        if (_records[key].status != InvoiceStatus.None) revert InvoiceAlreadyRegistered(key);

        uint256 net = request.net;
        uint256 tax = request.tax;
        uint256 gross = request.gross;
        if (gross > MAX_AMOUNT) revert AmountTooLarge(gross);
        // gross = net + tax without overflow for any input; net and tax then fit 48 bits too
        if (net > gross || gross - net != tax) revert GrossMismatch(net, tax, gross);
        if (gross == 0) revert ZeroAmount();

        uint8 rate = request.rate;
        if (rate > 31 || (config >> rate) & 1 == 0) revert RateNotAllowed(rate); // allowedRates: bits 0-31
        uint16 itemCount = request.itemCount;
        if (itemCount == 0) revert InvalidItemCount(itemCount);
        uint256 tolerance = uint256(uint16(config >> 96)) * itemCount; // perItemTolerance
        uint256 scaledTax = tax * 100;
        uint256 exact = net * rate;
        uint256 deviation = scaledTax > exact ? scaledTax - exact : exact - scaledTax;
        if (deviation > tolerance * 100) revert TaxOutOfTolerance(net, rate, tax, tolerance);

        if (request.invoiceType > 1) revert InvalidInvoiceType(request.invoiceType);
        if (request.documentHash == bytes32(0)) revert MissingDocumentHash();
        _checkIssueTime(request.issuedAt, config);
    }

    /// @dev Issue time not after block time + futureSkew, not before block time - backdatingWindow.
    function _checkIssueTime(uint64 issuedAt, uint256 config) private view {
        uint256 latest = block.timestamp + uint32(config >> 64); // futureSkew
        if (issuedAt > latest) revert IssueTimeInFuture(issuedAt, latest);
        uint256 backdatingWindow = uint32(config >> 32);
        uint256 earliest = block.timestamp > backdatingWindow ? block.timestamp - backdatingWindow : 0;
        if (issuedAt < earliest) revert IssueTimeTooOld(issuedAt, earliest);
    }

    /// @dev The rules linking a red-letter note to its original; returns the original and the open amount left.
    function _checkNote(bytes32 originalKey, IssueRequest calldata note)
        private
        view
        returns (Record storage original, InvoiceStatus status, uint256 openAfter)
    {
        original = _requireRecord(originalKey);
        status = original.status;
        if (original.kind & _NOTE_BIT != 0) revert IsRedLetterNote(originalKey);
        if (status != InvoiceStatus.Issued && status != InvoiceStatus.Flagged && status != InvoiceStatus.Cleared) {
            revert InvalidInvoiceStatus(originalKey, status);
        }
        if (original.seller != note.seller) revert SellerMismatch(originalKey, original.seller, note.seller);
        if (original.buyerIdHash != note.buyerIdHash) {
            revert BuyerMismatch(originalKey, original.buyerIdHash, note.buyerIdHash);
        }
        if (original.rate != note.rate) revert RateMismatch(originalKey, original.rate, note.rate);
        bytes32 firstHolder = _documentKeys[note.documentHash];
        if (firstHolder != bytes32(0)) revert DocumentAlreadyRegistered(note.documentHash, firstHolder);

        Balance memory balance = _balances[originalKey];
        uint256 open = uint256(original.net) + original.tax - balance.redLettered;
        if (note.gross > open) revert RedLetterExceedsOpenAmount(originalKey, note.gross, open);
        openAfter = open - note.gross;
        if (openAfter < balance.drawn) revert OpenAmountBelowDrawn(originalKey, openAfter, balance.drawn);
    }

    /// @dev Counts the invoice in the merchant's month and hour; returns the quota and spike flags.
    function _countActivity(address seller, uint256 gross, uint256 monthlyQuota, uint256 hourlyNorm)
        private
        returns (uint8 flags)
    {
        uint256 word = _activity[seller];
        uint256 hour = block.timestamp / 1 hours;
        bool sameHour = (word >> 88) & _MASK32 == hour;
        // China months start on whole UTC hours (UTC+8), so the same hour means the same month.
        uint256 month = sameHour ? word & _MASK24 : ChinaCalendar.month(block.timestamp);
        uint256 monthGross = word & _MASK24 == month ? (word >> 24) & _MASK64 : 0;
        uint256 hourCount = sameHour ? (word >> 120) & _MASK32 : 0;
        unchecked {
            monthGross += gross; // both below 2^64 + 2^48: no overflow
            hourCount += 1;
            if (monthGross > monthlyQuota) flags = FLAG_MONTHLY_QUOTA_EXCEEDED;
            if (hourCount > hourlyNorm) flags |= FLAG_RATE_SPIKE;
            if (monthGross > _MASK64) monthGross = _MASK64; // saturate
            if (hourCount > _MASK32) hourCount = _MASK32;
            _activity[seller] = month | (monthGross << 24) | (hour << 88) | (hourCount << 120)
                | (((word >> _ISSUED_COUNT_SHIFT) + 1) << _ISSUED_COUNT_SHIFT);
        }
    }

    function _isPaused(uint256 config) private pure returns (bool) {
        return (config >> 144) & 0xff != 0;
    }

    /// @dev Counts one more registered invoice or note (as Flagged when `flagged`).
    function _countRegistered(bool flagged) private {
        uint256 increment = flagged ? _REGISTERED_ONE + _FLAGGED_ONE : _REGISTERED_ONE;
        assembly ("memory-safe") {
            let slot := _config.slot
            sstore(slot, add(sload(slot), increment))
        }
    }

    /// @dev Counts an invoice moving from status `from` to status `to` (Cleared..RedLettered).
    function _countTransition(InvoiceStatus from, InvoiceStatus to) private {
        uint256 transitions = _transitions;
        uint256 fromBit = 1 << (_COUNT_BITS * (uint256(from) - 1));
        unchecked {
            // Issued and Flagged count cumulative departures; the other statuses current members.
            transitions = from == InvoiceStatus.Issued || from == InvoiceStatus.Flagged
                ? transitions + fromBit
                : transitions - fromBit;
            _transitions = transitions + (1 << (_COUNT_BITS * (uint256(to) - 1)));
        }
    }

    /// @dev Writes the two record words at once.
    function _store(bytes32 key, IssueRequest calldata request, InvoiceStatus status, uint8 flags, uint8 kind)
        private
    {
        uint256 word0 = uint256(uint160(request.seller)) | (uint256(status) << 160) | (uint256(flags) << 168)
            | (uint256(request.rate) << 176) | (uint256(kind) << 184) | (uint256(request.itemCount) << 192)
            | (uint256(request.issuedAt) << 208);
        uint256 word1 = uint256(uint160(request.buyerIdHash)) | (request.net << 160) | (request.tax << 208);
        Record storage record = _records[key];
        assembly ("memory-safe") {
            sstore(record.slot, word0)
            sstore(add(record.slot, 1), word1)
        }
    }

    function _emitIssued(bytes32 key, IssueRequest calldata request, uint8 flags) private {
        emit InvoiceIssued(
            key,
            request.seller,
            request.buyerIdHash,
            bytes20(bytes(request.number)),
            request.net,
            request.tax,
            request.rate,
            request.invoiceType,
            request.issuedAt,
            request.documentHash,
            flags
        );
    }

    function _review(bytes32 key, InvoiceStatus outcome) private {
        Record storage record = _requireRecord(key);
        InvoiceStatus status = record.status;
        if (status != InvoiceStatus.Flagged) revert InvalidInvoiceStatus(key, status);
        record.status = outcome;
        _countTransition(InvoiceStatus.Flagged, outcome);
    }

    function _requireRecord(bytes32 key) private view returns (Record storage record) {
        record = _records[key];
        if (record.status == InvoiceStatus.None) revert InvoiceNotFound(key);
    }

    function _invoice(bytes32 key) private view returns (Invoice memory invoice) {
        Record storage record = _records[key];
        Balance memory balance = _balances[key];
        invoice.key = key;
        invoice.seller = record.seller;
        invoice.buyerIdHash = record.buyerIdHash;
        invoice.net = record.net;
        invoice.tax = record.tax;
        invoice.gross = uint256(record.net) + record.tax;
        invoice.rate = record.rate;
        invoice.itemCount = record.itemCount;
        invoice.invoiceType = record.kind & 1;
        invoice.issuedAt = record.issuedAt;
        invoice.status = record.status;
        invoice.flags = record.flags;
        invoice.isRedLetter = record.kind & _NOTE_BIT != 0;
        invoice.original = _originals[key];
        invoice.redLettered = balance.redLettered;
        invoice.drawn = balance.drawn;
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
     * @dev The 20-digit check code: keccak256(abi.encode(key, seller, buyerIdHash, net, tax,
     * issuedAt)) modulo 10^20. It depends only on data fixed at issuance, so the issuer can
     * compute it before building (and hashing) the document that prints it.
     */
    function _checkCode(bytes32 key, Record storage record) private view returns (uint256) {
        return uint256(
            keccak256(abi.encode(key, record.seller, record.buyerIdHash, record.net, record.tax, record.issuedAt))
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
        if (status == InvoiceStatus.Voided) return VerifyResult.Voided;
        if (status == InvoiceStatus.Rejected) return VerifyResult.Rejected;
        if (status == InvoiceStatus.Flagged) return VerifyResult.Flagged;
        if (status == InvoiceStatus.RedLettered || record.kind & _REDUCED_BIT != 0) return VerifyResult.RedLettered;
        return VerifyResult.Authentic;
    }

    /// @dev True when `number` is exactly 20 ASCII digits (one 20-byte SWAR test, no loop).
    function _isTwentyDigits(bytes calldata number) private pure returns (bool) {
        if (number.length != 20) return false;
        uint256 word = uint160(bytes20(number));
        // every byte < 0x80, <= 0x39 (adding 0x46 keeps the high bit clear) and >= 0x30 (adding 0x50 sets it)
        return word & _HIGH_BITS == 0 && (word + _ADD_46) & _HIGH_BITS == 0 && (word + _ADD_50) & _HIGH_BITS == _HIGH_BITS;
    }

    function _popCount(uint8 value) private pure returns (uint256 count) {
        for (; value != 0; value &= value - 1) ++count;
    }
}
