pragma solidity ^0.5.1;
pragma experimental ABIEncoderV2;

// Benchmark baseline: the seed paper's Storage contract (Appendix B, Figure A2) as published —
// one transaction per record, each record pushed into a per-consumer array in storage, payload as a
// string — so `sidegrid bench` can run it beside Sidegrid's ledger on the same chain in the same run.
// The Access check is omitted from setTransLog because the paper's setTransLog has none either.
contract PaperStorage {
    struct AccessLog {
        address accessOrigin;
        uint accessTime;
        uint accessDay;
    }
    struct TransactionLog {
        address transDest;
        uint transValue;
        string transCode;
    }
    struct EnergyUsage {
        uint usageDay;
        uint usageQuant;
    }
    struct ConsumerInfo {
        AccessLog[] accessLog;
        TransactionLog[] transLog;
        EnergyUsage[] energyUsage;
        uint currentEneryUsage;
    }
    mapping (address => ConsumerInfo) internal consumerInfos;

    function setTransLog(address _transDest, uint _transValue, string memory _transCode) public {
        consumerInfos[msg.sender].transLog.push(TransactionLog(_transDest, _transValue, _transCode));
    }

    function getTransLog(address _consumerAddr) public returns (TransactionLog[] memory) {
        consumerInfos[_consumerAddr].accessLog.push(AccessLog(msg.sender, 0, 0));
        return consumerInfos[_consumerAddr].transLog;
    }

    function transLogLength(address _consumerAddr) public view returns (uint) {
        return consumerInfos[_consumerAddr].transLog.length;
    }
}
