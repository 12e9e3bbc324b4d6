// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IReceivableLedger
 * @notice Receivables (应收账款) created from registered invoices: accepted by the debtor,
 * transferred, split, pledged to a financier, financed and settled in an ERC-20.
 * Holds the enums, structs, events and custom errors of {ReceivableLedger}.
 *
 * Receivable ids encode their lineage: the low 64 bits are the index of the root
 * receivable (created from an invoice, 1, 2, 3, ...); every split appends one 4-bit digit
 * (1..MAX_PARTS) above bit 64. `parentOf`, `rootOf` and `lineage` decode it, so a child
 * records its parent without a storage write.
 *
 * Buyers are known by the operator's keyed tag (see IInvoiceRegistry): the authority links a
 * tag to the buyer's account, and the seller proves an invoice's buyer by opening its
 * commitment with the buyer digest and tag (never the tax ID).
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
        Declined, // closed: refused by the debtor
        Held, // frozen by the authority (court or authority order): nothing moves until the hold is lifted
        Offered, // the holder offered it to a financier as a pledge: locked until the financier finances or declines it
        Overdue, // marked overdue (past due date + grace period) by its holder or financier: in collection
        Defaulted // declared in default after being overdue (authority, or holder / financier after the default period)
    }

    /// @notice Everything known about one receivable, as returned by {getReceivable}.
    struct ReceivableView {
        uint256 id;
        uint256 parentId; // 0 for a root receivable
        uint256 rootId;
        bytes32 invoiceKey;
        address creditor; // the invoice seller that created the root
        address holder; // current owner of the claim
        address debtor; // the buyer's registered account
        address financier; // offered financier while Offered, pledgee while financed (kept once settled), else zero
        ReceivableStatus status;
        uint256 amount; // face value, fen
        uint256 paid; // settled so far, fen
        uint256 advance; // paid by the financier to the holder at financing, fen
        uint40 createdAt; // of the root
        uint40 dueDate;
        bool overdue; // live and past its due date
        uint256 fee; // the financier's fee (or discount) agreed at financing, fen
        uint256 repaid; // paid by the debtor to the financier so far (the waterfall's first tier), fen
    }

    /// @notice `account` is the registered account of the buyer with keyed tag `buyerTag`.
    event BuyerRegistered(bytes32 indexed buyerTag, address indexed account, address indexed attestedBy);

    /// @notice `creditor` created root receivable `id` on invoice `invoiceKey` against `debtor`.
    event ReceivableCreated(
        uint256 indexed id,
        address indexed creditor,
        address indexed debtor,
        bytes32 invoiceKey,
        uint256 amount,
        uint40 dueDate
    );

    /// @notice `debtor` accepted receivable `id`; `relayer` sent the transaction (the debtor itself when direct).
    event ReceivableAccepted(uint256 indexed id, address indexed debtor, address indexed relayer);

    /// @notice `holder` withdrew receivable `id` before acceptance.
    event ReceivableCancelled(uint256 indexed id, address indexed holder);

    /// @notice `debtor` refused receivable `id`.
    event ReceivableDeclined(uint256 indexed id, address indexed debtor);

    /// @notice Receivable `id` passed from `from` to `to` (only `id` is a topic: the cheapest log for
    /// the ledger's most frequent operation; the indexer reads the holders from the data).
    event ReceivableTransferred(uint256 indexed id, address from, address to);

    /// @notice Part `childId` of face value `amount`, held by `holder`, was split off `parentId`
    /// (one event per part); `paid` of the parent's earlier payments count as paid on this part.
    event ReceivableSplit(
        uint256 indexed parentId,
        uint256 indexed childId,
        address indexed holder,
        uint256 amount,
        uint256 paid
    );

    /// @notice `holder` offered receivable `id` as a pledge to `financier` (status Offered; nothing binds the
    /// financier until it finances).
    event PledgeOffered(uint256 indexed id, address indexed holder, address indexed financier);

    /// @notice `financier` declined the pledge offer on receivable `id`; `holder` has it back unencumbered (Accepted).
    event PledgeDeclined(uint256 indexed id, address indexed financier, address indexed holder);

    /// @notice `holder` withdrew its pledge offer on receivable `id` to `financier` before it was financed.
    event PledgeWithdrawn(uint256 indexed id, address indexed holder, address indexed financier);

    /// @notice `financier` accepted the pledge of receivable `id`: it paid `advance` fen to `holder` and is owed
    /// `advance + fee` fen out of the debtor's payments, before the holder (status Pledged).
    event ReceivableFinanced(
        uint256 indexed id,
        address indexed financier,
        address indexed holder,
        uint256 advance,
        uint256 fee
    );

    /// @notice `financier` lifted its pledge on receivable `id` after advancing `totalAdvance` fen.
    event PledgeReleased(uint256 indexed id, address indexed financier, address indexed holder, uint256 totalAdvance);

    /// @notice `debtor` paid `amount` fen on receivable `id`: `toFinancier` of them to its financier (the
    /// waterfall's first tier, see {FinancierRepaid}), the rest to `holder`; `outstanding` is left (0: settled).
    event ReceivableSettled(
        uint256 indexed id,
        address indexed debtor,
        address indexed holder,
        uint256 amount,
        uint256 toFinancier,
        uint256 outstanding
    );

    /// @notice `financier` received `amount` fen of a payment on receivable `id`; it is still owed `owed` fen.
    event FinancierRepaid(uint256 indexed id, address indexed financier, uint256 amount, uint256 owed);

    /// @notice `account` (holder or financier) marked receivable `id` overdue; its status was `previous`.
    event ReceivableOverdue(uint256 indexed id, address indexed account, uint40 dueDate, ReceivableStatus previous);

    /// @notice `account` (authority, holder or financier) declared receivable `id` in default.
    event ReceivableDefaulted(uint256 indexed id, address indexed account, uint256 outstanding);

    /// @notice `authority` set the grace period after the due date and the further period before default, in seconds.
    event MaturityTimesSet(address indexed authority, uint40 gracePeriod, uint40 defaultPeriod);

    /// @notice `authority` froze receivable `id` (it was in `previous` status) for `reasonCode`.
    event ReceivableHeld(uint256 indexed id, address indexed authority, uint16 reasonCode, ReceivableStatus previous);

    /// @notice `authority` lifted the hold on receivable `id`; it is back in `status`.
    event ReceivableHoldLifted(uint256 indexed id, address indexed authority, ReceivableStatus status);

    /// @notice No receivable `id`.
    error ReceivableNotFound(uint256 id);

    /// @notice `account` is not the holder of receivable `id`.
    error NotHolder(uint256 id, address account);

    /// @notice `account` is not the debtor of receivable `id`.
    error NotDebtor(uint256 id, address account);

    /// @notice `account` is not the financier receivable `id` is pledged to.
    error NotPledgee(uint256 id, address account);

    /// @notice `account` lacks FINANCIER_ROLE.
    error NotFinancier(address account);

    /// @notice `account` is not the seller of invoice `invoiceKey`.
    error NotInvoiceSeller(bytes32 invoiceKey, address account);

    /// @notice `account` is not an approved, active merchant: it may not create receivables.
    error CreditorNotActive(address account);

    /// @notice The holder `account` of receivable `id` is a suspended merchant: no pledge or financing.
    error HolderSuspended(uint256 id, address account);

    /// @notice Invoice `invoiceKey` is in status `status`: only Issued or Cleared invoices back receivables.
    error InvoiceNotEligible(bytes32 invoiceKey, uint8 status);

    /// @notice `amount` exceeds the `available` part of invoice `invoiceKey` (open amount minus receivables drawn and settled).
    error ExceedsInvoiceAvailable(bytes32 invoiceKey, uint256 amount, uint256 available);

    /// @notice The buyer digest and tag do not open invoice `invoiceKey`'s buyer commitment.
    error BuyerProofMismatch(bytes32 invoiceKey);

    /// @notice Amount zero or too large for the ledger (above 2^48 - 1 fen).
    error InvalidAmount(uint256 amount);

    /// @notice `dueDate` is not in the future.
    error DueDateNotInFuture(uint40 dueDate);

    /// @notice No account registered for the buyer tag `buyerTag`.
    error BuyerNotRegistered(bytes32 buyerTag);

    /// @notice `buyerTag` is already registered to `account`.
    error BuyerAlreadyRegistered(bytes32 buyerTag, address account);

    /// @notice Zero buyer tag or zero account.
    error InvalidBuyerRegistration(bytes32 buyerTag, address account);

    /// @notice Receivable `id` is pledged to `financier`: no transfer, split or second pledge.
    error ReceivableLocked(uint256 id, address financier);

    /// @notice Receivable `id` is closed (`status` Split, Settled, Cancelled or Declined).
    error ReceivableClosed(uint256 id, ReceivableStatus status);

    /// @notice Receivable `id` is frozen by the authority.
    error ReceivableOnHold(uint256 id);

    /// @notice Receivable `id` is not on hold.
    error ReceivableNotHeld(uint256 id);

    /// @notice Receivable `id` is still waiting for the debtor's acceptance.
    error ReceivableNotAccepted(uint256 id);

    /// @notice Receivable `id` has already been accepted (status `status`).
    error ReceivableAlreadyAccepted(uint256 id, ReceivableStatus status);

    /// @notice Receivable `id` is not pledged.
    error ReceivableNotPledged(uint256 id);

    /// @notice Transfer to the zero address or to the current holder.
    error InvalidRecipient(address to);

    /// @notice A split needs 2..MAX_PARTS parts; `parts` given.
    error InvalidPartCount(uint256 parts, uint256 maxParts);

    /// @notice The parts sum to `total` where the parent's face value is `expected`.
    error SplitAmountMismatch(uint256 total, uint256 expected);

    /// @notice Receivable `id` sits at the deepest split level.
    error SplitDepthExceeded(uint256 id);

    /// @notice The financier's total advance `advance` would exceed the `outstanding` (unpaid) amount.
    error AdvanceExceedsOutstanding(uint256 id, uint256 advance, uint256 outstanding);

    /// @notice Advance `advance` plus fee `fee` of receivable `id` exceed its `outstanding` (unpaid) amount.
    error FeeExceedsOutstanding(uint256 id, uint256 advance, uint256 fee, uint256 outstanding);

    /// @notice Receivable `id` has no pending pledge offer (only an offered receivable can be financed or declined).
    error NoPledgeOffer(uint256 id);

    /// @notice Receivable `id` is already financed by `financier`.
    error AlreadyFinanced(uint256 id, address financier);

    /// @notice Receivable `id` has a pledge offer pending with `financier`: finance or decline (or withdraw) first.
    error PledgeOfferPending(uint256 id, address financier);

    /// @notice `account` is neither the holder nor the financier of receivable `id`.
    error NotHolderOrFinancier(uint256 id, address account);

    /// @notice Too early: receivable `id` can be marked so only after `notBefore` (unix time).
    error MaturityNotReached(uint256 id, uint256 notBefore);

    /// @notice Receivable `id` is not overdue (status `status`).
    error ReceivableNotOverdue(uint256 id, ReceivableStatus status);

    /// @notice Receivable `id` is Overdue or Defaulted (`status`): in collection, no transfer, split or pledge.
    error ReceivableMatured(uint256 id, ReceivableStatus status);

    /// @notice A grace or default period above the ledger's maximum `maxPeriod` seconds.
    error InvalidPeriod(uint256 period, uint256 maxPeriod);

    /// @notice Paying `amount` fen exceeds the `outstanding` fen of receivable `id`.
    error SettlementExceedsOutstanding(uint256 id, uint256 amount, uint256 outstanding);

    /// @notice The signature's `deadline` has passed.
    error ExpiredSignature(uint256 deadline);

    /// @notice The signature is not `expectedSigner`'s (wrong signer, wrong chain, wrong contract or altered data).
    error InvalidSignature(address expectedSigner);

    /// @notice `signer` of a buyer attestation lacks AUTHORITY_ROLE.
    error InvalidAttestor(address signer);

    /**
     * @notice The authority links the buyer with keyed tag `buyerTag` to `account`.
     * @param buyerTag The operator's keyed tag of the buyer's tax ID.
     * @param account The buyer's account.
     */
    function registerBuyer(bytes32 buyerTag, address account) external;

    /**
     * @notice Registers `account` for `buyerTag` with the authority's EIP-712 BuyerClaim attestation.
     * @param buyerTag The buyer's tag.
     * @param account The buyer's account.
     * @param deadline Unix time after which the attestation is void.
     * @param attestation The authority's signature over the tag, account, claim nonce and deadline.
     */
    function claimBuyer(bytes32 buyerTag, address account, uint256 deadline, bytes calldata attestation) external;

    /**
     * @notice The seller of invoice `invoiceKey` creates a receivable against the invoice's buyer.
     * @param invoiceKey The invoice.
     * @param amount Face value in fen, at most the invoice's available amount.
     * @param dueDate Unix time the debtor must pay by.
     * @param buyerDigest The invoice document's buyer digest.
     * @param buyerTag The invoice document's buyer tag (registered to the debtor's account).
     * @return id The new root receivable's id.
     */
    function create(bytes32 invoiceKey, uint256 amount, uint40 dueDate, bytes32 buyerDigest, bytes32 buyerTag)
        external
        returns (uint256 id);

    /**
     * @notice The debtor accepts receivable `id`.
     * @param id The receivable.
     */
    function accept(uint256 id) external;

    /**
     * @notice Accepts receivable `id` with the debtor's EIP-712 AcceptReceivable signature.
     * @param id The receivable.
     * @param nonce The debtor's current acceptance nonce ({nonces}).
     * @param deadline Unix time after which the signature is void.
     * @param signature The debtor's signature (EOA or ERC-1271).
     */
    function acceptBySignature(uint256 id, uint256 nonce, uint256 deadline, bytes calldata signature) external;

    /**
     * @notice The holder withdraws receivable `id` before acceptance.
     * @param id The receivable.
     */
    function cancel(uint256 id) external;

    /**
     * @notice The debtor refuses receivable `id`.
     * @param id The receivable.
     */
    function decline(uint256 id) external;

    /**
     * @notice The holder transfers receivable `id` whole to `to`.
     * @param id The receivable.
     * @param to The new holder.
     */
    function transfer(uint256 id, address to) external;

    /**
     * @notice The holder splits receivable `id` into parts whose face values sum to its face value.
     * @param id The receivable.
     * @param amounts Face value of each part, in fen.
     * @return childIds The parts' ids.
     */
    function split(uint256 id, uint256[] calldata amounts) external returns (uint256[] memory childIds);

    /**
     * @notice The holder offers receivable `id` as a pledge to `financier` (status Offered); the financier
     * accepts by {finance} or refuses by {declinePledge}.
     * @param id The receivable.
     * @param financier An account with FINANCIER_ROLE.
     */
    function pledge(uint256 id, address financier) external;

    /**
     * @notice The offered financier declines the pledge: the holder has the receivable back, Accepted.
     * @param id The offered receivable.
     */
    function declinePledge(uint256 id) external;

    /**
     * @notice The holder withdraws its pledge offer before the financier answers: back to Accepted.
     * @param id The offered receivable.
     */
    function withdrawPledge(uint256 id) external;

    /**
     * @notice The offered financier accepts the pledge: it pays `advance` fen of the settlement token to the
     * holder and is owed `advance + fee` fen, repaid first out of the debtor's payments (status Pledged).
     * @param id The offered receivable.
     * @param advance Fen paid to the holder now; 0 < advance <= the unpaid amount.
     * @param fee The financier's fee or discount in fen; advance + fee <= the unpaid amount.
     */
    function finance(uint256 id, uint256 advance, uint256 fee) external;

    /**
     * @notice The holder or the financier marks receivable `id` overdue once its due date plus the grace
     * period has passed (status Overdue).
     * @param id An Accepted or Pledged receivable.
     */
    function markOverdue(uint256 id) external;

    /**
     * @notice Declares overdue receivable `id` in default (status Defaulted): the authority at any time, its
     * holder or financier once the default period after the overdue date has passed.
     * @param id An Overdue receivable.
     */
    function markDefaulted(uint256 id) external;

    /**
     * @notice The authority sets the grace period after due dates and the further period before default.
     * @param gracePeriod Seconds after the due date before a receivable may be marked overdue.
     * @param defaultPeriod Seconds after due date + grace before its holder or financier may declare default.
     */
    function setMaturityTimes(uint40 gracePeriod, uint40 defaultPeriod) external;

    /**
     * @notice The grace period and the default period in force.
     * @return gracePeriod Seconds after the due date before a receivable may be marked overdue.
     * @return defaultPeriod Seconds after due date + grace before holder or financier may declare default.
     */
    function maturityTimes() external view returns (uint40 gracePeriod, uint40 defaultPeriod);

    /**
     * @notice What the financier of receivable `id` is still owed (advance + fee - repaid).
     * @param id The receivable.
     * @return Fen; zero when not financed.
     */
    function owedToFinancier(uint256 id) external view returns (uint256);

    /**
     * @notice The pledgee lifts its pledge on receivable `id`.
     * @param id The pledged receivable.
     */
    function release(uint256 id) external;

    /**
     * @notice The debtor pays `amount` fen of receivable `id`: to its financier first, up to what it is
     * owed, the surplus to the holder.
     * @param id The receivable.
     * @param amount Fen, at most the outstanding amount.
     */
    function settle(uint256 id, uint256 amount) external;

    /**
     * @notice The authority freezes receivable `id` (court or authority order).
     * @param id A live receivable.
     * @param reasonCode Why, recorded in the event.
     */
    function hold(uint256 id, uint16 reasonCode) external;

    /**
     * @notice The authority lifts the hold on receivable `id`.
     * @param id A held receivable.
     */
    function liftHold(uint256 id) external;

    /**
     * @notice Everything about receivable `id`.
     * @param id The receivable.
     * @return The receivable's view.
     */
    function getReceivable(uint256 id) external view returns (ReceivableView memory);

    /**
     * @notice Status of `id`.
     * @param id The receivable.
     * @return Its status (None if unknown).
     */
    function statusOf(uint256 id) external view returns (ReceivableStatus);

    /**
     * @notice Current (or, once closed, last) holder of `id`.
     * @param id The receivable.
     * @return The holder.
     */
    function holderOf(uint256 id) external view returns (address);

    /**
     * @notice Face value minus payments of a live `id`.
     * @param id The receivable.
     * @return Fen; zero once closed.
     */
    function outstandingOf(uint256 id) external view returns (uint256);

    /**
     * @notice Whether `id` is live and past its due date.
     * @param id The receivable.
     * @return True when overdue.
     */
    function isOverdue(uint256 id) external view returns (bool);

    /**
     * @notice The receivable `id` was split off.
     * @param id The receivable.
     * @return The parent's id, 0 for a root.
     */
    function parentOf(uint256 id) external pure returns (uint256);

    /**
     * @notice The root receivable (created from the invoice) of `id`.
     * @param id The receivable.
     * @return The root's id.
     */
    function rootOf(uint256 id) external pure returns (uint256);

    /**
     * @notice The id of part `part` of a split of `parentId`.
     * @param parentId The parent.
     * @param part 1..MAX_PARTS.
     * @return The child's id.
     */
    function childIdOf(uint256 parentId, uint256 part) external pure returns (uint256);

    /**
     * @notice The root receivables created on invoice `invoiceKey`, oldest first (their parts
     * follow from the ids: {childIdOf}, and {parentOf} back up to the root).
     * @param invoiceKey The invoice.
     * @return ids The root ids.
     */
    function rootsOfInvoice(bytes32 invoiceKey) external view returns (uint256[] memory ids);

    /**
     * @notice The registered account of the buyer with `buyerTag`.
     * @param buyerTag The buyer's tag.
     * @return The account, or zero.
     */
    function buyerAccountOf(bytes32 buyerTag) external view returns (address);

    /**
     * @notice The current nonce of `account` for buyer-claim attestations (separate from acceptances).
     * @param account The buyer's account.
     * @return The nonce the next attestation must sign.
     */
    function claimNonces(address account) external view returns (uint256);

    /**
     * @notice Number of root receivables created.
     * @return The highest root id.
     */
    function receivableCount() external view returns (uint256);
}
