// What the seed paper (Ochôa et al., "A Cost Analysis of Implementing a Blockchain Architecture in a Smart Grid Scenario Using Sidechains") reports, to print
// beside our figures. Only numbers its text states are here: Figure 9 is an image whose text gives
// its two ends ("ranging from 0.8 to 94 seconds" for 10 to 1000 transactions of 144 bytes, Loom,
// immediate mining, Core i5-8625U); Tables 4 and 5 give costs in ETH on Ropsten, without gas price.

/** Figure 9's sample sizes. */
export const FIGURE9_N = [10, 50, 100, 250, 500, 1000] as const;

/** Seconds the paper's text gives for a Figure 9 sample size. */
export const PAPER_FIGURE9_SECONDS: Readonly<Record<number, number>> = { 10: 0.8, 1000: 94 };

/** Table 4: deploy cost by contract (ETH, Ropsten). */
export const PAPER_TABLE4 = [
  { contract: "Access", eth: 0.001413 },
  { contract: "Storage", eth: 0.003389 },
  { contract: "Transfer", eth: 0.001417 },
  { contract: "Token", eth: 0.001862 },
] as const;

/** Table 5: function cost (ETH, Ropsten). */
export const PAPER_TABLE5 = [
  { fn: "setTranslog", contract: "Storage", eth: 0.000821 },
  { fn: "buyEnergy", contract: "Transfer", eth: 0.000536 },
  { fn: "getEnergyUsage", contract: "Storage", eth: 0.000519 },
  { fn: "getTranslog", contract: "Storage", eth: 0.000447 },
  { fn: "sellEnergy", contract: "Transfer", eth: 0.000452 },
] as const;

/** The paper's record size: one OSGP packet. */
export const PAPER_RECORD_BYTES = 144;
