// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IEnergyAuction
/// @notice Hourly uniform-price double auction (a local energy market): bids and offers for a
/// delivery hour until the hour starts, then one clearing at the intersection of the sorted curves.
/// Matched quantities are paid at the clearing price from the bidders' escrow; unmatched demand is
/// supplied by the grid at the hour's grid tariff; an hour whose curves do not cross clears at the
/// grid price. Every resulting trade is logged and relayed through the EnergyMarket.
/// @dev Quantities in Wh, prices SGT (18 decimals) per kWh, amount = price × Wh / 1000 rounded down.
interface IEnergyAuction {
    enum Side {
        BID,
        OFFER
    }

    /// @notice One order (two storage slots).
    struct Order {
        address owner;
        uint96 quantityWh;
        uint128 price;
        Side side;
        bool cancelled;
    }

    /// @notice An hour's book: its grid tariff (fixed by the first order, so escrows and clearing
    /// agree), order counts per side (cancelled orders keep their slot) and the clearing result.
    struct HourBook {
        uint128 gridPrice;
        uint32 bids;
        uint32 offers;
        bool cleared;
        bool crossed;
        uint128 clearingPrice;
        uint128 matchedWh;
    }

    /// @notice What {clear} did.
    struct ClearingResult {
        uint256 price;
        uint256 matchedWh;
        uint256 gridWh;
        bool crossed;
        uint256 firstTradeId;
        uint256 trades;
    }

    /// @notice The first order for `hour` fixed its grid tariff.
    event HourOpened(uint256 indexed hour, uint256 gridPrice);
    /// @notice `owner` placed order `orderId` for `hour`; a bid escrows `escrow` (quantity at the grid price).
    event OrderPlaced(
        uint256 indexed hour,
        uint256 indexed orderId,
        address indexed owner,
        Side side,
        uint256 quantityWh,
        uint256 price,
        uint256 escrow
    );
    /// @notice `owner` cancelled order `orderId`; `refund` went back to them.
    event OrderCancelled(uint256 indexed hour, uint256 indexed orderId, address indexed owner, uint256 refund);
    /// @notice Outcome of one order at clearing. For a bid `value` is paid to sellers, `gridWh` and
    /// `gridAmount` went to the grid, `refund` back to the bidder; for an offer `value` is received.
    event OrderFilled(
        uint256 indexed hour,
        uint256 indexed orderId,
        address indexed owner,
        Side side,
        uint256 filledWh,
        uint256 value,
        uint256 gridWh,
        uint256 gridAmount,
        uint256 refund
    );
    /// @notice `hour` cleared at `price` with `matchedWh` traded locally and `gridWh` from the grid.
    event HourCleared(
        uint256 indexed hour,
        uint256 price,
        uint256 matchedWh,
        uint256 gridWh,
        bool crossed,
        uint256 firstTradeId,
        uint256 trades
    );
    /// @notice Hours opened from now on use `gridPrice`; grid supply is paid to `gridAccount`.
    event GridTariffSet(uint256 gridPrice, address indexed gridAccount);
    /// @notice New book limits.
    event BookLimitsSet(uint256 maxOrdersPerSide, uint256 minOrderWh);

    /// @notice Orders and cancellations for `hour` close when it starts (`closesAt`).
    error AuctionGateClosed(uint256 hour, uint256 closesAt, uint256 timestamp);
    /// @notice Orders are accepted at most `lastHour` ahead.
    error AuctionHourTooFar(uint256 hour, uint256 lastHour);
    /// @notice `hour` can be cleared from `opensAt` on.
    error AuctionNotClearable(uint256 hour, uint256 opensAt, uint256 timestamp);
    /// @notice `hour` was already cleared.
    error AuctionAlreadyCleared(uint256 hour);
    /// @notice `side` of `hour` holds `max` orders already (the cap that bounds clearing gas).
    error AuctionBookFull(uint256 hour, Side side, uint256 max);
    /// @notice Orders below `minOrderWh` are refused (spam would fill the capped book).
    error AuctionOrderTooSmall(uint256 quantityWh, uint256 minOrderWh);
    /// @notice The quantity does not fit 96 bits.
    error AuctionQuantityTooLarge(uint256 quantityWh);
    /// @notice The price does not fit 128 bits.
    error AuctionPriceTooLarge(uint256 price);
    /// @notice A bid above the grid tariff: the grid always sells at `gridPrice`.
    error AuctionBidAboveGridPrice(uint256 price, uint256 gridPrice);
    /// @notice No order `orderId` in `hour`.
    error AuctionUnknownOrder(uint256 hour, uint256 orderId);
    /// @notice Only the owner cancels an order.
    error AuctionNotOrderOwner(uint256 hour, uint256 orderId, address caller, address owner);
    /// @notice The order was already cancelled.
    error AuctionOrderCancelled(uint256 hour, uint256 orderId);
    /// @notice The grid tariff needs a non-zero price and account.
    error AuctionInvalidTariff(uint256 gridPrice, address gridAccount);
    /// @notice `maxOrdersPerSide` must be 1..MAX_ORDERS_PER_SIDE and `minOrderWh` non-zero.
    error AuctionInvalidLimits(uint256 maxOrdersPerSide, uint256 minOrderWh);

    /// @notice Bids to buy `quantityWh` in `hour` paying at most `price` per kWh (at most the grid
    /// tariff). Escrows quantity × grid tariff: the worst case when nothing matches.
    /// @return orderId Index of the order in the hour's book.
    function placeBid(uint256 hour, uint256 quantityWh, uint256 price) external returns (uint256 orderId);

    /// @notice Offers to sell `quantityWh` in `hour` for at least `price` per kWh.
    /// @return orderId Index of the order in the hour's book.
    function placeOffer(uint256 hour, uint256 quantityWh, uint256 price) external returns (uint256 orderId);

    /// @notice Cancels the caller's order before the hour starts; a bid's escrow is refunded.
    function cancelOrder(uint256 hour, uint256 orderId) external;

    /// @notice Clears `hour` once it started, settles every order and logs the trades. Anyone.
    function clear(uint256 hour) external returns (ClearingResult memory result);

    /// @notice Sets the grid tariff and the account grid supply is paid to. Admin only.
    function setGridTariff(uint256 gridPrice, address gridAccount) external;

    /// @notice Sets the book cap per side and the smallest order. Admin only.
    function setBookLimits(uint256 maxOrdersPerSide, uint256 minOrderWh) external;

    /// @notice Order `orderId` of `hour`.
    function orderOf(uint256 hour, uint256 orderId) external view returns (Order memory);

    /// @notice Every order of `hour`, in id order.
    function ordersOf(uint256 hour) external view returns (Order[] memory);

    /// @notice Ids of `owner`'s orders in `hour`.
    function orderIdsOf(uint256 hour, address owner) external view returns (uint256[] memory);

    /// @notice The book summary and clearing result of `hour`.
    function hourOf(uint256 hour) external view returns (HourBook memory);

    /// @notice The hour the current block falls in (timestamp / 3600).
    function currentHour() external view returns (uint256);

    /// @notice The tariff new hours get, and the account grid supply is paid to.
    function gridTariff() external view returns (uint256 gridPrice, address gridAccount);

    /// @notice Total SGT escrowed by bids of hours not yet cleared.
    function totalEscrowed() external view returns (uint256);
}
