// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";

/**
 * @dev The settlement token of the development chain: a plain ERC-20 counted in fen
 * (2 decimals, 1 token = 1 yuan) that holders of MINTER_ROLE mint for the demo.
 * {ReceivableLedger} accepts any ERC-20 at deploy; on a production network this would be
 * a bank-issued deposit token or stablecoin instead.
 */
contract SettlementToken is ERC20, AccessControlDefaultAdminRules {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @dev `admin` receives the default admin role (two-step transfer, 2 days) and MINTER_ROLE.
    constructor(address admin) ERC20("Digital Settlement Yuan", "DSY") AccessControlDefaultAdminRules(2 days, admin) {
        _grantRole(MINTER_ROLE, admin);
    }

    /// @dev Amounts are in fen: 2 decimals.
    function decimals() public pure override returns (uint8) {
        return 2;
    }

    /**
     * @dev Mints `amount` fen to `to`.
     *
     * Requirements: the caller has MINTER_ROLE; `to` is not the zero address.
     *
     * Emits a {Transfer} event from the zero address.
     */
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /**
     * @dev Burns `amount` fen of the caller's balance.
     *
     * Emits a {Transfer} event to the zero address.
     */
    function burn(uint256 amount) external {
        _burn(msg.sender, amount);
    }
}
