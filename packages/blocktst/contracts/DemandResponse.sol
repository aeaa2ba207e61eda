// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IDemandResponse} from "./interfaces/IDemandResponse.sol";

/// @title DemandResponse
/// @notice Day-ahead prices, demand-response events, household rules and SGT rewards; see
/// {IDemandResponse}.
/// @dev Design choices:
/// - Prices are kept per publication (header + eight int32 per storage word) and indexed by UTC day,
///   so a publication costs one word per eight slots and `priceAt` scans only the publications
///   touching that day, newest first: "a later publication overwrites" without rewriting old slots,
///   and a publication may use any slot length.
/// - Events are indexed by day as well and may not overlap a live event, so `eventAt` has one answer.
///   An event can be cancelled only before it starts: after that, households may already have cut
///   their load in good faith, and a cancellation would take away the reward they earned.
/// - Rules are opaque words (the contract never interprets them: the encoding may evolve in the
///   dsm package without a redeployment); only bytes32(0) is refused, which no encoding produces.
/// - Payments are pushed from the pool after checking the pool covers the whole call, so a short
///   pool reverts with {DRPoolShort} and pays no one, rather than paying the first households only.
///   Day-ahead lists are sorted by address (duplicates impossible without any storage); efficiency
///   rewards are marked per (event, household) because they may come in several calls.
contract DemandResponse is AccessControl, ReentrancyGuardTransient, IDemandResponse {
    using SafeERC20 for IERC20;

    /// @notice Publishes day-ahead prices (a market operator or the utility's pricing service).
    bytes32 public constant PRICE_ORACLE_ROLE = keccak256("PRICE_ORACLE_ROLE");
    /// @notice Announces and cancels demand-response events (the utility).
    bytes32 public constant DR_OPERATOR_ROLE = keccak256("DR_OPERATOR_ROLE");
    /// @notice Settles day-ahead days and pays efficiency rewards from the pool.
    bytes32 public constant REWARDER_ROLE = keccak256("REWARDER_ROLE");

    /// @notice A day-ahead schedule of 15-minute slots has 96.
    uint256 public constant MAX_SLOTS = 96;
    uint256 public constant MIN_SLOT_SECONDS = 60;
    /// @notice With 96 slots a publication spans at most four days (five day buckets).
    uint256 public constant MAX_SLOT_SECONDS = 3600;
    uint256 public constant MAX_EVENT_SECONDS = 1 days;
    uint256 public constant MAX_RULES = 32;
    /// @notice Households per settleDayAhead: ~30k gas each when a household holds no SGT yet
    /// (~13k when she does), so a full day stays below half of a 30M block (gas.test.ts).
    uint256 public constant MAX_DAY_AHEAD_HOUSEHOLDS = 400;
    /// @notice Households per payEfficiencyRewards call: ~54k gas each for a household without SGT
    /// (the once-per-event mark is a new slot too), so a full call stays below half a block.
    /// Rewards for one event may come in several calls.
    uint256 public constant MAX_EFFICIENCY_HOUSEHOLDS = 250;

    uint256 private constant DAY = 1 days;
    uint256 private constant PRICES_PER_WORD = 8;

    IERC20 public immutable token;

    uint64 public priceVersion;
    uint64 public eventCount;

    mapping(uint64 version => PricePublication) private _publications;
    mapping(uint64 version => uint256[]) private _priceWords;
    mapping(uint256 day => uint64[]) private _publicationsByDay;

    mapping(uint64 eventId => DemandResponseEvent) private _events;
    mapping(uint256 day => uint64[]) private _eventsByDay;

    struct RuleSet {
        bytes32[] rules;
        uint64 version;
    }

    mapping(address household => RuleSet) private _rules;

    mapping(uint64 dayStart => DaySettlement) private _days;

    struct EfficiencyPayment {
        bool paid;
        uint64 savedWh;
    }

    mapping(uint64 eventId => mapping(address household => EfficiencyPayment)) private _efficiency;

    /// @notice How far the meters' clock may run behind this chain's (seconds): an event may be
    /// announced, or cancelled, until its end (start) plus this lag. Zero on real networks; a
    /// simulated fleet that replays recent days behind real time needs its lag here.
    uint64 public immutable clockLag;

    /// @notice Longest clock lag a deployment may set.
    uint64 public constant MAX_CLOCK_LAG = 7 days;

    /// @param admin DEFAULT_ADMIN_ROLE: grants the oracle, operator and rewarder roles.
    /// @param token_ SGT, the token rewards are paid in.
    /// @param clockLag_ see clockLag (at most MAX_CLOCK_LAG).
    constructor(address admin, IERC20 token_, uint64 clockLag_) {
        if (address(token_) == address(0)) revert DRInvalidToken();
        if (clockLag_ > MAX_CLOCK_LAG) revert DRInvalidClockLag(clockLag_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        token = token_;
        clockLag = clockLag_;
    }

    // ---------------------------------------------------------------- prices

    /// @inheritdoc IDemandResponse
    function publishPrices(uint64 firstSlotStart, uint32 slotSeconds, int32[] calldata pricesMilli)
        external
        onlyRole(PRICE_ORACLE_ROLE)
        returns (uint64 version)
    {
        uint256 n = pricesMilli.length;
        uint256 end = uint256(firstSlotStart) + n * slotSeconds;
        if (
            n == 0 || n > MAX_SLOTS || slotSeconds < MIN_SLOT_SECONDS || slotSeconds > MAX_SLOT_SECONDS
                || end > type(uint64).max
        ) {
            revert DRInvalidSchedule(firstSlotStart, slotSeconds, n);
        }
        version = ++priceVersion;
        _publications[version] = PricePublication({firstSlotStart: firstSlotStart, slotSeconds: slotSeconds, slots: uint8(n)});
        uint256[] storage words = _priceWords[version];
        for (uint256 i = 0; i < n; i += PRICES_PER_WORD) {
            uint256 w;
            uint256 top = i + PRICES_PER_WORD < n ? i + PRICES_PER_WORD : n;
            for (uint256 j = i; j < top; ++j) {
                w |= uint256(uint32(pricesMilli[j])) << (32 * (j - i));
            }
            words.push(w);
        }
        for (uint256 d = firstSlotStart / DAY; d <= (end - 1) / DAY; ++d) {
            _publicationsByDay[d].push(version);
        }
        emit PricesPublished(version, firstSlotStart, slotSeconds, pricesMilli);
    }

    /// @inheritdoc IDemandResponse
    function priceAt(uint64 t) external view returns (bool known, int32 priceMilli) {
        uint64[] storage ids = _publicationsByDay[t / DAY];
        for (uint256 i = ids.length; i > 0; --i) {
            uint64 v = ids[i - 1];
            PricePublication memory p = _publications[v];
            if (t < p.firstSlotStart) continue;
            uint256 k = (t - p.firstSlotStart) / p.slotSeconds;
            if (k < p.slots) return (true, _price(v, k));
        }
        return (false, 0);
    }

    /// @inheritdoc IDemandResponse
    function publicationOf(uint64 version)
        external
        view
        returns (uint64 firstSlotStart, uint32 slotSeconds, int32[] memory pricesMilli)
    {
        PricePublication memory p = _publications[version];
        pricesMilli = new int32[](p.slots);
        for (uint256 k = 0; k < p.slots; ++k) {
            pricesMilli[k] = _price(version, k);
        }
        return (p.firstSlotStart, p.slotSeconds, pricesMilli);
    }

    function _price(uint64 version, uint256 k) private view returns (int32) {
        uint256 w = _priceWords[version][k / PRICES_PER_WORD];
        return int32(uint32(w >> (32 * (k % PRICES_PER_WORD))));
    }

    // ---------------------------------------------------------------- events

    /// @inheritdoc IDemandResponse
    function announceEvent(uint64 start, uint64 end, uint32 reduceWatts, uint256 rewardPerKwhWei)
        external
        onlyRole(DR_OPERATOR_ROLE)
        returns (uint64 eventId)
    {
        if (start >= end || uint256(end) + clockLag <= block.timestamp || end - start > MAX_EVENT_SECONDS || reduceWatts == 0) {
            revert DRInvalidEvent(start, end, reduceWatts, block.timestamp);
        }
        uint256 lastDay = (uint256(end) - 1) / DAY;
        for (uint256 d = start / DAY; d <= lastDay; ++d) {
            uint64[] storage ids = _eventsByDay[d];
            for (uint256 i = 0; i < ids.length; ++i) {
                DemandResponseEvent storage o = _events[ids[i]];
                if (!o.cancelled && o.start < end && start < o.end) revert DREventOverlap(ids[i]);
            }
        }
        eventId = ++eventCount;
        _events[eventId] = DemandResponseEvent({
            start: start,
            end: end,
            reduceWatts: reduceWatts,
            cancelled: false,
            rewardPerKwhWei: rewardPerKwhWei
        });
        for (uint256 d = start / DAY; d <= lastDay; ++d) {
            _eventsByDay[d].push(eventId);
        }
        emit DemandResponseAnnounced(eventId, start, end, reduceWatts, rewardPerKwhWei);
    }

    /// @inheritdoc IDemandResponse
    function cancelEvent(uint64 eventId) external onlyRole(DR_OPERATOR_ROLE) {
        DemandResponseEvent storage e = _event(eventId);
        if (e.cancelled) revert DREventCancelled(eventId);
        if (block.timestamp >= uint256(e.start) + clockLag) revert DREventStarted(eventId, e.start, block.timestamp);
        e.cancelled = true;
        emit DemandResponseCancelled(eventId);
    }

    /// @inheritdoc IDemandResponse
    function eventAt(uint64 t) external view returns (uint64 eventId, DemandResponseEvent memory e) {
        uint64[] storage ids = _eventsByDay[t / DAY];
        for (uint256 i = 0; i < ids.length; ++i) {
            DemandResponseEvent storage o = _events[ids[i]];
            if (!o.cancelled && o.start <= t && t < o.end) return (ids[i], o);
        }
        return (0, e);
    }

    /// @inheritdoc IDemandResponse
    function eventOf(uint64 eventId) external view returns (DemandResponseEvent memory) {
        return _event(eventId);
    }

    function _event(uint64 eventId) private view returns (DemandResponseEvent storage e) {
        if (eventId == 0 || eventId > eventCount) revert DRUnknownEvent(eventId);
        return _events[eventId];
    }

    // ---------------------------------------------------------------- rules

    /// @inheritdoc IDemandResponse
    function setRules(bytes32[] calldata rules) external returns (uint64 version) {
        if (rules.length > MAX_RULES) revert DRTooManyRules(rules.length, MAX_RULES);
        for (uint256 i = 0; i < rules.length; ++i) {
            if (rules[i] == bytes32(0)) revert DRZeroRule(i);
        }
        RuleSet storage s = _rules[msg.sender];
        s.rules = rules;
        version = ++s.version;
        emit RulesSet(msg.sender, version, rules);
    }

    /// @inheritdoc IDemandResponse
    function rulesOf(address household) external view returns (bytes32[] memory rules, uint64 version) {
        RuleSet storage s = _rules[household];
        return (s.rules, s.version);
    }

    // ---------------------------------------------------------------- day-ahead settlement

    /// @inheritdoc IDemandResponse
    function settleDayAhead(
        uint64 dayStart,
        bytes32 scheduleRoot,
        uint32 parBeforeMilli,
        uint32 parAfterMilli,
        address[] calldata households,
        uint256[] calldata rewards
    ) external onlyRole(REWARDER_ROLE) nonReentrant {
        if (_days[dayStart].scheduleRoot != bytes32(0)) revert DRDayAlreadySettled(dayStart);
        if (scheduleRoot == bytes32(0)) revert DRZeroRoot();
        uint256 total = _checkDayAhead(households, rewards);
        _requirePool(total);
        _days[dayStart] = DaySettlement({
            scheduleRoot: scheduleRoot,
            total: SafeCast.toUint128(total),
            parBeforeMilli: parBeforeMilli,
            parAfterMilli: parAfterMilli,
            households: uint32(households.length)
        });
        for (uint256 i = 0; i < households.length; ++i) {
            token.safeTransfer(households[i], rewards[i]);
            emit DayAheadRewarded(dayStart, households[i], rewards[i]);
        }
        emit DayAheadSettled(dayStart, scheduleRoot, parBeforeMilli, parAfterMilli, total);
    }

    /// Checks the lists (lengths, cap, ascending non-zero households, non-zero rewards); returns the total.
    function _checkDayAhead(address[] calldata households, uint256[] calldata rewards)
        private
        pure
        returns (uint256 total)
    {
        uint256 n = households.length;
        if (n != rewards.length) revert DRLengthMismatch(n, rewards.length);
        if (n > MAX_DAY_AHEAD_HOUSEHOLDS) revert DRTooManyHouseholds(n, MAX_DAY_AHEAD_HOUSEHOLDS);
        address prev = address(0);
        for (uint256 i = 0; i < n; ++i) {
            address h = households[i];
            if (h <= prev) revert DRInvalidHousehold(i, h);
            if (rewards[i] == 0) revert DRZeroReward(h);
            total += rewards[i];
            prev = h;
        }
    }

    /// @inheritdoc IDemandResponse
    function daySettlementOf(uint64 dayStart) external view returns (DaySettlement memory) {
        return _days[dayStart];
    }

    // ---------------------------------------------------------------- efficiency rewards

    /// @inheritdoc IDemandResponse
    function payEfficiencyRewards(
        uint64 eventId,
        bytes32 evidenceRoot,
        address[] calldata households,
        uint64[] calldata savedWh
    ) external onlyRole(REWARDER_ROLE) nonReentrant {
        DemandResponseEvent storage e = _event(eventId);
        if (e.cancelled) revert DREventCancelled(eventId);
        if (block.timestamp < e.end) revert DREventNotEnded(eventId, e.end, block.timestamp);
        if (evidenceRoot == bytes32(0)) revert DRZeroRoot();
        uint256[] memory amounts = _markEfficiency(eventId, e.rewardPerKwhWei, households, savedWh);
        for (uint256 i = 0; i < households.length; ++i) {
            if (amounts[i] > 0) token.safeTransfer(households[i], amounts[i]);
            emit EfficiencyRewarded(eventId, households[i], savedWh[i], amounts[i], evidenceRoot);
        }
    }

    /// Checks the lists and marks every household paid (effects before any transfer; a repeat, in
    /// this call or an earlier one, reverts); returns the amounts once the pool is known to cover them.
    function _markEfficiency(uint64 eventId, uint256 rate, address[] calldata households, uint64[] calldata savedWh)
        private
        returns (uint256[] memory amounts)
    {
        uint256 n = households.length;
        if (n != savedWh.length) revert DRLengthMismatch(n, savedWh.length);
        if (n > MAX_EFFICIENCY_HOUSEHOLDS) revert DRTooManyHouseholds(n, MAX_EFFICIENCY_HOUSEHOLDS);
        amounts = new uint256[](n);
        uint256 total;
        for (uint256 i = 0; i < n; ++i) {
            address h = households[i];
            if (h == address(0)) revert DRInvalidHousehold(i, h);
            if (savedWh[i] == 0) revert DRZeroSavings(h);
            EfficiencyPayment storage p = _efficiency[eventId][h];
            if (p.paid) revert DRAlreadyRewarded(eventId, h);
            p.paid = true;
            p.savedWh = savedWh[i];
            amounts[i] = Math.mulDiv(savedWh[i], rate, 1000);
            total += amounts[i];
        }
        _requirePool(total);
    }

    /// @inheritdoc IDemandResponse
    function efficiencyRewardOf(uint64 eventId, address household)
        external
        view
        returns (bool paid, uint64 savedWh, uint256 amount)
    {
        EfficiencyPayment memory p = _efficiency[eventId][household];
        if (!p.paid) return (false, 0, 0);
        return (true, p.savedWh, Math.mulDiv(p.savedWh, _events[eventId].rewardPerKwhWei, 1000));
    }

    // ---------------------------------------------------------------- pool

    /// @inheritdoc IDemandResponse
    function fund(uint256 amount) external nonReentrant {
        if (amount == 0) revert DRZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit PoolFunded(msg.sender, amount);
    }

    /// @inheritdoc IDemandResponse
    function pool() public view returns (uint256) {
        return token.balanceOf(address(this));
    }

    function _requirePool(uint256 needed) private view {
        uint256 available = pool();
        if (needed > available) revert DRPoolShort(needed, available);
    }
}
