// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Arrays} from "@openzeppelin/contracts/utils/Arrays.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IEnergyAuction} from "./interfaces/IEnergyAuction.sol";
import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {PriceRule} from "./libraries/PriceRule.sol";

/// @title EnergyAuction
/// @notice Hourly uniform-price double auction; see {IEnergyAuction}.
/// @dev Clearing rule (mirrored by `clearAuction` in the TypeScript reference):
/// 1. Price-time priority: bids by price descending, offers by price ascending, ties by order id
///    (earlier first). Cancelled orders are skipped.
/// 2. Walk both curves pairing the best remaining bid with the best remaining offer while the
///    bid price >= the offer price; each step trades min(remaining bid, remaining offer) Wh.
///    At a tie on the margin the earlier order fills first (no pro rata).
/// 3. Price: with b/o the bid/offer price of the last matched Wh and b'/o' those of the first
///    unmatched Wh (when any), every price in [max(o, b'), min(b, o')] clears the market (no
///    matched side wants out, no unmatched side wants in); we take its midpoint, rounded down.
///    No match: the hour clears at its grid price.
/// 4. Each matched pair is a trade at the clearing price; each bid's unmatched Wh is a trade with
///    the grid account at the grid price; the bidder gets back escrow − paid − grid amount.
/// Gas is bounded by a cap on orders per side and hour (`maxOrdersPerSide`, at most 256): loading
/// and sorting cost O(n log n) in memory, settlement O(n). Unmatched supply is not bought by the grid
/// here (feed-in is settled by the utility's own tariff).
contract EnergyAuction is AccessControl, ReentrancyGuardTransient, IEnergyAuction {
    using SafeERC20 for IERC20;

    uint256 public constant HOUR = 3600;
    /// @notice Orders are accepted up to a week ahead.
    uint256 public constant MAX_HOURS_AHEAD = 168;
    /// @notice Hard ceiling of the per-side cap (keeps the largest clearing far below a block).
    uint256 public constant MAX_ORDERS_PER_SIDE = 256;
    uint256 private constant INDEX_MASK = 0xFFFFFFFF;

    IERC20 public immutable token;
    IEnergyMarket public immutable market;

    uint256 private _gridPrice;
    address private _gridAccount;
    uint256 public maxOrdersPerSide;
    uint256 public minOrderWh;
    uint256 public totalEscrowed;

    mapping(uint256 hour => HourBook) private _hours;
    mapping(uint256 hour => Order[]) private _orders;

    /// @param admin DEFAULT_ADMIN_ROLE: sets the grid tariff and book limits.
    /// @param token_ SGT.
    /// @param market_ The EnergyMarket that logs and relays the trades (grants this AUCTION_ROLE).
    /// @param gridPrice Grid tariff, SGT per kWh.
    /// @param gridAccount Receives payment for grid supply (the utility).
    /// @param maxOrdersPerSide_ Book cap per side and hour.
    /// @param minOrderWh_ Smallest order.
    constructor(
        address admin,
        IERC20 token_,
        IEnergyMarket market_,
        uint256 gridPrice,
        address gridAccount,
        uint256 maxOrdersPerSide_,
        uint256 minOrderWh_
    ) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        token = token_;
        market = market_;
        _setGridTariff(gridPrice, gridAccount);
        _setBookLimits(maxOrdersPerSide_, minOrderWh_);
    }

    // ---------------------------------------------------------------- orders

    /// @inheritdoc IEnergyAuction
    function placeBid(uint256 hour, uint256 quantityWh, uint256 price) external nonReentrant returns (uint256) {
        return _place(hour, Side.BID, quantityWh, price);
    }

    /// @inheritdoc IEnergyAuction
    function placeOffer(uint256 hour, uint256 quantityWh, uint256 price) external nonReentrant returns (uint256) {
        return _place(hour, Side.OFFER, quantityWh, price);
    }

    function _place(uint256 hour, Side side, uint256 quantityWh, uint256 price) private returns (uint256 orderId) {
        uint256 lastHour = currentHour() + MAX_HOURS_AHEAD;
        if (hour > lastHour) revert AuctionHourTooFar(hour, lastHour);
        uint256 closesAt = _start(hour);
        if (block.timestamp >= closesAt) revert AuctionGateClosed(hour, closesAt, block.timestamp);
        if (quantityWh < minOrderWh) revert AuctionOrderTooSmall(quantityWh, minOrderWh);
        if (quantityWh > type(uint96).max) revert AuctionQuantityTooLarge(quantityWh);
        if (price > type(uint128).max) revert AuctionPriceTooLarge(price);

        HourBook storage hb = _hours[hour];
        uint256 gridPrice = hb.gridPrice;
        if (gridPrice == 0) {
            gridPrice = _gridPrice;
            hb.gridPrice = uint128(gridPrice);
            emit HourOpened(hour, gridPrice);
        }
        uint256 escrow;
        if (side == Side.BID) {
            if (hb.bids >= maxOrdersPerSide) revert AuctionBookFull(hour, side, maxOrdersPerSide);
            if (price > gridPrice) revert AuctionBidAboveGridPrice(price, gridPrice);
            ++hb.bids;
            escrow = PriceRule.amountFor(gridPrice, quantityWh);
            totalEscrowed += escrow;
        } else {
            if (hb.offers >= maxOrdersPerSide) revert AuctionBookFull(hour, side, maxOrdersPerSide);
            ++hb.offers;
        }
        Order[] storage book = _orders[hour];
        orderId = book.length;
        book.push(
            Order({owner: msg.sender, quantityWh: uint96(quantityWh), price: uint128(price), side: side, cancelled: false})
        );
        if (escrow > 0) token.safeTransferFrom(msg.sender, address(this), escrow);
        emit OrderPlaced(hour, orderId, msg.sender, side, quantityWh, price, escrow);
    }

    /// @inheritdoc IEnergyAuction
    function cancelOrder(uint256 hour, uint256 orderId) external nonReentrant {
        Order[] storage book = _orders[hour];
        if (orderId >= book.length) revert AuctionUnknownOrder(hour, orderId);
        uint256 closesAt = _start(hour);
        if (block.timestamp >= closesAt) revert AuctionGateClosed(hour, closesAt, block.timestamp);
        Order storage o = book[orderId];
        if (o.owner != msg.sender) revert AuctionNotOrderOwner(hour, orderId, msg.sender, o.owner);
        if (o.cancelled) revert AuctionOrderCancelled(hour, orderId);
        o.cancelled = true;
        uint256 refund;
        if (o.side == Side.BID) {
            refund = PriceRule.amountFor(_hours[hour].gridPrice, o.quantityWh);
            totalEscrowed -= refund;
            if (refund > 0) token.safeTransfer(msg.sender, refund);
        }
        emit OrderCancelled(hour, orderId, msg.sender, refund);
    }

    // ---------------------------------------------------------------- clearing

    /// Working state of one clearing, in memory.
    struct Book {
        uint256 n;
        address[] owners;
        uint256[] qty;
        bool[] isBid;
        uint256[] filled; // Wh matched locally, per order index
        uint256[] value; // paid (bid) or received (offer), per order index
        uint256[] bidKeys; // price << 32 | (MASK − index), sorted ascending: best bid last
        uint256[] offerKeys; // price << 32 | index, sorted ascending: best offer first
    }

    /// @inheritdoc IEnergyAuction
    function clear(uint256 hour) external nonReentrant returns (ClearingResult memory r) {
        uint256 opensAt = _start(hour);
        if (block.timestamp < opensAt) revert AuctionNotClearable(hour, opensAt, block.timestamp);
        HourBook storage hb = _hours[hour];
        if (hb.cleared) revert AuctionAlreadyCleared(hour);
        uint256 gridPrice = hb.gridPrice;
        if (gridPrice == 0) {
            gridPrice = _gridPrice;
            hb.gridPrice = uint128(gridPrice);
        }

        Book memory b = _load(hour, hb.bids, hb.offers);
        (uint256[] memory pieces, uint256 np) = _match(b, r);
        if (!r.crossed) r.price = gridPrice;

        hb.cleared = true;
        hb.crossed = r.crossed;
        hb.clearingPrice = uint128(r.price);
        hb.matchedWh = uint128(r.matchedWh);

        address gridAccount = _gridAccount;
        SidegridMessages.Trade[] memory trades = _trades(b, pieces, np, r, gridPrice, gridAccount);
        r.trades = trades.length;
        if (trades.length > 0) r.firstTradeId = market.recordAuctionTrades(trades);
        _pay(hour, b, gridPrice, gridAccount);
        emit HourCleared(hour, r.price, r.matchedWh, r.gridWh, r.crossed, r.firstTradeId, r.trades);
    }

    /// Cursor state of the walk (a struct keeps it off the stack).
    struct Walk {
        uint256 bi; // bids left: the best remaining bid is bidKeys[bi - 1]
        uint256 oi; // offers used: the best remaining offer is offerKeys[oi]
        uint256 remB;
        uint256 remO;
        uint256 lastBid;
        uint256 lastOffer;
    }

    /// Walks the sorted curves; returns the matched pieces (bidIndex << 128 | offerIndex << 96 | Wh)
    /// and sets matchedWh, crossed and (when crossed) the clearing price in `r`.
    function _match(Book memory b, ClearingResult memory r) private pure returns (uint256[] memory pieces, uint256 np) {
        uint256 no = b.offerKeys.length;
        pieces = new uint256[](b.bidKeys.length + no);
        Walk memory w;
        w.bi = b.bidKeys.length;
        if (w.bi > 0) w.remB = b.qty[_bidIndex(b.bidKeys[w.bi - 1])];
        if (no > 0) w.remO = b.qty[b.offerKeys[0] & INDEX_MASK];
        while (w.bi > 0 && w.oi < no) {
            uint256 bk = b.bidKeys[w.bi - 1];
            uint256 ok = b.offerKeys[w.oi];
            if ((bk >> 32) < (ok >> 32)) break;
            uint256 m = w.remB < w.remO ? w.remB : w.remO;
            pieces[np++] = (_bidIndex(bk) << 128) | ((ok & INDEX_MASK) << 96) | m;
            r.matchedWh += m;
            w.lastBid = bk >> 32;
            w.lastOffer = ok >> 32;
            w.remB -= m;
            w.remO -= m;
            if (w.remB == 0 && --w.bi > 0) w.remB = b.qty[_bidIndex(b.bidKeys[w.bi - 1])];
            if (w.remO == 0 && ++w.oi < no) w.remO = b.qty[b.offerKeys[w.oi] & INDEX_MASK];
        }
        if (np == 0) return (pieces, 0);
        r.crossed = true;
        // [lo, hi] = [max(o, b'), min(b, o')]: b'/o' are the first unmatched Wh's prices.
        uint256 lo = w.lastOffer;
        uint256 hi = w.lastBid;
        if (w.bi > 0 && (b.bidKeys[w.bi - 1] >> 32) > lo) lo = b.bidKeys[w.bi - 1] >> 32;
        if (w.oi < no && (b.offerKeys[w.oi] >> 32) < hi) hi = b.offerKeys[w.oi] >> 32;
        r.price = (lo + hi) / 2;
    }

    /// The trades of a clearing: matched pieces in matching order, then each bid's grid fallback
    /// in order id order. Fills `b.filled`/`b.value` and `r.gridWh`.
    function _trades(
        Book memory b,
        uint256[] memory pieces,
        uint256 np,
        ClearingResult memory r,
        uint256 gridPrice,
        address gridAccount
    ) private pure returns (SidegridMessages.Trade[] memory trades) {
        trades = new SidegridMessages.Trade[](np + b.bidKeys.length);
        uint256 nt;
        for (uint256 i = 0; i < np; ++i) {
            uint256 pc = pieces[i];
            uint256 bIdx = pc >> 128;
            uint256 oIdx = (pc >> 96) & INDEX_MASK;
            uint256 m = uint96(pc);
            uint256 amount = PriceRule.amountFor(r.price, m);
            b.filled[bIdx] += m;
            b.filled[oIdx] += m;
            b.value[bIdx] += amount;
            b.value[oIdx] += amount;
            trades[nt++] = _trade(b.owners[bIdx], b.owners[oIdx], m, amount, r.price);
        }
        for (uint256 i = 0; i < b.n; ++i) {
            if (b.owners[i] == address(0) || !b.isBid[i]) continue;
            uint256 gridWh = b.qty[i] - b.filled[i];
            if (gridWh == 0) continue;
            trades[nt++] = _trade(b.owners[i], gridAccount, gridWh, PriceRule.amountFor(gridPrice, gridWh), gridPrice);
            r.gridWh += gridWh;
        }
        assembly ("memory-safe") {
            mstore(trades, nt)
        }
    }

    /// Moves the tokens: refunds to bidders, proceeds to sellers, grid supply to the grid account.
    function _pay(uint256 hour, Book memory b, uint256 gridPrice, address gridAccount) private {
        uint256 gridTotal;
        uint256 escrowReleased;
        for (uint256 i = 0; i < b.n; ++i) {
            address owner = b.owners[i];
            if (owner == address(0)) continue;
            if (b.isBid[i]) {
                (uint256 escrow, uint256 gridAmount) = _payBid(hour, i, owner, b.qty[i], b.filled[i], b.value[i], gridPrice);
                escrowReleased += escrow;
                gridTotal += gridAmount;
            } else {
                if (b.value[i] > 0) token.safeTransfer(owner, b.value[i]);
                emit OrderFilled(hour, i, owner, Side.OFFER, b.filled[i], b.value[i], 0, 0, 0);
            }
        }
        totalEscrowed -= escrowReleased;
        if (gridTotal > 0) token.safeTransfer(gridAccount, gridTotal);
    }

    /// Settles one bid: pays back what neither sellers nor the grid took from its escrow.
    function _payBid(
        uint256 hour,
        uint256 orderId,
        address owner,
        uint256 qty,
        uint256 filled,
        uint256 paid,
        uint256 gridPrice
    ) private returns (uint256 escrow, uint256 gridAmount) {
        escrow = PriceRule.amountFor(gridPrice, qty);
        uint256 gridWh = qty - filled;
        gridAmount = PriceRule.amountFor(gridPrice, gridWh);
        // escrow >= paid + gridAmount: every price <= gridPrice and floors only shrink sums.
        uint256 refund = escrow - paid - gridAmount;
        if (refund > 0) token.safeTransfer(owner, refund);
        emit OrderFilled(hour, orderId, owner, Side.BID, filled, paid, gridWh, gridAmount, refund);
    }

    /// Loads the live orders of `hour` into memory and sorts both sides.
    function _load(uint256 hour, uint256 bids, uint256 offers) private view returns (Book memory b) {
        Order[] storage book = _orders[hour];
        uint256 n = book.length;
        b.n = n;
        b.owners = new address[](n);
        b.qty = new uint256[](n);
        b.isBid = new bool[](n);
        b.filled = new uint256[](n);
        b.value = new uint256[](n);
        uint256[] memory bidKeys = new uint256[](bids);
        uint256[] memory offerKeys = new uint256[](offers);
        uint256 nb;
        uint256 no;
        for (uint256 i = 0; i < n; ++i) {
            Order memory o = book[i];
            if (o.cancelled) continue; // owner stays address(0): skipped everywhere below
            b.owners[i] = o.owner;
            b.qty[i] = o.quantityWh;
            b.isBid[i] = o.side == Side.BID;
            if (b.isBid[i]) bidKeys[nb++] = (uint256(o.price) << 32) | (INDEX_MASK - i);
            else offerKeys[no++] = (uint256(o.price) << 32) | i;
        }
        assembly ("memory-safe") {
            mstore(bidKeys, nb)
            mstore(offerKeys, no)
        }
        b.bidKeys = Arrays.sort(bidKeys);
        b.offerKeys = Arrays.sort(offerKeys);
    }

    /// Start of `hour` in seconds, saturating instead of overflowing for absurd hours.
    function _start(uint256 hour) private pure returns (uint256) {
        return hour > type(uint256).max / HOUR ? type(uint256).max : hour * HOUR;
    }

    function _bidIndex(uint256 key) private pure returns (uint256) {
        return INDEX_MASK - (key & INDEX_MASK);
    }

    function _trade(address buyer, address seller, uint256 quantityWh, uint256 amount, uint256 unitPrice)
        private
        pure
        returns (SidegridMessages.Trade memory)
    {
        return SidegridMessages.Trade({
            tradeId: 0, // assigned by the market
            buyer: buyer,
            seller: seller,
            kind: SidegridMessages.TradeKind.AUCTION,
            quantityWh: quantityWh,
            amount: amount,
            unitPrice: unitPrice,
            settledAt: 0
        });
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IEnergyAuction
    function setGridTariff(uint256 gridPrice, address gridAccount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setGridTariff(gridPrice, gridAccount);
    }

    /// @inheritdoc IEnergyAuction
    function setBookLimits(uint256 maxOrdersPerSide_, uint256 minOrderWh_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setBookLimits(maxOrdersPerSide_, minOrderWh_);
    }

    function _setGridTariff(uint256 gridPrice, address gridAccount) private {
        if (gridPrice == 0 || gridPrice > type(uint128).max || gridAccount == address(0)) {
            revert AuctionInvalidTariff(gridPrice, gridAccount);
        }
        _gridPrice = gridPrice;
        _gridAccount = gridAccount;
        emit GridTariffSet(gridPrice, gridAccount);
    }

    function _setBookLimits(uint256 maxOrdersPerSide_, uint256 minOrderWh_) private {
        if (maxOrdersPerSide_ == 0 || maxOrdersPerSide_ > MAX_ORDERS_PER_SIDE || minOrderWh_ == 0) {
            revert AuctionInvalidLimits(maxOrdersPerSide_, minOrderWh_);
        }
        maxOrdersPerSide = maxOrdersPerSide_;
        minOrderWh = minOrderWh_;
        emit BookLimitsSet(maxOrdersPerSide_, minOrderWh_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IEnergyAuction
    function orderOf(uint256 hour, uint256 orderId) external view returns (Order memory) {
        Order[] storage book = _orders[hour];
        if (orderId >= book.length) revert AuctionUnknownOrder(hour, orderId);
        return book[orderId];
    }

    /// @inheritdoc IEnergyAuction
    function ordersOf(uint256 hour) external view returns (Order[] memory) {
        return _orders[hour];
    }

    /// @inheritdoc IEnergyAuction
    function orderIdsOf(uint256 hour, address owner) external view returns (uint256[] memory ids) {
        Order[] storage book = _orders[hour];
        ids = new uint256[](book.length);
        uint256 k;
        for (uint256 i = 0; i < book.length; ++i) {
            if (book[i].owner == owner) ids[k++] = i;
        }
        assembly ("memory-safe") {
            mstore(ids, k)
        }
    }

    /// @inheritdoc IEnergyAuction
    function hourOf(uint256 hour) external view returns (HourBook memory) {
        return _hours[hour];
    }

    /// @inheritdoc IEnergyAuction
    function currentHour() public view returns (uint256) {
        return block.timestamp / HOUR;
    }

    /// @inheritdoc IEnergyAuction
    function gridTariff() external view returns (uint256 gridPrice, address gridAccount) {
        return (_gridPrice, _gridAccount);
    }
}
