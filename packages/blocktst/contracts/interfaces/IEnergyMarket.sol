// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";

/// @title IEnergyMarket
/// @notice BlockTST's bilateral energy market (paper §4, Figure 7, Appendix C) with escrow and
/// meter-confirmed delivery, the Table 3 price rule, and the trade log every settled trade
/// (bilateral or auction) goes through on its way to BlockSEC.
/// @dev Quantities are in Wh; prices are SGT (18 decimals) per kWh; amount = price × Wh / 1000,
/// rounded down.
interface IEnergyMarket {
    enum TradeStatus {
        NONE,
        OPEN, // tokens escrowed, waiting for the buyer's meter
        SETTLED, // delivery confirmed: paid pro rata, remainder refunded
        REFUNDED // deadline passed, or the meter confirmed zero delivery
    }

    /// @notice A seller's standing offer. `unitPrice` 0 = "the rule's price".
    struct Offer {
        uint128 quantityWh;
        uint128 unitPrice;
    }

    /// @notice Governance parameters of the price rule (18-decimal fixed point).
    struct PriceParams {
        uint128 base; // SGT per kWh
        uint64 k; // scarcity sensitivity, <= 1e18
        uint64 discount; // CC data-sharing discount, <= 1e18
        SidegridMessages.Resolution discountResolution; // coarsest consumption resolution that earns it
    }

    /// @notice An escrowed bilateral trade (packed into four slots).
    struct EscrowTrade {
        address buyer;
        uint64 deadline;
        TradeStatus status;
        SidegridMessages.TradeKind kind;
        address seller;
        uint96 quantityWh;
        address meterSigner; // the buyer's meter key when the trade was opened
        uint96 deliveredWh;
        uint128 unitPrice;
        uint128 amount;
    }

    /// @notice What buying `quantityWh` from a seller costs now.
    struct Quote {
        uint256 unitPrice;
        uint256 amount;
        SidegridMessages.TradeKind kind;
        bool discounted;
        uint256 rulePrice; // the rule's price before any CP cap
        uint256 interval; // interval whose D and G were used (0 if none published yet)
        uint256 demand;
        uint256 generation;
    }

    /// @notice `seller` offers `quantityWh` at `unitPrice` per kWh (0 = the rule's price).
    /// @notice A household's trading account, certified by an installer: its delivery key belongs
    /// to a real meter, which the certificate does not name.
    struct TradingAccount {
        address deliverySigner;
        uint64 expiresAt;
        address installer;
    }

    /// @notice `account` trades with delivery confirmed by `deliverySigner` until `expiresAt`.
    event TradingAccountRegistered(address indexed account, address indexed deliverySigner, address indexed installer, uint64 expiresAt);
    /// @notice `account` no longer has a delivery key: closed by itself or revoked by the regulator (`by`).
    event TradingAccountClosed(address indexed account, address by);

    event OfferPublished(address indexed seller, uint256 quantityWh, uint256 unitPrice);
    /// @notice `seller` withdrew their offer.
    event OfferCancelled(address indexed seller);
    /// @notice `buyer` escrowed `amount` for `quantityWh` from `seller`; confirm by `deadline`.
    event EnergyBought(
        uint256 indexed tradeId,
        address indexed buyer,
        address indexed seller,
        SidegridMessages.TradeKind kind,
        uint256 quantityWh,
        uint256 amount,
        uint256 unitPrice,
        uint64 deadline
    );
    /// @notice The buyer's meter confirmed `deliveredWh`: `paid` to the seller, `refunded` to the buyer.
    event DeliveryConfirmed(uint256 indexed tradeId, uint256 deliveredWh, uint256 paid, uint256 refunded, address submitter);
    /// @notice A trade was settled and logged for relay to BlockSEC (bilateral or auction).
    event TradeSettled(
        uint256 indexed tradeId,
        address indexed buyer,
        address indexed seller,
        SidegridMessages.TradeKind kind,
        uint256 quantityWh,
        uint256 amount,
        uint256 unitPrice
    );
    /// @notice The escrow of `tradeId` (`amount`) went back to `buyer`.
    event TradeRefunded(uint256 indexed tradeId, address indexed buyer, uint256 amount, address caller);
    /// @notice The exact bytes relayed to BlockSEC: `SidegridMessages.encodeTrade(trade)`.
    event RelayPayload(uint256 indexed tradeId, bytes payload);
    /// @notice The oracle published demand and generation (Wh) for `interval`.
    event GridStatePublished(uint256 indexed interval, uint256 demand, uint256 generation, address oracle);
    /// @notice Governance changed the price rule.
    event PriceParamsSet(uint256 base, uint256 k, uint256 discount, SidegridMessages.Resolution discountResolution);
    /// @notice Governance changed the delivery window of new trades.
    event DeliveryWindowSet(uint64 previous, uint64 window);
    /// @notice Settled trades are (or, with address(0), no longer) sent through `outbox`.
    event OutboxSet(address indexed outbox, uint256 destChainId, address destContract);

