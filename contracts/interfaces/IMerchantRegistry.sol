// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IMerchantRegistry
 * @notice Registry of the merchants (sellers) allowed to issue invoices, with the limits the
 * invoice audit rules read. Holds the types, events and custom errors of {MerchantRegistry}.
 *
 * A tax ID (USCC) belongs to nobody until the authority approves an application for it:
 * pending applications reserve nothing, so an unverified applicant cannot squat a real
 * company's tax ID.
 */
interface IMerchantRegistry {
    enum MerchantStatus {
        None,
        Pending,
        Approved,
        Suspended,
        Rejected
    }

    /// @notice The per-merchant parameters of the audit rules.
    struct MerchantLimits {
        uint48 invoiceCap; // largest gross of one invoice, in fen (hard rule)
        uint64 monthlyQuota; // gross issued per China calendar month before invoices are flagged (soft rule)
        uint32 hourlyNorm; // invoices per hour before issuance counts as a spike (soft rule)
    }

    /// @notice A merchant as returned by {merchant}.
    struct Merchant {
        MerchantStatus status;
        uint64 appliedAt;
        bytes18 taxId; // Unified Social Credit Code (USCC), 18 ASCII characters
        bytes32 licenceHash; // keccak256 of the business-licence number
        MerchantLimits limits;
        bytes12 sellerTag; // its own tax ID's self-dealing tag scoped to its account (self-dealing rule)
        string name;
    }

    /// @notice `account` applied to become a merchant with tax ID `taxId`.
    event MerchantApplied(address indexed account, bytes18 indexed taxId, string name, bytes32 licenceHash);

    /// @notice The authority approved `account` with the given limits; `taxId` now belongs to it.
    event MerchantApproved(
        address indexed account,
        bytes18 indexed taxId,
        uint48 invoiceCap,
        uint64 monthlyQuota,
        uint32 hourlyNorm,
        bytes12 sellerTag
    );

    /// @notice The authority rejected the application of `account`.
    event MerchantRejected(address indexed account, string reason);

    /// @notice The authority suspended `account`: it can no longer issue, nor create, pledge or finance receivables.
    event MerchantSuspended(address indexed account, string reason);

    /// @notice The authority reinstated the suspended `account`.
    event MerchantReinstated(address indexed account);

    /// @notice The authority changed the limits of `account`.
    event MerchantLimitsChanged(address indexed account, uint48 invoiceCap, uint64 monthlyQuota, uint32 hourlyNorm);

    /// @notice `merchant` allowed (`allowed` true) or disallowed `operator` to issue on its behalf.
    event OperatorChanged(address indexed merchant, address indexed operator, bool allowed);

    /// @notice `taxId` is not an 18-character USCC with a valid check character.
    error InvalidTaxId(string taxId);

    /// @notice The merchant name is empty or longer than `maxLength` bytes.
    error InvalidMerchantName(uint256 length, uint256 maxLength);

    /// @notice The business-licence hash is zero.
    error MissingLicenceHash();

    /// @notice `account` already holds an application or a registration.
    error MerchantAlreadyRegistered(address account);

    /// @notice `taxId` belongs to the approved (or suspended) merchant `holder`.
    error TaxIdAlreadyRegistered(bytes18 taxId, address holder);

    /// @notice `account` is in `actual` status where the operation needs `expected`.
    error InvalidMerchantStatus(address account, MerchantStatus expected, MerchantStatus actual);

    /// @notice Limits must be non-zero and the monthly quota at least the per-invoice cap.
    error InvalidMerchantLimits(uint48 invoiceCap, uint64 monthlyQuota, uint32 hourlyNorm);

    /// @notice The seller tag given at approval is zero.
    error MissingSellerTag();

    /// @notice `operator` cannot be made an operator (zero address or the merchant itself).
    error InvalidOperator(address operator);

    /**
     * @notice Registration, status and limits of `account` (all zero when it never applied).
     * @param account The merchant's account.
     * @return The merchant record.
     */
    function merchant(address account) external view returns (Merchant memory);

    /**
     * @notice What the invoice audit rules need about `account`, in one storage read.
     * @param account The seller.
     * @return status Its status.
     * @return limits Its audit limits.
     * @return sellerTag Its own tax ID's self-dealing tag scoped to its account (self-dealing rule).
     */
    function issuerProfile(address account)
        external
        view
        returns (MerchantStatus status, MerchantLimits memory limits, bytes12 sellerTag);

    /**
     * @notice Whether `account` is an approved, not suspended merchant.
     * @param account Any account.
     * @return True when Approved.
     */
    function isActiveMerchant(address account) external view returns (bool);

    /**
     * @notice Whether `account` is a suspended merchant (its receivable credit is frozen).
     * @param account Any account.
     * @return True when Suspended.
     */
    function isSuspended(address account) external view returns (bool);

    /**
     * @notice Whether `caller` may issue for `account`: it is the merchant or one of its operators.
     * @param caller The account acting.
     * @param account The merchant.
     * @return True when allowed.
     */
    function canActFor(address caller, address account) external view returns (bool);

    /**
     * @notice The approved (or suspended) merchant that owns `taxId`, or zero.
     * @param taxId The USCC as 18 ASCII bytes.
     * @return The owner's account.
     */
    function accountOfTaxId(bytes18 taxId) external view returns (address);
}
