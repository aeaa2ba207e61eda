// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IDemandResponse
/// @notice Demand response and day-ahead demand-side management on BlockTST, paid in SGT:
/// - a price oracle publishes day-ahead price schedules that households' devices act on;
/// - the utility announces demand-response events (a time window in which it asks for a reduction,
///   with a reward per kWh saved);
/// - households store their device rules (opaque bytes32 words, encoded by encodeRule of the dsm package)
///   so a gateway or a device can read them from the chain;
/// - a rewarder settles each day-ahead schedule (its Merkle root and the peak-to-average ratio before
///   and after) and pays each household's reward, and pays efficiency rewards for ended events
///   against the Merkle root of the anchored readings the savings were computed from.
/// Every payment comes from a pool of SGT anyone may fund; nothing here mints.
/// @dev Prices are int32 thousandths of a cent per kWh (the dsm rule encoding's milli-units, so a
/// device compares `priceAt` with a rule's `priceBelowMilli` directly); energy in Wh; rewards in SGT
/// wei per kWh, amount = savedWh × rewardPerKwhWei / 1000 rounded down.
interface IDemandResponse {
    /// @notice A demand-response event (two storage slots).
    struct DemandResponseEvent {
        uint64 start; // unix seconds, inclusive
        uint64 end; // unix seconds, exclusive
        uint32 reduceWatts; // the reduction asked of each participating household
        bool cancelled;
        uint256 rewardPerKwhWei; // SGT wei per kWh saved
    }

    /// @notice One price publication's header; its prices are stored packed beside it.
    struct PricePublication {
        uint64 firstSlotStart;
        uint32 slotSeconds;
        uint8 slots;
    }

    /// @notice What a day-ahead settlement recorded (two slots). `scheduleRoot` is never zero once settled.
    struct DaySettlement {
        bytes32 scheduleRoot;
        uint128 total;
        uint32 parBeforeMilli;
        uint32 parAfterMilli;
        uint32 households;
    }

    /// @notice Publication `version` (1, 2, …) set `pricesMilli.length` slots of `slotSeconds` from
    /// `firstSlotStart`; for those times it overrides every earlier publication.
    event PricesPublished(uint64 indexed version, uint64 firstSlotStart, uint32 slotSeconds, int32[] pricesMilli);
    /// @notice The utility asks for `reduceWatts` less in [start, end) and pays `rewardPerKwhWei` per kWh saved.
    event DemandResponseAnnounced(uint64 indexed eventId, uint64 start, uint64 end, uint32 reduceWatts, uint256 rewardPerKwhWei);
    /// @notice Event `eventId` was called off before it started; it pays nothing.
    event DemandResponseCancelled(uint64 indexed eventId);
    /// @notice `household` replaced her rule list; `version` counts her changes (1, 2, …).
    event RulesSet(address indexed household, uint64 version, bytes32[] rules);
    /// @notice The day starting at `dayStart` was settled: schedule `scheduleRoot`, PAR before and
    /// after (thousandths), `total` SGT paid.
    event DayAheadSettled(uint64 indexed dayStart, bytes32 scheduleRoot, uint32 parBefore, uint32 parAfter, uint256 total);
    /// @notice `household` received `amount` for following the day-ahead schedule of `dayStart`.
    event DayAheadRewarded(uint64 indexed dayStart, address indexed household, uint256 amount);
    /// @notice `household` received `amount` for `savedWh` saved during event `eventId`, computed
    /// from the readings under `evidenceRoot`.
    event EfficiencyRewarded(uint64 indexed eventId, address indexed household, uint64 savedWh, uint256 amount, bytes32 evidenceRoot);
    /// @notice `funder` added `amount` SGT to the reward pool.
    event PoolFunded(address indexed funder, uint256 amount);

    /// @notice A schedule needs 1..MAX_SLOTS prices, slots of MIN_SLOT_SECONDS..MAX_SLOT_SECONDS,
    /// and must end before 2^64.
    error DRInvalidSchedule(uint64 firstSlotStart, uint32 slotSeconds, uint256 slots);
    /// @notice An event needs start < end, end after now, end − start ≤ MAX_EVENT_SECONDS and a
    /// non-zero reduction.
    error DRInvalidEvent(uint64 start, uint64 end, uint32 reduceWatts, uint256 timestamp);
    /// @notice The new event overlaps live event `eventId` (at most one event is active at a time).
    error DREventOverlap(uint64 eventId);
    /// @notice No event `eventId`.
    error DRUnknownEvent(uint64 eventId);
    /// @notice Event `eventId` was cancelled.
    error DREventCancelled(uint64 eventId);
    /// @notice Event `eventId` started at `start`: from then on households may already have reduced,
    /// so it can no longer be called off.
    error DREventStarted(uint64 eventId, uint64 start, uint256 timestamp);
    /// @notice Event `eventId` ends at `end`: savings are paid only after it ended.
    error DREventNotEnded(uint64 eventId, uint64 end, uint256 timestamp);
    /// @notice At most MAX_RULES rules per household.
    error DRTooManyRules(uint256 count, uint256 max);
    /// @notice Rule `index` is bytes32(0), which no encoding produces.
    error DRZeroRule(uint256 index);
    /// @notice Day `dayStart` was settled already.
    error DRDayAlreadySettled(uint64 dayStart);
    /// @notice A Merkle root of zero names nothing.
    error DRZeroRoot();
    /// @notice `households` and the amounts beside them differ in length.
    error DRLengthMismatch(uint256 households, uint256 amounts);
    /// @notice At most `max` households per call (MAX_DAY_AHEAD_HOUSEHOLDS, MAX_EFFICIENCY_HOUSEHOLDS).
    error DRTooManyHouseholds(uint256 count, uint256 max);
    /// @notice Household `index` is the zero address or, for settleDayAhead, not strictly above the
    /// previous one (the list is sorted ascending, which rules out paying anyone twice).
    error DRInvalidHousehold(uint256 index, address household);
    /// @notice A day-ahead reward of zero (leave the household out).
    error DRZeroReward(address household);
    /// @notice Zero saved Wh (leave the household out: a payment is once per event and household).
    error DRZeroSavings(address household);
    /// @notice `household` was already paid for event `eventId`.
    error DRAlreadyRewarded(uint64 eventId, address household);
    /// @notice The pool holds `available` but the call pays `needed`; nothing was paid.
    error DRPoolShort(uint256 needed, uint256 available);
    /// @notice Funding with zero SGT.
    error DRZeroAmount();
    /// @notice The token is the zero address.
    error DRInvalidToken();
    /// @notice The clock lag asked for at deployment exceeds MAX_CLOCK_LAG.
    error DRInvalidClockLag(uint64 clockLag);