    /// @notice A zero quantity.
    error MarketZeroQuantity();
    /// @notice The quantity does not fit the market's 96-bit field.
    error MarketQuantityTooLarge(uint256 quantityWh);
    /// @notice The offer price does not fit 128 bits.
    error MarketPriceTooLarge(uint256 unitPrice);
    /// @notice `seller` offers `available` Wh, less than `requested` (0 = no offer).
    error MarketInsufficientOffer(address seller, uint256 requested, uint256 available);
    /// @notice Buyer and seller are the same account.
    error MarketSelfTrade(address account);
    /// @notice `buyer` has no meter binding mirrored from BlockPRI, so nobody could confirm delivery.
    error MarketMeterNotRegistered(address buyer);
    /// @notice The trade would cost nothing after rounding.
    error MarketZeroAmount(uint256 unitPrice, uint256 quantityWh);
    /// @notice The trade costs `amount`, above the buyer's `maxAmount`.
    error MarketAmountAboveLimit(uint256 amount, uint256 maxAmount);
    /// @notice No trade has this id.
    error MarketUnknownTrade(uint256 tradeId);
    /// @notice The trade is already settled or refunded.
    error MarketTradeNotOpen(uint256 tradeId, TradeStatus status);
    /// @notice The confirmation came after the deadline; only a refund is possible now.
    error MarketDeadlinePassed(uint256 tradeId, uint64 deadline, uint256 timestamp);
    /// @notice A refund before the deadline.
    error MarketDeadlineNotReached(uint256 tradeId, uint64 deadline, uint256 timestamp);
    /// @notice The meter confirmed more than was bought.
    error MarketDeliveryExceedsQuantity(uint256 tradeId, uint256 deliveredWh, uint256 quantityWh);
    /// @notice The confirmation was not signed by the buyer's meter (`recovered` = 0: unreadable).
    error MarketInvalidMeterSignature(uint256 tradeId, address recovered, address expected);
    /// @notice Price parameters out of range (k and discount at most 1e18, base non-zero).
    error MarketInvalidPriceParams(uint256 base, uint256 k, uint256 discount);
    /// @notice Demand and generation must not both be zero.
    error MarketInvalidGridState(uint256 interval, uint256 demand, uint256 generation);
    /// @notice The oracle published for an interval that has not started.
    error MarketFutureInterval(uint256 interval, uint256 currentInterval);
    /// @notice A delivery window of zero or over 30 days.
    error MarketInvalidDeliveryWindow(uint64 window);
    /// @notice An outbox needs a destination chain and contract.
    error MarketInvalidOutbox(address outbox, uint256 destChainId, address destContract);
    /// @notice A delivery key must be set and differ from the account itself.
    error MarketInvalidDeliverySigner(address deliverySigner);
    /// @notice The certificate or voucher expired (or expires now).
    error MarketExpired(uint64 expiresAt, uint256 timestamp);
    /// @notice The trading-account certificate is not signed by an INSTALLER_ROLE holder (`signer`, 0 if malformed).
    error MarketNotCertifiedByInstaller(address signer);
    /// @notice A discount voucher is only for a company's offer (a DISTRIBUTOR seller).
    error MarketVoucherNotForCompany(address seller);
    /// @notice The voucher is not signed by the seller for this account (`signer`, 0 if malformed).
    error MarketInvalidVoucher(address seller, address signer);

    /// @notice Publishes or replaces the caller's offer (the paper's name and meaning).
    /// @param quantityWh Energy on offer, in Wh.
    /// @param unitPrice SGT per kWh (18 decimals); 0 follows the price rule. A prosumer's price is
    /// capped by the rule; a company's (DISTRIBUTOR) trades are priced by the rule alone.
    function sellEnergy(uint256 quantityWh, uint256 unitPrice) external;

    /// @notice Withdraws the caller's offer; open trades are unaffected.
    function cancelOffer() external;

    /// @notice Buys `quantityWh` from `seller`'s offer (the paper's name), escrowing the price in SGT.
    /// @dev Needs an SGT allowance for the quoted amount; approving exactly the quote bounds the
    /// price the buyer can be charged.
    /// @return tradeId The escrowed trade.
    function buyEnergy(address seller, uint256 quantityWh) external returns (uint256 tradeId);

    /// @notice {buyEnergy} that reverts if the trade would cost more than `maxAmount`.
    function buyEnergyWithLimit(address seller, uint256 quantityWh, uint256 maxAmount) external returns (uint256 tradeId);

