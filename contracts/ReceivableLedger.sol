// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IInvoiceRegistry} from "./interfaces/IInvoiceRegistry.sol";
import {IMerchantRegistry} from "./interfaces/IMerchantRegistry.sol";
import {IReceivableLedger} from "./interfaces/IReceivableLedger.sol";

/**
 * @title ReceivableLedger
 * @notice Receivables chain (应收账款链) on top of {InvoiceRegistry}.
 *
 * The seller of an Issued or Cleared invoice creates a receivable against the invoice's
 * buyer (proved by opening the invoice's buyer commitment; the debtor is the account the
 * authority registered for the buyer's tag) for at most the invoice's available amount; the
 * registry records the draw, so the invoice cannot be voided, nor red-lettered below its
 * receivables. The debtor accepts it (directly or by an EIP-712 signature that anyone
 * relays). The holder may then transfer it whole, split it into 2..MAX_PARTS parts, or
 * offer it as a pledge to a financier, who either declines the offer or accepts it by
 * financing: it pays the advance to the holder and records its fee, and may later release it.
 * The debtor settles it in the settlement token, in one or several payments, through a
 * waterfall: the financier first, up to its advance plus fee less what it already received,
 * the surplus to the holder; a fully paid receivable closes and the registry counts its amount
 * as settled, for every ledger, for good. Past its due date plus the authority's grace period
 * its holder or financier may mark it Overdue, and later Defaulted; it can still be settled.
 *
 * A suspended merchant may not create receivables, pledge them or be financed; it may still
 * transfer, split or cancel what it holds and be paid, so that its own suppliers down the
 * chain are not hurt by its suspension. The authority can freeze one receivable (hold) and
 * pause the whole ledger.
 *
 * Lineage lives in the id (see {IReceivableLedger}): a split writes one storage slot per part.
 * The hot paths are kept lean: via-IR dispatches selectors linearly in ascending order, so the
 * views whose selectors sort before transfer's are few (rootsOfInvoice, claimNonces,
 * receivableCount and token are named for that), and transfer's log has one topic.
 * A pledge writes no new slot: the financier's index sits in the receivable's own slot.
 * Lists per holder, debtor or financier are derived from the indexed events (docs/receivables.md).
 */