    /// @notice Publishes a day-ahead price schedule: `pricesMilli[i]` (thousandths of a cent per kWh,
    /// may be negative) holds in [firstSlotStart + i·slotSeconds, firstSlotStart + (i+1)·slotSeconds).
    /// A later publication covering the same times overrides this one there. PRICE_ORACLE_ROLE.
    /// @return version The publication's number (1, 2, …), also in the event.
    function publishPrices(uint64 firstSlotStart, uint32 slotSeconds, int32[] calldata pricesMilli)
        external
        returns (uint64 version);

    /// @notice The price at `t` from the latest publication covering `t`; `known` false when none does.
    function priceAt(uint64 t) external view returns (bool known, int32 priceMilli);

    /// @notice Publication `version`'s schedule (empty prices for an unknown version).
    function publicationOf(uint64 version)
        external
        view
        returns (uint64 firstSlotStart, uint32 slotSeconds, int32[] memory pricesMilli);

    /// @notice Number of price publications so far (the latest version).
    function priceVersion() external view returns (uint64);

    /// @notice Announces a demand-response event over [start, end). DR_OPERATOR_ROLE (the utility).
    /// @return eventId Its id (1, 2, …).
    function announceEvent(uint64 start, uint64 end, uint32 reduceWatts, uint256 rewardPerKwhWei)
        external
        returns (uint64 eventId);

    /// @notice Calls off an event that has not started. DR_OPERATOR_ROLE.
    function cancelEvent(uint64 eventId) external;

    /// @notice The live (not cancelled) event active at `t`; eventId 0 and an empty event when none.
    function eventAt(uint64 t) external view returns (uint64 eventId, DemandResponseEvent memory e);

    /// @notice Event `eventId`.
    function eventOf(uint64 eventId) external view returns (DemandResponseEvent memory);

    /// @notice Number of events announced so far (the latest id).
    function eventCount() external view returns (uint64);

    /// @notice Replaces the caller's rule list (at most MAX_RULES non-zero words; empty clears it).
    /// @return version Her new rules version.
    function setRules(bytes32[] calldata rules) external returns (uint64 version);

    /// @notice `household`'s rules and how many times she set them.
    function rulesOf(address household) external view returns (bytes32[] memory rules, uint64 version);

    /// @notice Records the day-ahead outcome of the day starting at `dayStart` (once) and pays
    /// `rewards[i]` SGT to `households[i]` from the pool. `households` strictly ascending. REWARDER_ROLE.
    function settleDayAhead(
        uint64 dayStart,
        bytes32 scheduleRoot,
        uint32 parBeforeMilli,
        uint32 parAfterMilli,
        address[] calldata households,
        uint256[] calldata rewards
    ) external;

    /// @notice What the settlement of `dayStart` recorded (a zero root when not settled).
    function daySettlementOf(uint64 dayStart) external view returns (DaySettlement memory);

    /// @notice Pays `savedWh[i] × rewardPerKwhWei / 1000` to `households[i]` for the ended, not
    /// cancelled event `eventId`, once per (event, household), from the pool. REWARDER_ROLE.
    /// @param evidenceRoot Merkle root of the anchored readings the savings were computed from.
    function payEfficiencyRewards(
        uint64 eventId,
        bytes32 evidenceRoot,
        address[] calldata households,
        uint64[] calldata savedWh
    ) external;

    /// @notice Whether `household` was paid for `eventId`, for how many Wh, and how much.
    function efficiencyRewardOf(uint64 eventId, address household)
        external
        view
        returns (bool paid, uint64 savedWh, uint256 amount);

    /// @notice Adds `amount` SGT to the reward pool (transferFrom the caller; approve first). Anyone.
    function fund(uint256 amount) external;

    /// @notice SGT the pool holds now.
    function pool() external view returns (uint256);
}
