// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IMerchantRegistry} from "./interfaces/IMerchantRegistry.sol";

/**
 * @title MerchantRegistry
 * @notice Merchants apply with their name, USCC tax ID and a hash of their business-licence
 * number; the authority (tax bureau / platform operator) approves, rejects, suspends and
 * reinstates them and sets the limits the invoice audit rules enforce.
 *
 * A tax ID is bound to an account only when the authority approves it: pending applications
 * reserve nothing, so nobody can block a company by applying first with its tax ID.
 * What issuance reads (status, limits, seller tag) sits in one storage slot per merchant.
 */
contract MerchantRegistry is AccessControlDefaultAdminRules, IMerchantRegistry {
    bytes32 public constant AUTHORITY_ROLE = keccak256("AUTHORITY_ROLE");

    /// @notice Delay of a two-step transfer of the default admin role.
    uint48 public constant ADMIN_TRANSFER_DELAY = 2 days;

    /// @notice Longest merchant name in bytes (UTF-8: about 100 Chinese characters).
    uint256 public constant MAX_NAME_LENGTH = 300;

    // USCC check-character weights, 3^i mod 31 for positions 1..17 (GB 32100-2015).
    bytes private constant _USCC_WEIGHTS = hex"0103091b131a1011141d190d08180a1e1c";

    /// @dev What the audit rules read, in one slot (8 + 48 + 64 + 32 + 96 bits).
    struct Profile {
        MerchantStatus status;
        uint48 invoiceCap;
        uint64 monthlyQuota;
        uint32 hourlyNorm;
        bytes12 sellerTag;
    }

    /// @dev The rest of a registration.
    struct Registration {
        uint64 appliedAt;
        bytes18 taxId;
        bytes32 licenceHash;
        string name;
    }

    mapping(address account => Profile) private _profiles;
    mapping(address account => Registration) private _registrations;
    mapping(bytes18 taxId => address) private _taxIdOwners; // approved (or suspended) merchants only
    mapping(address merchant => mapping(address operator => bool)) private _operators;

    /// @param authority Receives the default admin role (two-step transfer) and AUTHORITY_ROLE.
    constructor(address authority) AccessControlDefaultAdminRules(ADMIN_TRANSFER_DELAY, authority) {
        _grantRole(AUTHORITY_ROLE, authority);
    }

    /**
     * @notice The caller applies to become a merchant.
     * @dev Requirements:
     * - the caller has no application, or a rejected one;
     * - `name` is 1..MAX_NAME_LENGTH bytes, `licenceHash` non-zero;
     * - `taxId` is a well-formed USCC that no approved or suspended merchant owns.
     *
     * Emits a {MerchantApplied} event.
     * @param name The registered company name.
     * @param taxId The USCC, 18 upper-case characters.
     * @param licenceHash keccak256 of the business-licence number.
     */
    function applyAsMerchant(string calldata name, string calldata taxId, bytes32 licenceHash) external {
        Profile storage profile = _profiles[msg.sender];
        if (profile.status != MerchantStatus.None && profile.status != MerchantStatus.Rejected) {
            revert MerchantAlreadyRegistered(msg.sender);
        }
        uint256 nameLength = bytes(name).length;
        if (nameLength == 0 || nameLength > MAX_NAME_LENGTH) revert InvalidMerchantName(nameLength, MAX_NAME_LENGTH);
        if (licenceHash == bytes32(0)) revert MissingLicenceHash();
        bytes18 code = parseTaxId(taxId);
        address owner_ = _taxIdOwners[code];
        if (owner_ != address(0)) revert TaxIdAlreadyRegistered(code, owner_);

        profile.status = MerchantStatus.Pending;
        _registrations[msg.sender] = Registration(uint64(block.timestamp), code, licenceHash, name);
        emit MerchantApplied(msg.sender, code, name, licenceHash);
    }

    /**
     * @notice Approves the pending application of `account`: its tax ID becomes its own.
     * @dev Requirements: caller has AUTHORITY_ROLE; `account` is Pending; limits valid;
     * `sellerTag` non-zero; no other account owns the tax ID.
     *
     * Emits a {MerchantApproved} event.
     * @param account The applicant.
     * @param limits Its audit limits.
     * @param sellerTag bytes12(keccak256(abi.encode(self-dealing tag of its tax ID, account))): the self-dealing rule compares it.
     */
    function approve(address account, MerchantLimits calldata limits, bytes12 sellerTag)
        external
        onlyRole(AUTHORITY_ROLE)
    {
        _requireStatus(account, MerchantStatus.Pending);
        _requireValidLimits(limits);
        if (sellerTag == bytes12(0)) revert MissingSellerTag();
        bytes18 code = _registrations[account].taxId;
        address owner_ = _taxIdOwners[code];
        if (owner_ != address(0)) revert TaxIdAlreadyRegistered(code, owner_);

        _taxIdOwners[code] = account;
        _profiles[account] = Profile(
            MerchantStatus.Approved, limits.invoiceCap, limits.monthlyQuota, limits.hourlyNorm, sellerTag
        );
        emit MerchantApproved(
            account, code, limits.invoiceCap, limits.monthlyQuota, limits.hourlyNorm, sellerTag
        );
    }

    /**
     * @notice Rejects the pending application of `account`.
     * @dev Requirements: caller has AUTHORITY_ROLE; `account` is Pending.
     *
     * Emits a {MerchantRejected} event.
     * @param account The applicant.
     * @param reason Why, for the applicant.
     */
    function reject(address account, string calldata reason) external onlyRole(AUTHORITY_ROLE) {
        _requireStatus(account, MerchantStatus.Pending).status = MerchantStatus.Rejected;
        emit MerchantRejected(account, reason);
    }

    /**
     * @notice Suspends the approved merchant `account`: it can no longer issue invoices, create
     * receivables, pledge them or be financed. It keeps its tax ID.
     * @dev Requirements: caller has AUTHORITY_ROLE; `account` is Approved.
     *
     * Emits a {MerchantSuspended} event.
     * @param account The merchant.
     * @param reason Why.
     */
    function suspend(address account, string calldata reason) external onlyRole(AUTHORITY_ROLE) {
        _requireStatus(account, MerchantStatus.Approved).status = MerchantStatus.Suspended;
        emit MerchantSuspended(account, reason);
    }

    /**
     * @notice Reinstates the suspended merchant `account`.
     * @dev Requirements: caller has AUTHORITY_ROLE; `account` is Suspended.
     *
     * Emits a {MerchantReinstated} event.
     * @param account The merchant.
     */
    function reinstate(address account) external onlyRole(AUTHORITY_ROLE) {
        _requireStatus(account, MerchantStatus.Suspended).status = MerchantStatus.Approved;
        emit MerchantReinstated(account);
    }

    /**
     * @notice Sets the audit limits of an approved or suspended merchant.
     * @dev Requirements: caller has AUTHORITY_ROLE; `account` is Approved or Suspended; limits valid.
     *
     * Emits a {MerchantLimitsChanged} event.
     * @param account The merchant.
     * @param limits The new limits.
     */
    function setLimits(address account, MerchantLimits calldata limits) external onlyRole(AUTHORITY_ROLE) {
        Profile storage profile = _profiles[account];
        MerchantStatus status = profile.status;
        if (status != MerchantStatus.Approved && status != MerchantStatus.Suspended) {
            revert InvalidMerchantStatus(account, MerchantStatus.Approved, status);
        }
        _requireValidLimits(limits);
        profile.invoiceCap = limits.invoiceCap;
        profile.monthlyQuota = limits.monthlyQuota;
        profile.hourlyNorm = limits.hourlyNorm;
        emit MerchantLimitsChanged(account, limits.invoiceCap, limits.monthlyQuota, limits.hourlyNorm);
    }

    /**
     * @notice The calling merchant allows or disallows `operator` (e.g. its invoicing
     * service's account) to issue on its behalf.
     * @dev Requirements: the caller is Approved or Suspended; `operator` is not zero or the caller.
     *
     * Emits an {OperatorChanged} event.
     * @param operator The account.
     * @param allowed True to allow, false to withdraw.
     */
    function setOperator(address operator, bool allowed) external {
        MerchantStatus status = _profiles[msg.sender].status;
        if (status != MerchantStatus.Approved && status != MerchantStatus.Suspended) {
            revert InvalidMerchantStatus(msg.sender, MerchantStatus.Approved, status);
        }
        if (operator == address(0) || operator == msg.sender) revert InvalidOperator(operator);
        _operators[msg.sender][operator] = allowed;
        emit OperatorChanged(msg.sender, operator, allowed);
    }

    /// @inheritdoc IMerchantRegistry
    function merchant(address account) external view returns (Merchant memory) {
        Profile memory profile = _profiles[account];
        Registration memory registration = _registrations[account];
        return Merchant({
            status: profile.status,
            appliedAt: registration.appliedAt,
            taxId: registration.taxId,
            licenceHash: registration.licenceHash,
            limits: MerchantLimits(profile.invoiceCap, profile.monthlyQuota, profile.hourlyNorm),
            sellerTag: profile.sellerTag,
            name: registration.name
        });
    }

    /// @inheritdoc IMerchantRegistry
    function issuerProfile(address account)
        external
        view
        returns (MerchantStatus, MerchantLimits memory, bytes12)
    {
        // Read on every issuance: the slot is unpacked straight into the five return words.
        Profile storage profile = _profiles[account];
        assembly ("memory-safe") {
            let word := sload(profile.slot)
            let ptr := mload(0x40)
            mstore(ptr, and(word, 0xff)) // status
            mstore(add(ptr, 0x20), and(shr(8, word), 0xffffffffffff)) // invoiceCap
            mstore(add(ptr, 0x40), and(shr(56, word), 0xffffffffffffffff)) // monthlyQuota
            mstore(add(ptr, 0x60), and(shr(120, word), 0xffffffff)) // hourlyNorm
            mstore(add(ptr, 0x80), shl(160, shr(152, word))) // sellerTag, left-aligned
            return(ptr, 0xa0)
        }
    }

    /// @inheritdoc IMerchantRegistry
    function isActiveMerchant(address account) external view returns (bool) {
        return _profiles[account].status == MerchantStatus.Approved;
    }

    /// @inheritdoc IMerchantRegistry
    function isSuspended(address account) external view returns (bool) {
        return _profiles[account].status == MerchantStatus.Suspended;
    }

    /// @inheritdoc IMerchantRegistry
    function canActFor(address caller, address account) external view returns (bool) {
        return caller == account || _operators[account][caller];
    }

    /// @inheritdoc IMerchantRegistry
    function accountOfTaxId(bytes18 taxId) external view returns (address) {
        return _taxIdOwners[taxId];
    }

    /**
     * @notice Parses and checks a USCC (统一社会信用代码): 18 characters from
     * 0-9 and A-Y without I, O, S, V, Z, digits in the 6-character division code
     * (positions 3-8), and the check character computed from the first 17.
     * Reverts with {InvalidTaxId} otherwise.
     * @param taxId The candidate.
     * @return code The USCC as 18 ASCII bytes.
     */
    function parseTaxId(string calldata taxId) public pure returns (bytes18 code) {
        bytes calldata raw = bytes(taxId);
        if (raw.length != 18) revert InvalidTaxId(taxId);
        uint256 sum = 0;
        for (uint256 i = 0; i < 18; ++i) {
            uint256 value = _usccValue(raw[i]);
            if (value == type(uint256).max || (i >= 2 && i < 8 && value > 9)) revert InvalidTaxId(taxId);
            if (i < 17) {
                sum += value * uint8(_USCC_WEIGHTS[i]);
            } else {
                uint256 expected = (31 - (sum % 31)) % 31;
                if (value != expected) revert InvalidTaxId(taxId);
            }
        }
        return bytes18(raw);
    }

    /// @dev Value of one USCC character (0-30), or max uint for a character outside the alphabet.
    function _usccValue(bytes1 char) private pure returns (uint256) {
        uint8 c = uint8(char);
        if (c >= 0x30 && c <= 0x39) return c - 0x30; // 0-9
        if (c < 0x41 || c > 0x59) return type(uint256).max; // outside A-Y
        if (c == 0x49 || c == 0x4F || c == 0x53 || c == 0x56) return type(uint256).max; // I O S V
        // A-H -> 10-17, J-N -> 18-22, P-R -> 23-25, T-U -> 26-27, W-Y -> 28-30
        uint256 skipped = (c > 0x49 ? 1 : 0) + (c > 0x4F ? 1 : 0) + (c > 0x53 ? 1 : 0) + (c > 0x56 ? 1 : 0);
        return c - 0x41 + 10 - skipped;
    }

    function _requireStatus(address account, MerchantStatus expected) private view returns (Profile storage profile) {
        profile = _profiles[account];
        if (profile.status != expected) revert InvalidMerchantStatus(account, expected, profile.status);
    }

    function _requireValidLimits(MerchantLimits calldata limits) private pure {
        if (limits.invoiceCap == 0 || limits.hourlyNorm == 0 || limits.monthlyQuota < limits.invoiceCap) {
            revert InvalidMerchantLimits(limits.invoiceCap, limits.monthlyQuota, limits.hourlyNorm);
        }
    }
}