    /// @notice Buys from a company with its discount voucher for the caller: an EIP-712
    /// `DiscountVoucher(account, distributor, expiresAt)` the seller signed after checking, off
    /// chain, that the household lets it monitor her consumption. No public link to her identity.
    function buyEnergyWithVoucher(address seller, uint256 quantityWh, uint256 maxAmount, uint64 voucherExpiresAt, bytes calldata voucherSignature)
        external
        returns (uint256 tradeId);

    /// @notice Registers the caller as a trading account with a meter's delivery key, certified by
    /// an installer's EIP-712 `TradingAccount(account, deliverySigner, expiresAt)` signature.
    function registerTradingAccount(address deliverySigner, uint64 expiresAt, bytes calldata installerSignature) external;

    /// @notice The caller gives up its delivery key (open trades keep the key they were bought with).
    function closeTradingAccount() external;

    /// @notice The regulator removes an account's delivery key (a stolen key, a meter taken out).
    function revokeTradingAccount(address account) external;

    /// @notice The account's certificate (deliverySigner 0 if none).
    function tradingAccountOf(address account) external view returns (TradingAccount memory);

    /// @notice The price `buyer` would pay with the seller's voucher; reverts if the voucher is invalid.
    function quoteWithVoucher(address buyer, address seller, uint256 quantityWh, uint64 voucherExpiresAt, bytes calldata voucherSignature)
        external
        view
        returns (Quote memory);

    /// @notice The EIP-712 digest an installer signs for a trading account.
    function tradingAccountDigest(address account, address deliverySigner, uint64 expiresAt) external view returns (bytes32);

    /// @notice The EIP-712 digest a company signs as a discount voucher.
    function discountVoucherDigest(address account, address distributor, uint64 expiresAt) external view returns (bytes32);

    /// @notice Settles `tradeId` with the buyer's meter's EIP-712 signature over
    /// `DeliveryConfirmation(tradeId, deliveredWh)`: the seller gets the delivered share of the
    /// escrow (rounded down), the buyer the rest. Anyone may submit; the signature is the authority.
    function confirmDelivery(uint256 tradeId, uint256 deliveredWh, bytes calldata signature) external;

    /// @notice Returns the escrow of an unconfirmed trade to its buyer once its deadline passed. Anyone.
    function refund(uint256 tradeId) external;

    /// @notice Publishes demand and generation (Wh) for `interval` (= timestamp / intervalSeconds).
    /// ORACLE_ROLE. A past interval may be corrected; a future one is refused.
    function publishGridState(uint256 interval, uint256 demand, uint256 generation) external;

    /// @notice Sets the price rule. Admin (governance) only.
    function setPriceParams(PriceParams calldata params) external;

    /// @notice Sets the delivery window of trades opened from now on. Admin only.
    function setDeliveryWindow(uint64 window) external;

    /// @notice Sends every settled trade through `outbox` to `destContract` on `destChainId`
    /// (address(0) = events only). Admin only.
    function setOutbox(address outbox, uint256 destChainId, address destContract) external;

    /// @notice Logs and relays trades the auction settled; assigns their ids. AUCTION_ROLE.
    /// @return firstTradeId The id given to `trades[0]` (the rest follow consecutively).
    function recordAuctionTrades(SidegridMessages.Trade[] calldata trades) external returns (uint256 firstTradeId);

    /// @notice `seller`'s current offer.
    function offerOf(address seller) external view returns (Offer memory);

    /// @notice The escrow record of `tradeId` (status NONE if unknown or an auction trade).
    function tradeOf(uint256 tradeId) external view returns (EscrowTrade memory);

    /// @notice The id the next trade gets (ids start at 1).
    function nextTradeId() external view returns (uint256);

    /// @notice What `buyer` would pay for `quantityWh` from `seller` now.
    function quote(address buyer, address seller, uint256 quantityWh) external view returns (Quote memory);

    /// @notice The demand and generation the rule uses at `interval`: its own if published; else,
    /// when no later interval was published, the latest one before it; else none (0, 0: the
    /// factor is 1). `from` is the interval they were published for (0 if none).
    function gridStateAt(uint256 interval) external view returns (uint256 demand, uint256 generation, uint256 from);

    /// @notice The interval the current block falls in.
    function currentInterval() external view returns (uint256);

    /// @notice The current price rule parameters.
    function priceParams() external view returns (PriceParams memory);

    /// @notice The EIP-712 digest a meter signs to confirm `deliveredWh` for `tradeId`.
    function deliveryDigest(uint256 tradeId, uint256 deliveredWh) external view returns (bytes32);

    /// @notice Total SGT held in escrow for open trades.
    function totalEscrowed() external view returns (uint256);
}
