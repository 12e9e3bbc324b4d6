// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IMerchantRegistry} from "./interfaces/IMerchantRegistry.sol";

/**
 * @dev Merchants apply with their name, USCC tax ID and a hash of their business-licence
 * number; the authority (tax bureau / platform operator) approves, rejects, suspends and
 * reinstates them and sets the limits the invoice audit rules enforce.
 */
contract MerchantRegistry is AccessControl, IMerchantRegistry {
    bytes32 public constant AUTHORITY_ROLE = keccak256("AUTHORITY_ROLE");

    /// @dev Longest merchant name in bytes (UTF-8: about 100 Chinese characters).
    uint256 public constant MAX_NAME_LENGTH = 300;

    // USCC check-character weights, 3^i mod 31 for positions 1..17 (GB 32100-2015).
    bytes private constant _USCC_WEIGHTS = hex"0103091b131a1011141d190d08180a1e1c";

    mapping(address account => Merchant) private _merchants;
    mapping(bytes18 taxId => address) private _taxIdHolders;
    mapping(address merchant => mapping(address operator => bool)) private _operators;

    constructor(address authority) {
        _grantRole(DEFAULT_ADMIN_ROLE, authority);
        _grantRole(AUTHORITY_ROLE, authority);
    }

    /**
     * @dev The caller applies to become a merchant.
     *
     * Requirements:
     * - the caller has no application, or a rejected one;
     * - `name` is 1..MAX_NAME_LENGTH bytes, `licenceHash` non-zero;
     * - `taxId` is a well-formed USCC not registered by another account.
     *
     * Emits a {MerchantApplied} event.
     */
    function applyAsMerchant(string calldata name, string calldata taxId, bytes32 licenceHash) external {
        Merchant storage record = _merchants[msg.sender];
        if (record.status != MerchantStatus.None && record.status != MerchantStatus.Rejected) {
            revert MerchantAlreadyRegistered(msg.sender);
        }
        uint256 nameLength = bytes(name).length;
        if (nameLength == 0 || nameLength > MAX_NAME_LENGTH) revert InvalidMerchantName(nameLength, MAX_NAME_LENGTH);
        if (licenceHash == bytes32(0)) revert MissingLicenceHash();
        bytes18 code = parseTaxId(taxId);
        address holder = _taxIdHolders[code];
        if (holder != address(0) && holder != msg.sender) revert TaxIdAlreadyRegistered(code, holder);

        _taxIdHolders[code] = msg.sender;
        record.status = MerchantStatus.Pending;
        record.appliedAt = uint64(block.timestamp);
        record.taxId = code;
        record.licenceHash = licenceHash;
        record.name = name;
        emit MerchantApplied(msg.sender, code, name, licenceHash);
    }

    /**
     * @dev Approves the pending application of `account` with its audit limits.
     *
     * Requirements: caller has AUTHORITY_ROLE; `account` is Pending; limits valid.
     *
     * Emits a {MerchantApproved} event.
     */
    function approve(address account, MerchantLimits calldata limits) external onlyRole(AUTHORITY_ROLE) {
        Merchant storage record = _requireStatus(account, MerchantStatus.Pending);
        _requireValidLimits(limits);
        record.status = MerchantStatus.Approved;
        record.limits = limits;
        emit MerchantApproved(account, limits.invoiceCap, limits.monthlyQuota, limits.hourlyNorm);
    }

    /**
     * @dev Rejects the pending application of `account`; its tax ID becomes free again.
     *
     * Requirements: caller has AUTHORITY_ROLE; `account` is Pending.
     *
     * Emits a {MerchantRejected} event.
     */
    function reject(address account, string calldata reason) external onlyRole(AUTHORITY_ROLE) {
        Merchant storage record = _requireStatus(account, MerchantStatus.Pending);
        record.status = MerchantStatus.Rejected;
        delete _taxIdHolders[record.taxId];
        emit MerchantRejected(account, reason);
    }

    /**
     * @dev Suspends the approved merchant `account`: it can no longer issue invoices.
     *
     * Requirements: caller has AUTHORITY_ROLE; `account` is Approved.
     *
     * Emits a {MerchantSuspended} event.
     */
    function suspend(address account, string calldata reason) external onlyRole(AUTHORITY_ROLE) {
        Merchant storage record = _requireStatus(account, MerchantStatus.Approved);
        record.status = MerchantStatus.Suspended;
        emit MerchantSuspended(account, reason);
    }

    /**
     * @dev Reinstates the suspended merchant `account`.
     *
     * Requirements: caller has AUTHORITY_ROLE; `account` is Suspended.
     *
     * Emits a {MerchantReinstated} event.
     */
    function reinstate(address account) external onlyRole(AUTHORITY_ROLE) {
        Merchant storage record = _requireStatus(account, MerchantStatus.Suspended);
        record.status = MerchantStatus.Approved;
        emit MerchantReinstated(account);
    }

    /**
     * @dev Sets the audit limits of an approved or suspended merchant.
     *
     * Requirements: caller has AUTHORITY_ROLE; `account` is Approved or Suspended; limits valid.
     *
     * Emits a {MerchantLimitsChanged} event.
     */
    function setLimits(address account, MerchantLimits calldata limits) external onlyRole(AUTHORITY_ROLE) {
        Merchant storage record = _merchants[account];
        if (record.status != MerchantStatus.Approved && record.status != MerchantStatus.Suspended) {
            revert InvalidMerchantStatus(account, MerchantStatus.Approved, record.status);
        }
        _requireValidLimits(limits);
        record.limits = limits;
        emit MerchantLimitsChanged(account, limits.invoiceCap, limits.monthlyQuota, limits.hourlyNorm);
    }

    /**
     * @dev The calling merchant allows or disallows `operator` (e.g. its invoicing
     * service's account) to issue on its behalf.
     *
     * Requirements: the caller is Approved or Suspended; `operator` is not zero or the caller.
     *
     * Emits an {OperatorChanged} event.
     */
    function setOperator(address operator, bool allowed) external {
        MerchantStatus status = _merchants[msg.sender].status;
        if (status != MerchantStatus.Approved && status != MerchantStatus.Suspended) {
            revert InvalidMerchantStatus(msg.sender, MerchantStatus.Approved, status);
        }
        if (operator == address(0) || operator == msg.sender) revert InvalidOperator(operator);
        _operators[msg.sender][operator] = allowed;
        emit OperatorChanged(msg.sender, operator, allowed);
    }

    /// @inheritdoc IMerchantRegistry
    function merchant(address account) external view returns (Merchant memory) {
        return _merchants[account];
    }

    /// @inheritdoc IMerchantRegistry
    function auditProfile(address account) external view returns (MerchantStatus, MerchantLimits memory) {
        Merchant storage record = _merchants[account];
        return (record.status, record.limits);
    }

    /// @inheritdoc IMerchantRegistry
    function issuerProfile(address account)
        external
        view
        returns (MerchantStatus, bytes18 taxId, MerchantLimits memory)
    {
        Merchant storage record = _merchants[account];
        return (record.status, record.taxId, record.limits);
    }

    /// @inheritdoc IMerchantRegistry
    function isActiveMerchant(address account) external view returns (bool) {
        return _merchants[account].status == MerchantStatus.Approved;
    }

    /// @inheritdoc IMerchantRegistry
    function canActFor(address caller, address account) external view returns (bool) {
        return caller == account || _operators[account][caller];
    }

    /// @inheritdoc IMerchantRegistry
    function accountOfTaxId(bytes18 taxId) external view returns (address) {
        return _taxIdHolders[taxId];
    }

    /**
     * @dev Parses and checks a USCC (统一社会信用代码): 18 characters from
     * 0-9 and A-Y without I, O, S, V, Z, digits in the 6-character division code
     * (positions 3-8), and the check character computed from the first 17.
     * Reverts with {InvalidTaxId} otherwise.
     */
    function parseTaxId(string calldata taxId) public pure returns (bytes18 code) {
        bytes calldata raw = bytes(taxId);
        if (raw.length != 18) revert InvalidTaxId(taxId);
        uint256 sum;
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

    function _requireStatus(address account, MerchantStatus expected) private view returns (Merchant storage record) {
        record = _merchants[account];
        if (record.status != expected) revert InvalidMerchantStatus(account, expected, record.status);
    }

    function _requireValidLimits(MerchantLimits calldata limits) private pure {
        if (limits.invoiceCap == 0 || limits.hourlyNorm == 0 || limits.monthlyQuota < limits.invoiceCap) {
            revert InvalidMerchantLimits(limits.invoiceCap, limits.monthlyQuota, limits.hourlyNorm);
        }
    }
}
