// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SidegridMessages} from "@sidegrid/chain/contracts/libraries/SidegridMessages.sol";
import {IEnergyMarket} from "./interfaces/IEnergyMarket.sol";
import {IMarketMirror} from "./interfaces/IMarketMirror.sol";
import {ITradeOutbox} from "./interfaces/ITradeOutbox.sol";
import {PriceRule} from "./libraries/PriceRule.sol";

/// @title EnergyMarket
/// @notice The paper's Transfer contract (Appendix C) made safe: `buyEnergy` escrows instead of
/// paying up front, the buyer's meter confirms delivery, and every settled trade is logged and
/// relayed to BlockSEC. See {IEnergyMarket}.
/// @dev Who confirms: the buyer's meter. Escrow protects the payer, so the evidence that releases
/// the payment must come from the payer's side: a seller's export meter cannot show that this
/// buyer received anything, and letting the seller's key confirm would let a seller collect for
/// energy never delivered. A buyer who withholds confirmation gets the escrow back at the
/// deadline, but the energy they drew is then billed by the utility at the grid tariff, so
/// withholding gains nothing.
contract EnergyMarket is AccessControl, EIP712, ReentrancyGuardTransient, IEnergyMarket {
    using SafeERC20 for IERC20;

    bytes32 public constant DISTRIBUTOR_ROLE = keccak256("DISTRIBUTOR_ROLE");
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");
    bytes32 public constant AUCTION_ROLE = keccak256("AUCTION_ROLE");
    /// Admits distributors; ORACLE, AUCTION, price rule and outbox stay with DEFAULT_ADMIN_ROLE (governance).
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");
    /// Certifies trading accounts' delivery keys; admitted by REGULATOR_ROLE, like distributors.
    bytes32 public constant INSTALLER_ROLE = keccak256("INSTALLER_ROLE");
    bytes32 public constant DELIVERY_TYPEHASH = keccak256("DeliveryConfirmation(uint256 tradeId,uint256 deliveredWh)");
    bytes32 public constant TRADING_ACCOUNT_TYPEHASH =
        keccak256("TradingAccount(address account,address deliverySigner,uint64 expiresAt)");
    bytes32 public constant DISCOUNT_VOUCHER_TYPEHASH =
        keccak256("DiscountVoucher(address account,address distributor,uint64 expiresAt)");
    uint64 public constant MAX_DELIVERY_WINDOW = 30 days;

    IERC20 public immutable token;
    IMarketMirror public immutable mirror;
    /// @notice Length of a D/G interval in seconds (3600: the auction's hour).
    uint256 public immutable intervalSeconds;

    PriceParams private _params;
    uint64 public deliveryWindow;
    uint256 public totalEscrowed;
    uint256 private _nextTradeId = 1;

    mapping(address seller => Offer) private _offers;
    mapping(uint256 tradeId => EscrowTrade) private _trades;
    mapping(uint256 interval => uint256) private _gridState; // demand << 128 | generation
    uint256 private _lastPublished;

    mapping(address account => TradingAccount) private _accounts;

    address public outbox;
    uint256 public outboxDestChainId;
    address public outboxDestContract;

    /// @param admin DEFAULT_ADMIN_ROLE (ORACLE, AUCTION, parameters; handed to governance after wiring) and REGULATOR_ROLE (grants DISTRIBUTOR).
    /// @param token_ SGT.
    /// @param mirror_ The BlockPRI mirror on this chain.
    /// @param intervalSeconds_ Length of a demand/generation interval.
    /// @param params Initial price rule (Table 3: base 0.5e18, k 0.4e18, discount 0.5e18).
    /// @param deliveryWindow_ Seconds a buyer's meter has to confirm delivery.
    constructor(
        address admin,
        IERC20 token_,
        IMarketMirror mirror_,
        uint256 intervalSeconds_,
        PriceParams memory params,
        uint64 deliveryWindow_
    ) EIP712("Sidegrid EnergyMarket", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGULATOR_ROLE, admin);
        _setRoleAdmin(DISTRIBUTOR_ROLE, REGULATOR_ROLE);
        _setRoleAdmin(INSTALLER_ROLE, REGULATOR_ROLE);
        token = token_;
        mirror = mirror_;
        intervalSeconds = intervalSeconds_;
        _setPriceParams(params);
        _setDeliveryWindow(deliveryWindow_);
    }

    // ---------------------------------------------------------------- offers

    /// @inheritdoc IEnergyMarket
    function sellEnergy(uint256 quantityWh, uint256 unitPrice) external {
        if (quantityWh == 0) revert MarketZeroQuantity();
        if (quantityWh > type(uint96).max) revert MarketQuantityTooLarge(quantityWh);
        if (unitPrice > type(uint128).max) revert MarketPriceTooLarge(unitPrice);
        _offers[msg.sender] = Offer({quantityWh: uint128(quantityWh), unitPrice: uint128(unitPrice)});
        emit OfferPublished(msg.sender, quantityWh, unitPrice);
    }

    /// @inheritdoc IEnergyMarket
    function cancelOffer() external {
        delete _offers[msg.sender];
        emit OfferCancelled(msg.sender);
    }

    // ---------------------------------------------------------------- trades

    /// @inheritdoc IEnergyMarket
    function buyEnergy(address seller, uint256 quantityWh) external nonReentrant returns (uint256) {
        return _buy(seller, quantityWh, type(uint256).max, false);
    }

    /// @inheritdoc IEnergyMarket
    function buyEnergyWithLimit(address seller, uint256 quantityWh, uint256 maxAmount)
        external
        nonReentrant
        returns (uint256)
    {
        return _buy(seller, quantityWh, maxAmount, false);
    }

    /// @inheritdoc IEnergyMarket
    function buyEnergyWithVoucher(
        address seller,
        uint256 quantityWh,
        uint256 maxAmount,
        uint64 voucherExpiresAt,
        bytes calldata voucherSignature
    ) external nonReentrant returns (uint256) {
        _checkVoucher(msg.sender, seller, voucherExpiresAt, voucherSignature);
        return _buy(seller, quantityWh, maxAmount, true);
    }

    function _buy(address seller, uint256 quantityWh, uint256 maxAmount, bool voucher) private returns (uint256 tradeId) {
        address buyer = msg.sender;
        if (quantityWh == 0) revert MarketZeroQuantity();
        if (seller == buyer) revert MarketSelfTrade(buyer);
        Offer memory offer = _offers[seller];
        if (quantityWh > offer.quantityWh) revert MarketInsufficientOffer(seller, quantityWh, offer.quantityWh);
        address meterSigner = _confirmingKey(buyer);
        if (meterSigner == address(0)) revert MarketMeterNotRegistered(buyer);

        (uint256 price, SidegridMessages.TradeKind kind,,) = _price(buyer, seller, offer.unitPrice, voucher);
        uint256 amount = PriceRule.amountFor(price, quantityWh);
        if (amount == 0) revert MarketZeroAmount(price, quantityWh);
        if (amount > maxAmount) revert MarketAmountAboveLimit(amount, maxAmount);

        unchecked {
            _offers[seller].quantityWh = offer.quantityWh - uint128(quantityWh);
        }
        tradeId = _nextTradeId++;
        uint64 deadline = uint64(block.timestamp) + deliveryWindow;
        _trades[tradeId] = EscrowTrade({
            buyer: buyer,
            deadline: deadline,
            status: TradeStatus.OPEN,
            kind: kind,
            seller: seller,
            quantityWh: uint96(quantityWh),
            meterSigner: meterSigner,
            deliveredWh: 0,
            unitPrice: SafeCast.toUint128(price),
            amount: SafeCast.toUint128(amount)
        });
        totalEscrowed += amount;
        token.safeTransferFrom(buyer, address(this), amount);
        emit EnergyBought(tradeId, buyer, seller, kind, quantityWh, amount, price, deadline);
    }

    /// @inheritdoc IEnergyMarket
    function confirmDelivery(uint256 tradeId, uint256 deliveredWh, bytes calldata signature) external nonReentrant {
        EscrowTrade storage t = _openTrade(tradeId);
        uint64 deadline = t.deadline;
        if (block.timestamp > deadline) revert MarketDeadlinePassed(tradeId, deadline, block.timestamp);
        if (deliveredWh > t.quantityWh) revert MarketDeliveryExceedsQuantity(tradeId, deliveredWh, t.quantityWh);
        address expected = t.meterSigner;
        (address recovered, ECDSA.RecoverError err,) =
            ECDSA.tryRecoverCalldata(deliveryDigest(tradeId, deliveredWh), signature);
        if (err != ECDSA.RecoverError.NoError) recovered = address(0);
        if (recovered != expected) revert MarketInvalidMeterSignature(tradeId, recovered, expected);
        _release(tradeId, t, deliveredWh);
    }

    /// Pays the delivered share to the seller and the rest back to the buyer.
    function _release(uint256 tradeId, EscrowTrade storage t, uint256 deliveredWh) private {
        EscrowTrade memory m = t;
        // Pro rata, rounded down: the seller never gets more than the delivered share.
        uint256 paid = Math.mulDiv(m.amount, deliveredWh, m.quantityWh);
        uint256 refunded = m.amount - paid;
        t.status = deliveredWh == 0 ? TradeStatus.REFUNDED : TradeStatus.SETTLED;
        t.deliveredWh = uint96(deliveredWh);
        totalEscrowed -= m.amount;

        if (paid > 0) token.safeTransfer(m.seller, paid);
        if (refunded > 0) token.safeTransfer(m.buyer, refunded);
        emit DeliveryConfirmed(tradeId, deliveredWh, paid, refunded, msg.sender);
        if (deliveredWh == 0) {
            // The meter says nothing arrived: no trade took place, so nothing is logged.
            emit TradeRefunded(tradeId, m.buyer, refunded, msg.sender);
            return;
        }
        _settle(
            SidegridMessages.Trade({
                tradeId: tradeId,
                buyer: m.buyer,
                seller: m.seller,
                kind: m.kind,
                quantityWh: deliveredWh,
                amount: paid,
                unitPrice: m.unitPrice,
                settledAt: uint64(block.timestamp)
            })
        );
    }

    /// @inheritdoc IEnergyMarket
    function refund(uint256 tradeId) external nonReentrant {
        EscrowTrade storage t = _openTrade(tradeId);
        uint64 deadline = t.deadline;
        if (block.timestamp <= deadline) revert MarketDeadlineNotReached(tradeId, deadline, block.timestamp);
        t.status = TradeStatus.REFUNDED;
        uint256 amount = t.amount;
        address buyer = t.buyer;
        totalEscrowed -= amount;
        token.safeTransfer(buyer, amount);
        emit TradeRefunded(tradeId, buyer, amount, msg.sender);
    }

    function _openTrade(uint256 tradeId) private view returns (EscrowTrade storage t) {
        t = _trades[tradeId];
        TradeStatus status = t.status;
        if (status == TradeStatus.NONE) revert MarketUnknownTrade(tradeId);
        if (status != TradeStatus.OPEN) revert MarketTradeNotOpen(tradeId, status);
    }

    /// @inheritdoc IEnergyMarket
    function recordAuctionTrades(SidegridMessages.Trade[] calldata trades)
        external
        onlyRole(AUCTION_ROLE)
        returns (uint256 firstTradeId)
    {
        firstTradeId = _nextTradeId;
        uint256 id = firstTradeId;
        for (uint256 i = 0; i < trades.length; ++i) {
            SidegridMessages.Trade memory t = trades[i];
            t.tradeId = id++;
            t.kind = SidegridMessages.TradeKind.AUCTION;
            t.settledAt = uint64(block.timestamp);
            _settle(t);
        }
        _nextTradeId = id;
    }

    /// Logs a settled trade and queues it for BlockSEC. Atomic with the settlement: if a configured
    /// outbox refuses, the settlement reverts, so "settled" always implies "queued".
    function _settle(SidegridMessages.Trade memory t) private {
        emit TradeSettled(t.tradeId, t.buyer, t.seller, t.kind, t.quantityWh, t.amount, t.unitPrice);
        bytes memory payload = SidegridMessages.encodeTrade(t);
        emit RelayPayload(t.tradeId, payload);
        address ob = outbox;
        if (ob != address(0)) ITradeOutbox(ob).send(outboxDestChainId, outboxDestContract, payload);
    }

    // ---------------------------------------------------------------- trading accounts

    /// @inheritdoc IEnergyMarket
    function registerTradingAccount(address deliverySigner, uint64 expiresAt, bytes calldata installerSignature) external {
        if (deliverySigner == address(0) || deliverySigner == msg.sender) revert MarketInvalidDeliverySigner(deliverySigner);
        if (expiresAt <= block.timestamp) revert MarketExpired(expiresAt, block.timestamp);
        (address installer, ECDSA.RecoverError err,) =
            ECDSA.tryRecoverCalldata(tradingAccountDigest(msg.sender, deliverySigner, expiresAt), installerSignature);
        if (err != ECDSA.RecoverError.NoError) installer = address(0);
        if (!hasRole(INSTALLER_ROLE, installer)) revert MarketNotCertifiedByInstaller(installer);
        _accounts[msg.sender] = TradingAccount({deliverySigner: deliverySigner, expiresAt: expiresAt, installer: installer});
        emit TradingAccountRegistered(msg.sender, deliverySigner, installer, expiresAt);
    }

    /// @inheritdoc IEnergyMarket
    function closeTradingAccount() external {
        delete _accounts[msg.sender];
        emit TradingAccountClosed(msg.sender, msg.sender);
    }

    /// @inheritdoc IEnergyMarket
    function revokeTradingAccount(address account) external onlyRole(REGULATOR_ROLE) {
        delete _accounts[account];
        emit TradingAccountClosed(account, msg.sender);
    }

    /// @inheritdoc IEnergyMarket
    function tradingAccountOf(address account) external view returns (TradingAccount memory) {
        return _accounts[account];
    }

    /// @inheritdoc IEnergyMarket
    function tradingAccountDigest(address account, address deliverySigner, uint64 expiresAt) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(TRADING_ACCOUNT_TYPEHASH, account, deliverySigner, expiresAt)));
    }

    /// @inheritdoc IEnergyMarket
    function discountVoucherDigest(address account, address distributor, uint64 expiresAt) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(DISCOUNT_VOUCHER_TYPEHASH, account, distributor, expiresAt)));
    }

    /// The key that confirms deliveries to `buyer`: a certified trading account's delivery key, or
    /// else the meter signer of the BlockPRI registration mirrored here (the household trading
    /// under her own identity, by her choice).
    function _confirmingKey(address buyer) private view returns (address) {
        TradingAccount memory a = _accounts[buyer];
        if (a.deliverySigner != address(0) && a.expiresAt > block.timestamp) return a.deliverySigner;
        return mirror.meterSignerOf(buyer);
    }

    function _checkVoucher(address account, address seller, uint64 expiresAt, bytes calldata signature) private view {
        if (!hasRole(DISTRIBUTOR_ROLE, seller)) revert MarketVoucherNotForCompany(seller);
        if (expiresAt <= block.timestamp) revert MarketExpired(expiresAt, block.timestamp);
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecoverCalldata(discountVoucherDigest(account, seller, expiresAt), signature);
        if (err != ECDSA.RecoverError.NoError) signer = address(0);
        if (signer != seller) revert MarketInvalidVoucher(seller, signer);
    }

    // ---------------------------------------------------------------- price rule

    /// Unit price for `buyer` buying from `seller` whose offer asks `offerPrice` (0 = the rule);
    /// `voucher`: the buyer holds the company's valid discount voucher.
    function _price(address buyer, address seller, uint256 offerPrice, bool voucher)
        private
        view
        returns (uint256 price, SidegridMessages.TradeKind kind, bool discounted, uint256 rulePrice)
    {
        (uint256 demand, uint256 generation,) = gridStateAt(currentInterval());
        PriceParams memory p = _params;
        if (hasRole(DISTRIBUTOR_ROLE, seller)) {
            // CC: the company's price is the rule's, with the discount if the buyer lets this
            // company monitor their consumption (as mirrored from BlockPRI).
            kind = SidegridMessages.TradeKind.CC;
            discounted = p.discount != 0
                && (
                    voucher
                        || mirror.permits(
                            buyer, seller, SidegridMessages.Category.CONSUMPTION, p.discountResolution, block.timestamp
                        )
                );
            rulePrice = PriceRule.unitPrice(p.base, p.k, p.discount, demand, generation, discounted);
            price = rulePrice;
        } else {
            // CP: the prosumer's own price, capped by the rule (no discount: consumers do not
            // monitor each other); 0 follows the rule.
            kind = SidegridMessages.TradeKind.CP;
            rulePrice = PriceRule.unitPrice(p.base, p.k, p.discount, demand, generation, false);
            price = offerPrice == 0 || offerPrice > rulePrice ? rulePrice : offerPrice;
        }
    }

    /// @inheritdoc IEnergyMarket
    function quote(address buyer, address seller, uint256 quantityWh) external view returns (Quote memory q) {
        return _quote(buyer, seller, quantityWh, false);
    }

    /// @inheritdoc IEnergyMarket
    function quoteWithVoucher(
        address buyer,
        address seller,
        uint256 quantityWh,
        uint64 voucherExpiresAt,
        bytes calldata voucherSignature
    ) external view returns (Quote memory) {
        _checkVoucher(buyer, seller, voucherExpiresAt, voucherSignature);
        return _quote(buyer, seller, quantityWh, true);
    }

    function _quote(address buyer, address seller, uint256 quantityWh, bool voucher) private view returns (Quote memory q) {
        (q.unitPrice, q.kind, q.discounted, q.rulePrice) = _price(buyer, seller, _offers[seller].unitPrice, voucher);
        q.amount = PriceRule.amountFor(q.unitPrice, quantityWh);
        (q.demand, q.generation, q.interval) = gridStateAt(currentInterval());
    }

    /// @inheritdoc IEnergyMarket
    function publishGridState(uint256 interval, uint256 demand, uint256 generation) external onlyRole(ORACLE_ROLE) {
        uint256 current = currentInterval();
        if (interval > current) revert MarketFutureInterval(interval, current);
        if (demand + generation == 0 || demand > type(uint128).max || generation > type(uint128).max) {
            revert MarketInvalidGridState(interval, demand, generation);
        }
        _gridState[interval] = (demand << 128) | generation;
        if (interval > _lastPublished) _lastPublished = interval;
        emit GridStatePublished(interval, demand, generation, msg.sender);
    }

    /// @inheritdoc IEnergyMarket
    function gridStateAt(uint256 interval) public view returns (uint256 demand, uint256 generation, uint256 from) {
        uint256 packed = _gridState[interval];
        from = interval;
        if (packed == 0) {
            // Not published (yet): the latest earlier state stands; none at all = balanced (factor 1).
            from = _lastPublished < interval ? _lastPublished : 0;
            packed = _gridState[from];
            if (packed == 0) from = 0;
        }
        demand = packed >> 128;
        generation = uint128(packed);
    }

    /// @inheritdoc IEnergyMarket
    function currentInterval() public view returns (uint256) {
        return block.timestamp / intervalSeconds;
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IEnergyMarket
    function setPriceParams(PriceParams calldata params) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setPriceParams(params);
    }

    /// @inheritdoc IEnergyMarket
    function setDeliveryWindow(uint64 window) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDeliveryWindow(window);
    }

    /// @inheritdoc IEnergyMarket
    function setOutbox(address outbox_, uint256 destChainId, address destContract)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (outbox_ != address(0) && (destChainId == 0 || destContract == address(0))) {
            revert MarketInvalidOutbox(outbox_, destChainId, destContract);
        }
        outbox = outbox_;
        outboxDestChainId = destChainId;
        outboxDestContract = destContract;
        emit OutboxSet(outbox_, destChainId, destContract);
    }

    function _setPriceParams(PriceParams memory p) private {
        if (p.base == 0 || p.k > PriceRule.ONE || p.discount > PriceRule.ONE) {
            revert MarketInvalidPriceParams(p.base, p.k, p.discount);
        }
        _params = p;
        emit PriceParamsSet(p.base, p.k, p.discount, p.discountResolution);
    }

    function _setDeliveryWindow(uint64 window) private {
        if (window == 0 || window > MAX_DELIVERY_WINDOW) revert MarketInvalidDeliveryWindow(window);
        emit DeliveryWindowSet(deliveryWindow, window);
        deliveryWindow = window;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IEnergyMarket
    function offerOf(address seller) external view returns (Offer memory) {
        return _offers[seller];
    }

    /// @inheritdoc IEnergyMarket
    function tradeOf(uint256 tradeId) external view returns (EscrowTrade memory) {
        return _trades[tradeId];
    }

    /// @inheritdoc IEnergyMarket
    function nextTradeId() external view returns (uint256) {
        return _nextTradeId;
    }

    /// @inheritdoc IEnergyMarket
    function priceParams() external view returns (PriceParams memory) {
        return _params;
    }

    /// @inheritdoc IEnergyMarket
    function deliveryDigest(uint256 tradeId, uint256 deliveredWh) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(DELIVERY_TYPEHASH, tradeId, deliveredWh)));
    }
}
