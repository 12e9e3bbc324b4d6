// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @dev Registry of the merchants (sellers) allowed to issue invoices, with the limits the
 * invoice audit rules read. Holds the events and custom errors of {MerchantRegistry}.
 */
interface IMerchantRegistry {
    enum MerchantStatus {
        None,
        Pending,
        Approved,
        Suspended,
        Rejected
    }

    /// @dev The per-merchant parameters of the audit rules, packed in one storage slot.
    struct MerchantLimits {
        uint96 invoiceCap; // largest gross of one invoice, in fen (hard rule)
        uint96 monthlyQuota; // gross issued per calendar month before invoices are flagged (soft rule)
        uint32 hourlyNorm; // invoices per hour before issuance counts as a spike (soft rule)
    }

    struct Merchant {
        MerchantStatus status;
        uint64 appliedAt;
        bytes18 taxId; // Unified Social Credit Code (USCC), 18 ASCII characters
        bytes32 licenceHash; // keccak256 of the business-licence number
        MerchantLimits limits;
        string name;
    }

    /// @dev `account` applied to become a merchant.
    event MerchantApplied(address indexed account, bytes18 indexed taxId, string name, bytes32 licenceHash);

    /// @dev The authority approved `account` with the given limits.
    event MerchantApproved(address indexed account, uint96 invoiceCap, uint96 monthlyQuota, uint32 hourlyNorm);

    /// @dev The authority rejected the application of `account`.
    event MerchantRejected(address indexed account, string reason);

    /// @dev The authority suspended `account`: it can no longer issue.
    event MerchantSuspended(address indexed account, string reason);

    /// @dev The authority reinstated the suspended `account`.
    event MerchantReinstated(address indexed account);

    /// @dev The authority changed the limits of `account`.
    event MerchantLimitsChanged(address indexed account, uint96 invoiceCap, uint96 monthlyQuota, uint32 hourlyNorm);

    /// @dev `merchant` allowed (`allowed` true) or disallowed `operator` to issue on its behalf.
    event OperatorChanged(address indexed merchant, address indexed operator, bool allowed);

    /// @dev `taxId` is not an 18-character USCC with a valid check character.
    error InvalidTaxId(string taxId);

    /// @dev The merchant name is empty or longer than the limit in bytes.
    error InvalidMerchantName(uint256 length, uint256 maxLength);

    /// @dev The business-licence hash is zero.
    error MissingLicenceHash();

    /// @dev `account` already holds an application or a registration.
    error MerchantAlreadyRegistered(address account);

    /// @dev `taxId` is already registered by `holder`.
    error TaxIdAlreadyRegistered(bytes18 taxId, address holder);

    /// @dev `account` is in `actual` status where the operation needs `expected`.
    error InvalidMerchantStatus(address account, MerchantStatus expected, MerchantStatus actual);

    /// @dev Limits must be non-zero and the monthly quota at least the per-invoice cap.
    error InvalidMerchantLimits(uint96 invoiceCap, uint96 monthlyQuota, uint32 hourlyNorm);

    /// @dev `operator` cannot be made an operator (zero address or the merchant itself).
    error InvalidOperator(address operator);

    /// @dev Registration, status and limits of `account`.
    function merchant(address account) external view returns (Merchant memory);

    /// @dev Status and audit limits of `account` in one storage read, for the audit rules.
    function auditProfile(address account) external view returns (MerchantStatus, MerchantLimits memory);

    /// @dev Status, tax ID (USCC as 18 ASCII bytes) and audit limits of `account` in two storage
    /// reads: what the invoice audit rules need, including the self-dealing check.
    function issuerProfile(address account)
        external
        view
        returns (MerchantStatus status, bytes18 taxId, MerchantLimits memory limits);

    /// @dev True when `account` is an approved, not suspended merchant.
    function isActiveMerchant(address account) external view returns (bool);

    /// @dev True when `caller` may issue for `account`: it is the merchant or one of its operators.
    function canActFor(address caller, address account) external view returns (bool);

    /// @dev The account that registered `taxId`, or zero.
    function accountOfTaxId(bytes18 taxId) external view returns (address);
}
