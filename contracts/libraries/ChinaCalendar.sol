// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @dev Calendar arithmetic in China Standard Time (UTC+8, no daylight saving time):
 * unix timestamps to civil dates as YYYYMMDD and months as YYYYMM. Constant gas
 * (days-to-civil algorithm of H. Hinnant, proleptic Gregorian calendar).
 */
library ChinaCalendar {
    /// @dev Offset of China Standard Time from UTC, in seconds.
    uint256 internal constant OFFSET = 8 hours;

    /// @dev Year, month (1-12) and day (1-31) of `timestamp` in China time.
    // Integer division first is the algorithm (days, eras, years of era), not a rounding slip.
    // slither-disable-next-line divide-before-multiply
    function civil(uint256 timestamp) internal pure returns (uint256 year, uint256 month_, uint256 day) {
        unchecked {
            uint256 z = (timestamp + OFFSET) / 1 days + 719468;
            uint256 era = z / 146097;
            uint256 doe = z - era * 146097; // day of era [0, 146096]
            uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // year of era [0, 399]
            uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st [0, 365]
            uint256 mp = (5 * doy + 2) / 153; // month from March [0, 11]
            day = doy - (153 * mp + 2) / 5 + 1;
            month_ = mp < 10 ? mp + 3 : mp - 9;
            year = yoe + era * 400 + (month_ <= 2 ? 1 : 0);
        }
    }

    /// @dev The China calendar date of `timestamp` as YYYYMMDD, e.g. 20261121.
    function date(uint256 timestamp) internal pure returns (uint32) {
        (uint256 year, uint256 month_, uint256 day) = civil(timestamp);
        return uint32(year * 10000 + month_ * 100 + day);
    }

    /// @dev The China calendar month of `timestamp` as YYYYMM, e.g. 202611.
    function month(uint256 timestamp) internal pure returns (uint24) {
        (uint256 year, uint256 month_, ) = civil(timestamp);
        return uint24(year * 100 + month_);
    }
}