contract ReceivableLedger is AccessControlDefaultAdminRules, Pausable, EIP712, Nonces, IReceivableLedger {
    using SafeERC20 for IERC20;

    bytes32 public constant AUTHORITY_ROLE = keccak256("AUTHORITY_ROLE");
    bytes32 public constant FINANCIER_ROLE = keccak256("FINANCIER_ROLE");

    // Delay of a two-step transfer of the default admin role (defaultAdminDelay() tells it).
    uint48 private constant _ADMIN_TRANSFER_DELAY = 2 days;

    /// @notice EIP-712 type of the debtor's acceptance of a receivable (nonce: {nonces}).
    bytes32 public constant ACCEPT_TYPEHASH = keccak256(
        "AcceptReceivable(uint256 id,bytes32 invoiceKey,uint256 amount,uint40 dueDate,uint256 nonce,uint256 deadline)"
    );

    /// @notice EIP-712 type of the authority's attestation that `account` is the buyer with `buyerTag`
    /// (nonce: {claimNonces}, a counter of its own).
    bytes32 public constant BUYER_CLAIM_TYPEHASH =
        keccak256("BuyerClaim(bytes32 buyerTag,address account,uint256 nonce,uint256 deadline)");

    /// @notice Most parts of one split.
    uint256 public constant MAX_PARTS = 10;

    // Deepest split level: (256 - 64) bits / 4 bits per level.
    uint256 private constant _MAX_DEPTH = 48;

    /// @notice Largest face value (the registry's 48-bit amounts).
    uint256 public constant MAX_AMOUNT = type(uint48).max;

    uint256 private constant _ROOT_BITS = 64;
    uint256 private constant _DIGIT_BITS = 4;
    uint256 private constant _ROOT_MASK = type(uint64).max;

    /// @dev The state every receivable has, in one slot: the one slot a split writes per part and a pledge updates.
    struct Core {
        address holder;
        ReceivableStatus status;
        uint48 amount; // face value, fen
        uint40 financier; // index in _financiers of the offered financier (Offered) or pledgee (financed), else 0
    }

    /// @dev The terms of a financing and the waterfall's first tier, in one slot (amounts fit 48 bits).
    struct Financing {
        uint48 advance; // paid to the holder at financing
        uint48 fee; // the financier's fee or discount
        uint48 repaid; // received by the financier out of the debtor's payments
    }

    /// @dev Terms shared by a root receivable and all its parts, stored once per root.
    struct Terms {
        address debtor;
        uint40 dueDate;
        uint40 createdAt;
    }

    IInvoiceRegistry private immutable _invoices;
    IMerchantRegistry private immutable _merchants;
    IERC20 private immutable _token;

    /// @notice Longest grace or default period the authority may set.
    uint256 public constant MAX_PERIOD = 3650 days;

    uint64 private _rootCount;
    uint40 private _financierCount;
    uint40 private _gracePeriod;
    uint40 private _defaultPeriod = 30 days;
    mapping(uint256 id => Core) private _cores;
    mapping(uint256 id => Financing) private _financings; // terms of the current pledgee
    mapping(uint256 id => uint256) private _paid;
    mapping(uint256 rootId => Terms) private _terms;
    mapping(uint256 rootId => bytes32) private _invoiceKeys;
    mapping(bytes32 invoiceKey => uint256) private _invoiceRootCounts;
    mapping(bytes32 invoiceKey => mapping(uint256 index => uint256 rootId)) private _invoiceRoots;
    mapping(bytes32 buyerTag => address) private _buyers;
    mapping(address account => uint256) private _buyerClaimNonces;
    mapping(address financier => uint40) private _financierIndexes; // non-zero while it holds FINANCIER_ROLE
    mapping(uint40 index => address) private _financiers;
    mapping(uint256 id => ReceivableStatus) private _heldFrom;

    /**
     * @param authority Receives the default admin role (two-step transfer) and AUTHORITY_ROLE.
     * @param invoices The invoice registry (this ledger needs its LEDGER_ROLE).
     * @param settlementToken The ERC-20 receivables are financed and paid in.
     */
    constructor(address authority, IInvoiceRegistry invoices, IERC20 settlementToken)
        AccessControlDefaultAdminRules(_ADMIN_TRANSFER_DELAY, authority)
        EIP712("ReceivableLedger", "2")
    {
        _grantRole(AUTHORITY_ROLE, authority);
        _invoices = invoices;
        _merchants = IMerchantRegistry(invoices.merchantRegistry());
        _token = settlementToken;
    }

    // ------------------------------------------------------------------ buyers

    /**
     * @inheritdoc IReceivableLedger
     * @dev Re-registering (e.g. after a key change) moves the tag; receivables already created
     * keep their debtor.
     *
     * Requirements: the caller has AUTHORITY_ROLE; neither argument is zero.
     *
     * Emits a {BuyerRegistered} event.
     */
    function registerBuyer(bytes32 buyerTag, address account) external onlyRole(AUTHORITY_ROLE) {
        _registerBuyer(buyerTag, account, msg.sender);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Anyone may relay. Requirements: `deadline` not passed; `buyerTag` not yet
     * registered; the signer holds AUTHORITY_ROLE; the attestation signs the account's current
     * {claimNonces} (acceptance nonces are separate, so neither invalidates the other).
     *
     * Emits a {BuyerRegistered} event.
     */
    function claimBuyer(bytes32 buyerTag, address account, uint256 deadline, bytes calldata attestation)
        external
    {
        if (block.timestamp > deadline) revert ExpiredSignature(deadline);
        address registered = _buyers[buyerTag];
        if (registered != address(0)) revert BuyerAlreadyRegistered(buyerTag, registered);
        uint256 nonce = _buyerClaimNonces[account]++;
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(BUYER_CLAIM_TYPEHASH, buyerTag, account, nonce, deadline)));
        address signer = ECDSA.recover(digest, attestation);
        if (!hasRole(AUTHORITY_ROLE, signer)) revert InvalidAttestor(signer);
        _registerBuyer(buyerTag, account, signer);
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * @inheritdoc IReceivableLedger
     * @dev Requirements:
     * - not paused;
     * - the invoice exists, is Issued or Cleared and the caller is its seller, an approved
     *   (not suspended) merchant;
     * - `buyerDigest` and `buyerTag` open the invoice's buyer commitment, and the tag has a
     *   registered account (the debtor);
     * - 0 < `amount` <= open amount - drawn - settled of the invoice (all ledgers);
     * - `dueDate` is in the future.
     *
     * Emits a {ReceivableCreated} event (and the registry's InvoiceAmountDrawn).
     */
    function create(bytes32 invoiceKey, uint256 amount, uint40 dueDate, bytes32 buyerDigest, bytes32 buyerTag)
        external
        whenNotPaused
        returns (uint256 id)
    {
        if (amount == 0 || amount > MAX_AMOUNT) revert InvalidAmount(amount);
        if (dueDate <= block.timestamp) revert DueDateNotInFuture(dueDate);
        IInvoiceRegistry.Invoice memory invoice = _invoices.getInvoice(invoiceKey);
        if (invoice.seller != msg.sender) revert NotInvoiceSeller(invoiceKey, msg.sender);
        if (!_merchants.isActiveMerchant(msg.sender)) revert CreditorNotActive(msg.sender);
        if (invoice.isRedLetter || (invoice.status != IInvoiceRegistry.InvoiceStatus.Issued
            && invoice.status != IInvoiceRegistry.InvoiceStatus.Cleared)) {
            revert InvoiceNotEligible(invoiceKey, uint8(invoice.status));
        }
        if (bytes20(keccak256(abi.encode(buyerDigest, buyerTag))) != invoice.buyerCommitment) {
            revert BuyerProofMismatch(invoiceKey);
        }
        uint256 used = invoice.drawn + invoice.settled;
        uint256 available = invoice.openAmount > used ? invoice.openAmount - used : 0;
        if (amount > available) revert ExceedsInvoiceAvailable(invoiceKey, amount, available);
        address debtor = _buyers[buyerTag];
        if (debtor == address(0)) revert BuyerNotRegistered(buyerTag);

        id = ++_rootCount;
        _cores[id] = Core(msg.sender, ReceivableStatus.Created, uint48(amount), 0);
        _terms[id] = Terms(debtor, dueDate, uint40(block.timestamp));
        _invoiceKeys[id] = invoiceKey;
        _invoiceRoots[invoiceKey][_invoiceRootCounts[invoiceKey]++] = id;
        emit ReceivableCreated(id, msg.sender, debtor, invoiceKey, amount, dueDate);

        _invoices.drawForReceivable(invoiceKey, amount);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Requirements: not paused; `id` is Created; the caller is its debtor.
     *
     * Emits a {ReceivableAccepted} event.
     */
    function accept(uint256 id) external whenNotPaused {
        ReceivableStatus status = _existing(id).status;
        address debtor = _terms[id & _ROOT_MASK].debtor;
        if (msg.sender != debtor) revert NotDebtor(id, msg.sender);
        _accept(id, status, debtor);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev An EOA signature, or ERC-1271 for a contract debtor. Anyone may relay it.
     *
     * Requirements:
     * - not paused; `deadline` not passed;
     * - `signature` is the debtor's over this chain, this contract, `id` and its terms,
     *   `nonce` and `deadline`;
     * - `nonce` is the debtor's current acceptance nonce (a signature works once);
     * - `id` is Created.
     *
     * Emits a {ReceivableAccepted} event.
     */
    function acceptBySignature(uint256 id, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
        whenNotPaused
    {
        if (block.timestamp > deadline) revert ExpiredSignature(deadline);
        Core memory core = _existing(id);
        uint256 rootId = id & _ROOT_MASK;
        Terms memory terms = _terms[rootId];
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(ACCEPT_TYPEHASH, id, _invoiceKeys[rootId], core.amount, terms.dueDate, nonce, deadline)
            )
        );
        if (!_isValidSignatureNow(terms.debtor, digest, signature)) {
            revert InvalidSignature(terms.debtor);
        }
        _useCheckedNonce(terms.debtor, nonce);
        _accept(id, core.status, terms.debtor);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Its amount is given back on the invoice.
     *
     * Requirements: not paused; `id` is Created; the caller is its holder.
     *
     * Emits a {ReceivableCancelled} event.
     */
    function cancel(uint256 id) external whenNotPaused {
        Core memory core = _existing(id);
        if (core.holder != msg.sender) revert NotHolder(id, msg.sender);
        _requireCreated(id, core.status);
        _cores[id].status = ReceivableStatus.Cancelled;
        emit ReceivableCancelled(id, msg.sender);
        _invoices.releaseForReceivable(_invoiceKeys[id], core.amount);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Its amount is given back on the invoice.
     *
     * Requirements: not paused; `id` is Created; the caller is its debtor.
     *
     * Emits a {ReceivableDeclined} event.
     */
    function decline(uint256 id) external whenNotPaused {
        Core memory core = _existing(id);
        if (_terms[id & _ROOT_MASK].debtor != msg.sender) revert NotDebtor(id, msg.sender);
        _requireCreated(id, core.status);
        _cores[id].status = ReceivableStatus.Declined;
        emit ReceivableDeclined(id, msg.sender);
        _invoices.releaseForReceivable(_invoiceKeys[id], core.amount);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Requirements: not paused; the caller holds `id`; `id` is Accepted (not pledged,
     * held or closed); `to` is neither zero nor the caller.
     *
     * Emits a {ReceivableTransferred} event.
     */
    function transfer(uint256 id, address to) external {
        _requireNotPaused();
        // The hottest path of the ledger: one read and one write of the receivable's slot.
        bytes32 slot = _coreSlot(id);
        uint256 word;
        assembly ("memory-safe") {
            word := sload(slot)
        }
        if (address(uint160(word)) != msg.sender || (word >> 160) & 0xff != uint256(ReceivableStatus.Accepted)) {
            _requireTransferable(id, _cores[id]); // reverts with the reason
        }
        if (to == address(0) || to == msg.sender) revert InvalidRecipient(to);
        assembly ("memory-safe") {
            sstore(slot, or(and(word, not(0xffffffffffffffffffffffffffffffffffffffff)), to))
        }
        emit ReceivableTransferred(id, msg.sender, to);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev The parts, held by the caller, get ids `childIdOf(id, 1..amounts.length)`; `id`
     * closes as Split. Payments the debtor already made on `id` count as paid on the parts in
     * order (the first part first), so a payment never blocks a split: a part they cover in
     * full is born Settled.
     *
     * Requirements: not paused; the caller holds `id`; `id` is Accepted; 2..MAX_PARTS
     * non-zero amounts summing exactly to its face value; `id` is fewer than MAX_DEPTH
     * splits below its root.
     *
     * Emits a {ReceivableSplit} event per part.
     */
    function split(uint256 id, uint256[] calldata amounts) external whenNotPaused returns (uint256[] memory childIds) {
        Core memory core = _cores[id];
        _requireTransferable(id, core);
        uint256 parts = amounts.length;
        if (parts < 2 || parts > MAX_PARTS) revert InvalidPartCount(parts, MAX_PARTS);
        uint256 depth = _depth(id);
        if (depth >= _MAX_DEPTH) revert SplitDepthExceeded(id);
        uint256 total = 0;
        for (uint256 i = 0; i < parts; ++i) {
            if (amounts[i] == 0) revert InvalidAmount(0);
            total += amounts[i];
        }
        if (total != core.amount) revert SplitAmountMismatch(total, core.amount);

        _cores[id].status = ReceivableStatus.Split;
        uint256 covered;
        (childIds, covered) = _createParts(id, amounts, _ROOT_BITS + depth * _DIGIT_BITS);
        if (covered != 0) _invoices.settleForReceivable(_invoiceKeys[id & _ROOT_MASK], covered);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev An offer only: the financier becomes a counterparty when it calls {finance}, or refuses
     * with {declinePledge}; the holder may {withdrawPledge} meanwhile. Locks `id` while offered.
     *
     * Requirements: not paused; the caller holds `id` and is not a suspended merchant; `id`
     * is Accepted; `financier` has FINANCIER_ROLE.
     *
     * Emits a {PledgeOffered} event.
     */
    function pledge(uint256 id, address financier) external whenNotPaused {
        Core memory core = _cores[id];
        _requireTransferable(id, core);
        uint40 index = _financierIndexes[financier];
        if (index == 0) revert NotFinancier(financier);
        if (_merchants.isSuspended(msg.sender)) revert HolderSuspended(id, msg.sender);
        core.status = ReceivableStatus.Offered;
        core.financier = index;
        _cores[id] = core;
        emit PledgeOffered(id, msg.sender, financier);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Requirements: not paused; `id` is Offered to the caller.
     *
     * Emits a {PledgeDeclined} event.
     */
    function declinePledge(uint256 id) external whenNotPaused {
        Core memory core = _requireOffered(id);
        address financier = _financiers[core.financier];
        if (financier != msg.sender) revert NotPledgee(id, msg.sender);
        core.status = ReceivableStatus.Accepted;
        core.financier = 0;
        _cores[id] = core;
        emit PledgeDeclined(id, msg.sender, core.holder);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Requirements: not paused; `id` is Offered; the caller holds it.
     *
     * Emits a {PledgeWithdrawn} event.
     */
    function withdrawPledge(uint256 id) external whenNotPaused {
        Core memory core = _requireOffered(id);
        if (core.holder != msg.sender) revert NotHolder(id, msg.sender);
        address financier = _financiers[core.financier];
        core.status = ReceivableStatus.Accepted;
        core.financier = 0;
        _cores[id] = core;
        emit PledgeWithdrawn(id, msg.sender, financier);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Accepts the holder's offer: the settlement token goes from the financier to the holder
     * through this contract (the financier approves it first); the terms are recorded for the
     * waterfall of {settle}.
     *
     * Requirements: not paused; `id` is Offered to the caller, who still has FINANCIER_ROLE; the
     * holder is not a suspended merchant; 0 < `advance` <= the unpaid amount (face - paid);
     * `advance + fee` <= the unpaid amount; allowance and balance suffice.
     *
     * Emits a {ReceivableFinanced} event (and the token's Transfer).
     */
    function finance(uint256 id, uint256 advance, uint256 fee) external whenNotPaused {
        Core memory core = _requireOffered(id);
        if (_financiers[core.financier] != msg.sender) revert NotPledgee(id, msg.sender);
        if (_financierIndexes[msg.sender] != core.financier) revert NotFinancier(msg.sender);
        if (_merchants.isSuspended(core.holder)) revert HolderSuspended(id, core.holder);
        if (advance == 0) revert InvalidAmount(0);
        uint256 outstanding = core.amount - _paid[id];
        if (advance > outstanding) revert AdvanceExceedsOutstanding(id, advance, outstanding);
        if (fee > outstanding - advance) revert FeeExceedsOutstanding(id, advance, fee, outstanding);
        _financings[id] = Financing(uint48(advance), uint48(fee), 0);
        _cores[id].status = ReceivableStatus.Pledged;
        emit ReceivableFinanced(id, msg.sender, core.holder, advance, fee);
        _token.safeTransferFrom(msg.sender, core.holder, advance);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Typically once repaid off chain; the holder may transfer, split or pledge it again.
     *
     * Requirements: not paused; `id` is Pledged to the caller.
     *
     * Emits a {PledgeReleased} event.
     */
    function release(uint256 id) external whenNotPaused {
        Core memory core = _requirePledged(id);
        if (_financiers[core.financier] != msg.sender) revert NotPledgee(id, msg.sender);
        uint256 advance = _financings[id].advance;
        core.status = ReceivableStatus.Accepted;
        core.financier = 0;
        _cores[id] = core;
        delete _financings[id];
        emit PledgeReleased(id, msg.sender, core.holder, advance);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev The waterfall: while `id` is financed (Pledged, or Overdue / Defaulted after being
     * Pledged) the financier receives the payment first, up to advance + fee - repaid; the
     * surplus goes to the holder. Unfinanced, everything goes to the holder. Once fully paid
     * `id` closes as Settled and the registry moves its face value from drawn to settled.
     *
     * Requirements: not paused; `id` is Accepted, Offered, Pledged, Overdue or Defaulted (not
     * held); the caller is its debtor; 0 < `amount` <= outstanding; allowance and balance suffice.
     *
     * Emits a {ReceivableSettled} event, a {FinancierRepaid} event when the financier receives
     * part of it (and the token's Transfers).
     */
    function settle(uint256 id, uint256 amount) external whenNotPaused {
        Core memory core = _existing(id);
        ReceivableStatus status = core.status;
        if (status == ReceivableStatus.Created) revert ReceivableNotAccepted(id);
        if (status == ReceivableStatus.Held) revert ReceivableOnHold(id);
        if (!_isLive(status)) revert ReceivableClosed(id, status);
        uint256 rootId = id & _ROOT_MASK;
        if (msg.sender != _terms[rootId].debtor) revert NotDebtor(id, msg.sender);
        if (amount == 0) revert InvalidAmount(0);
        uint256 paid = _paid[id];
        uint256 outstanding = core.amount - paid;
        if (amount > outstanding) revert SettlementExceedsOutstanding(id, amount, outstanding);

        uint256 toFinancier;
        address financier;
        if (core.financier != 0 && status != ReceivableStatus.Offered) {
            Financing memory financing = _financings[id];
            uint256 owed = uint256(financing.advance) + financing.fee - financing.repaid;
            if (owed != 0) {
                toFinancier = amount < owed ? amount : owed;
                owed -= toFinancier;
                _financings[id].repaid = financing.repaid + uint48(toFinancier);
                financier = _financiers[core.financier];
                emit FinancierRepaid(id, financier, toFinancier, owed);
            }
        }
        _paid[id] = paid + amount;
        outstanding -= amount;
        if (outstanding == 0) _cores[id].status = ReceivableStatus.Settled;
        emit ReceivableSettled(id, msg.sender, core.holder, amount, toFinancier, outstanding);

        if (toFinancier != 0) _token.safeTransferFrom(msg.sender, financier, toFinancier);
        if (amount != toFinancier) _token.safeTransferFrom(msg.sender, core.holder, amount - toFinancier);
        if (outstanding == 0) _invoices.settleForReceivable(_invoiceKeys[rootId], core.amount);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Requirements: not paused; `id` is Accepted or Pledged (an Offered one: the offer must
     * be answered or withdrawn first); the caller is its holder or, when Pledged, its financier;
     * now > due date + grace period.
     *
     * Emits a {ReceivableOverdue} event.
     */
    function markOverdue(uint256 id) external whenNotPaused {
        Core memory core = _existing(id);
        ReceivableStatus status = core.status;
        if (status == ReceivableStatus.Offered) revert PledgeOfferPending(id, _financiers[core.financier]);
        if (status != ReceivableStatus.Accepted && status != ReceivableStatus.Pledged) {
            _requireCollectable(id, status);
        }
        if (msg.sender != core.holder
            && !(status == ReceivableStatus.Pledged && msg.sender == _financiers[core.financier])) {
            revert NotHolderOrFinancier(id, msg.sender);
        }
        uint40 dueDate = _terms[id & _ROOT_MASK].dueDate;
        uint256 notBefore = uint256(dueDate) + _gracePeriod;
        if (block.timestamp <= notBefore) revert MaturityNotReached(id, notBefore + 1);
        _cores[id].status = ReceivableStatus.Overdue;
        emit ReceivableOverdue(id, msg.sender, dueDate, status);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev The authority may declare an Overdue receivable in default at any time (e.g. on an
     * insolvency); its holder, or its financier when financed, once now > due date + grace
     * period + default period. Defaulted is still settled through the waterfall.
     *
     * Requirements: not paused; `id` is Overdue.
     *
     * Emits a {ReceivableDefaulted} event.
     */
    function markDefaulted(uint256 id) external whenNotPaused {
        Core memory core = _existing(id);
        if (core.status != ReceivableStatus.Overdue) {
            if (core.status == ReceivableStatus.Held) revert ReceivableOnHold(id);
            revert ReceivableNotOverdue(id, core.status);
        }
        if (!hasRole(AUTHORITY_ROLE, msg.sender)) {
            if (msg.sender != core.holder && (core.financier == 0 || msg.sender != _financiers[core.financier])) {
                revert NotHolderOrFinancier(id, msg.sender);
            }
            uint256 notBefore = uint256(_terms[id & _ROOT_MASK].dueDate) + _gracePeriod + _defaultPeriod;
            if (block.timestamp <= notBefore) revert MaturityNotReached(id, notBefore + 1);
        }
        _cores[id].status = ReceivableStatus.Defaulted;
        emit ReceivableDefaulted(id, msg.sender, core.amount - _paid[id]);
    }

    // ------------------------------------------------------------------ authority

    /**
     * @inheritdoc IReceivableLedger
     * @dev Works while paused. Requirements: caller has AUTHORITY_ROLE; `id` is live
     * (Created, Accepted, Offered, Pledged, Overdue or Defaulted) and not already held.
     *
     * Emits a {ReceivableHeld} event.
     */
    function hold(uint256 id, uint16 reasonCode) external onlyRole(AUTHORITY_ROLE) {
        ReceivableStatus status = _existing(id).status;
        if (status == ReceivableStatus.Held) revert ReceivableOnHold(id);
        if (!_isLive(status)) revert ReceivableClosed(id, status);
        _heldFrom[id] = status;
        _cores[id].status = ReceivableStatus.Held;
        emit ReceivableHeld(id, msg.sender, reasonCode, status);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Works while paused. Requirements: caller has AUTHORITY_ROLE; `id` is Held.
     *
     * Emits a {ReceivableHoldLifted} event.
     */
    function liftHold(uint256 id) external onlyRole(AUTHORITY_ROLE) {
        if (_existing(id).status != ReceivableStatus.Held) revert ReceivableNotHeld(id);
        ReceivableStatus status = _heldFrom[id];
        delete _heldFrom[id];
        _cores[id].status = status;
        emit ReceivableHoldLifted(id, msg.sender, status);
    }

    /**
     * @inheritdoc IReceivableLedger
     * @dev Works while paused; applies to every receivable, existing ones included. Requirements:
     * caller has AUTHORITY_ROLE; each period <= MAX_PERIOD.
     *
     * Emits a {MaturityTimesSet} event.
     */
    function setMaturityTimes(uint40 gracePeriod, uint40 defaultPeriod) external onlyRole(AUTHORITY_ROLE) {
        if (gracePeriod > MAX_PERIOD) revert InvalidPeriod(gracePeriod, MAX_PERIOD);
        if (defaultPeriod > MAX_PERIOD) revert InvalidPeriod(defaultPeriod, MAX_PERIOD);
        _gracePeriod = gracePeriod;
        _defaultPeriod = defaultPeriod;
        emit MaturityTimesSet(msg.sender, gracePeriod, defaultPeriod);
    }

    /**
     * @notice Pauses every receivable operation (buyer registration, holds and roles aside).
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

    /// @inheritdoc IReceivableLedger
    function getReceivable(uint256 id) external view returns (ReceivableView memory view_) {
        Core memory core = _existing(id);
        uint256 rootId = id & _ROOT_MASK;
        Terms memory terms = _terms[rootId];
        view_.id = id;
        view_.parentId = parentOf(id);
        view_.rootId = rootId;
        view_.invoiceKey = _invoiceKeys[rootId];
        view_.creditor = _invoices.getInvoice(view_.invoiceKey).seller;
        view_.holder = core.holder;
        view_.debtor = terms.debtor;
        view_.financier = _financiers[core.financier];
        view_.status = core.status;
        view_.amount = core.amount;
        view_.paid = _paid[id];
        Financing memory financing = _financings[id];
        view_.advance = financing.advance;
        view_.createdAt = terms.createdAt;
        view_.dueDate = terms.dueDate;
        view_.overdue = _isLive(core.status) && block.timestamp > terms.dueDate;
        view_.fee = financing.fee;
        view_.repaid = financing.repaid;
    }

    /// @inheritdoc IReceivableLedger
    function owedToFinancier(uint256 id) external view returns (uint256) {
        Financing memory financing = _financings[id];
        return uint256(financing.advance) + financing.fee - financing.repaid;
    }

    /// @inheritdoc IReceivableLedger
    function maturityTimes() external view returns (uint40 gracePeriod, uint40 defaultPeriod) {
        return (_gracePeriod, _defaultPeriod);
    }

    /// @inheritdoc IReceivableLedger
    function statusOf(uint256 id) external view returns (ReceivableStatus) {
        return _cores[id].status;
    }

    /// @inheritdoc IReceivableLedger
    function holderOf(uint256 id) external view returns (address) {
        return _existing(id).holder;
    }

    /// @inheritdoc IReceivableLedger
    function outstandingOf(uint256 id) external view returns (uint256) {
        Core memory core = _existing(id);
        return _isLive(core.status) ? core.amount - _paid[id] : 0;
    }

    /// @inheritdoc IReceivableLedger
    function isOverdue(uint256 id) external view returns (bool) {
        return _isLive(_existing(id).status) && block.timestamp > _terms[id & _ROOT_MASK].dueDate;
    }

    /// @inheritdoc IReceivableLedger
    function parentOf(uint256 id) public pure returns (uint256) {
        uint256 depth = _depth(id);
        if (depth == 0) return 0;
        return id & ~(uint256(0xF) << (_ROOT_BITS + (depth - 1) * _DIGIT_BITS));
    }

    /// @inheritdoc IReceivableLedger
    function rootOf(uint256 id) external pure returns (uint256) {
        return id & _ROOT_MASK;
    }

    /// @inheritdoc IReceivableLedger
    function childIdOf(uint256 parentId, uint256 part) external pure returns (uint256) {
        if (part == 0 || part > MAX_PARTS) revert InvalidPartCount(part, MAX_PARTS);
        uint256 depth = _depth(parentId);
        if (depth >= _MAX_DEPTH) revert SplitDepthExceeded(parentId);
        return parentId | (part << (_ROOT_BITS + depth * _DIGIT_BITS));
    }

    /// @inheritdoc IReceivableLedger
    function rootsOfInvoice(bytes32 invoiceKey) external view returns (uint256[] memory ids) {
        uint256 count = _invoiceRootCounts[invoiceKey];
        ids = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            ids[i] = _invoiceRoots[invoiceKey][i];
        }
    }

    /// @inheritdoc IReceivableLedger
    function buyerAccountOf(bytes32 buyerTag) external view returns (address) {
        return _buyers[buyerTag];
    }

    /// @inheritdoc IReceivableLedger
    function claimNonces(address account) external view returns (uint256) {
        return _buyerClaimNonces[account];
    }

    /// @inheritdoc IReceivableLedger
    function receivableCount() external view returns (uint256) {
        return _rootCount;
    }

    /// @notice The invoice registry this ledger works with.
    function invoiceRegistry() external view returns (IInvoiceRegistry) {
        return _invoices;
    }

    /// @notice The ERC-20 receivables are financed and paid in (the settlement token).
    function token() external view returns (IERC20) {
        return _token;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Gives a new FINANCIER_ROLE holder the index a pledge records.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (granted && role == FINANCIER_ROLE) {
            uint40 index = ++_financierCount;
            _financiers[index] = account;
            _financierIndexes[account] = index;
        }
    }

    /// @dev A revoked financier takes no new pledges; its current ones keep its index.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == FINANCIER_ROLE) delete _financierIndexes[account];
    }

    /**
     * @dev Writes the parts of a split of `id` (held by the caller), their ids `id | (i << shift)`;
     * allocates the parent's payments to them in order. Returns the ids and the face value of
     * the parts those payments cover in full (born Settled).
     */
    function _createParts(uint256 id, uint256[] calldata amounts, uint256 shift)
        private
        returns (uint256[] memory childIds, uint256 covered)
    {
        uint256 paid = _paid[id];
        uint256 parts = amounts.length;
        childIds = new uint256[](parts);
        for (uint256 i = 0; i < parts; ++i) {
            uint256 childId = id | ((i + 1) << shift);
            uint256 part = amounts[i];
            uint256 partPaid = paid < part ? paid : part;
            ReceivableStatus status = ReceivableStatus.Accepted;
            if (partPaid != 0) {
                paid -= partPaid;
                _paid[childId] = partPaid;
                if (partPaid == part) {
                    status = ReceivableStatus.Settled;
                    covered += part;
                }
            }
            childIds[i] = childId;
            _cores[childId] = Core(msg.sender, status, uint48(part), 0);
            emit ReceivableSplit(id, childId, msg.sender, part, partPaid);
        }
    }

    /// @dev The storage slot of `_cores[id]`.
    function _coreSlot(uint256 id) private pure returns (bytes32 slot) {
        assembly ("memory-safe") {
            mstore(0x00, id)
            mstore(0x20, _cores.slot)
            slot := keccak256(0x00, 0x40)
        }
    }

    function _registerBuyer(bytes32 buyerTag, address account, address attestedBy) private {
        if (buyerTag == bytes32(0) || account == address(0)) revert InvalidBuyerRegistration(buyerTag, account);
        _buyers[buyerTag] = account;
        emit BuyerRegistered(buyerTag, account, attestedBy);
    }

    function _accept(uint256 id, ReceivableStatus status, address debtor) private {
        _requireCreated(id, status);
        _cores[id].status = ReceivableStatus.Accepted;
        emit ReceivableAccepted(id, debtor, msg.sender);
    }

    /// @dev OpenZeppelin's SignatureChecker.isValidSignatureNow(address, ...), inlined: since
    /// 5.4 its file imports Bytes, whose `mcopy` needs Cancun, and the contracts are built
    /// for Shanghai so that Ganache (no Cancun) runs them too (docs/architecture.md).
    /// An EOA signs with ECDSA; a contract debtor answers ERC-1271.
    function _isValidSignatureNow(address signer, bytes32 digest, bytes memory signature)
        private
        view
        returns (bool)
    {
        if (signer.code.length == 0) {
            (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecover(digest, signature);
            return error == ECDSA.RecoverError.NoError && recovered == signer;
        }
        (bool success, bytes memory result) =
            signer.staticcall(abi.encodeCall(IERC1271.isValidSignature, (digest, signature)));
        return success && result.length >= 32
            && abi.decode(result, (bytes32)) == bytes32(IERC1271.isValidSignature.selector);
    }

    function _existing(uint256 id) private view returns (Core memory core) {
        core = _cores[id];
        if (core.status == ReceivableStatus.None) revert ReceivableNotFound(id);
    }

    function _requireCreated(uint256 id, ReceivableStatus status) private pure {
        if (status == ReceivableStatus.Created) return;
        if (status == ReceivableStatus.Held) revert ReceivableOnHold(id);
        if (_isLive(status)) revert ReceivableAlreadyAccepted(id, status);
        revert ReceivableClosed(id, status);
    }

    /// @dev The caller holds `id`, which is Accepted: it may be transferred, split or pledged.
    function _requireTransferable(uint256 id, Core memory core) private view {
        if (core.status == ReceivableStatus.Accepted && core.holder == msg.sender) return;
        if (core.status == ReceivableStatus.None) revert ReceivableNotFound(id);
        if (core.holder != msg.sender) revert NotHolder(id, msg.sender);
        if (core.status == ReceivableStatus.Pledged || core.status == ReceivableStatus.Offered) {
            revert ReceivableLocked(id, _financiers[core.financier]);
        }
        if (core.status == ReceivableStatus.Held) revert ReceivableOnHold(id);
        if (core.status == ReceivableStatus.Created) revert ReceivableNotAccepted(id);
        if (core.status == ReceivableStatus.Overdue || core.status == ReceivableStatus.Defaulted) {
            revert ReceivableMatured(id, core.status);
        }
        revert ReceivableClosed(id, core.status);
    }

    /// @dev Reverts with the reason a receivable in `status` (not Accepted, Offered or Pledged) cannot be marked overdue.
    function _requireCollectable(uint256 id, ReceivableStatus status) private pure {
        if (status == ReceivableStatus.Created) revert ReceivableNotAccepted(id);
        if (status == ReceivableStatus.Held) revert ReceivableOnHold(id);
        if (status == ReceivableStatus.Overdue || status == ReceivableStatus.Defaulted) {
            revert ReceivableMatured(id, status);
        }
        revert ReceivableClosed(id, status);
    }

    function _requireOffered(uint256 id) private view returns (Core memory core) {
        core = _existing(id);
        if (core.status == ReceivableStatus.Offered) return core;
        if (core.status == ReceivableStatus.Held) revert ReceivableOnHold(id);
        if (core.status == ReceivableStatus.Pledged) revert AlreadyFinanced(id, _financiers[core.financier]);
        if (_isLive(core.status)) revert NoPledgeOffer(id);
        revert ReceivableClosed(id, core.status);
    }

    function _requirePledged(uint256 id) private view returns (Core memory core) {
        core = _existing(id);
        if (core.status == ReceivableStatus.Pledged) return core;
        if (core.status == ReceivableStatus.Held) revert ReceivableOnHold(id);
        if (core.status == ReceivableStatus.Overdue || core.status == ReceivableStatus.Defaulted) {
            revert ReceivableMatured(id, core.status);
        }
        if (_isLive(core.status)) revert ReceivableNotPledged(id);
        revert ReceivableClosed(id, core.status);
    }

    function _isLive(ReceivableStatus status) private pure returns (bool) {
        return status == ReceivableStatus.Created || status == ReceivableStatus.Accepted
            || status == ReceivableStatus.Pledged || status == ReceivableStatus.Held
            || status >= ReceivableStatus.Offered; // Offered, Overdue, Defaulted
    }

    /// @dev Number of splits between `id` and its root: 4-bit digits above the 64-bit root index.
    function _depth(uint256 id) private pure returns (uint256) {
        uint256 digits = id >> _ROOT_BITS;
        return digits == 0 ? 0 : Math.log2(digits) / _DIGIT_BITS + 1;
    }
}
