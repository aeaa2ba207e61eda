// Least-squares splits of anchor-transaction gas for `sidegrid bench --scale`. A transaction's gas
// is a fixed part (base 21,000, the batch record, the Merkle root's top) plus a part per reading
// (its calldata, leaf hash and event bytes) plus a part per meter in it (the group header, the
// PolicyMirror's storageDecision reads, the bitmap word's SSTORE, the group's event): readings of
// one meter in one transaction share the last three. Per-reading gas therefore depends on readings
// per meter per transaction (the bench keeps it equal over sizes). A bitmap word written for the
// first time (a meter's first record, then every 256th) costs a fresh SSTORE on top.

/** One mined anchor transaction: gas, calldata bytes, readings stored, distinct meters among them, bitmap words it wrote first. */
export interface TxSample {
  gas: number;
  calldata: number;
  readings: number;
  meters: number;
  /** (meter, sequence ÷ 256) words this transaction was the first to write (0 when unknown). */
  fresh?: number;
}

/** y ≈ Σ coef[j]·x[j], least squares by the normal equations (tiny systems); null when singular. */
export function leastSquares(xs: readonly (readonly number[])[], y: readonly number[]): number[] | null {
  const k = xs[0]?.length ?? 0;
  if (k === 0 || xs.length < k) return null;
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  xs.forEach((x, i) => {
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < k; c++) a[r]![c]! += x[r]! * x[c]!;
      a[r]![k]! += x[r]! * y[i]!;
    }
  });
  // Gauss–Jordan with partial pivoting.
  for (let col = 0; col < k; col++) {
    let piv = col;
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[piv]![col]!)) piv = r;
    if (Math.abs(a[piv]![col]!) < 1e-9 * Math.max(1, Math.abs(a[col]![col]!))) return null;
    [a[col], a[piv]] = [a[piv]!, a[col]!];
    for (let r = 0; r < k; r++) {
      if (r === col) continue;
      const f = a[r]![col]! / a[col]![col]!;
      for (let c = col; c <= k; c++) a[r]![c]! -= f * a[col]![c]!;
    }
  }
  return a.map((row, i) => row[k]! / row[i]!);
}

/** Per size: gas = a + b·readings over that size's transactions (the fixed part taken out). */
export interface GasLine {
  /** Fixed gas per transaction (a) and marginal gas per reading (b); null when the transactions do not vary enough. */
  fixedGasPerTx: number | null;
  gasPerReading: number | null;
  /** Marginal calldata bytes per reading (calldata = a' + b'·readings). */
  calldataBytesPerReading: number | null;
}

/**
 * Fits gas = a + b·readings and calldata = a' + b'·readings over one phase's transactions.
 * @example
 * gasLine([{ gas: 31000, calldata: 300, readings: 2, meters: 2 }, { gas: 41000, calldata: 500, readings: 4, meters: 4 }]).gasPerReading // 5000
 */
export function gasLine(txs: readonly TxSample[]): GasLine {
  const xs = txs.map((t) => [1, t.readings]);
  const g = leastSquares(xs, txs.map((t) => t.gas));
  const c = leastSquares(xs, txs.map((t) => t.calldata));
  return { fixedGasPerTx: g ? Math.round(g[0]!) : null, gasPerReading: g ? Math.round(g[1]!) : null, calldataBytesPerReading: c ? Math.round(c[1]! * 10) / 10 : null };
}

/** gas = a + b·readings + c·meters + d·fresh words over every size's transactions together. */
export interface CompositionModel {
  fixedGasPerTx: number;
  gasPerReading: number;
  gasPerMeterInTx: number;
  /** A bitmap word's first write over a later one (d); null when no transaction wrote a fresh word. */
  gasPerFreshWord: number | null;
  /** Same split for calldata bytes. */
  calldataPerTx: number;
  calldataPerReading: number;
  calldataPerMeterInTx: number;
  txs: number;
}

/**
 * The pooled split (null when the sizes' compositions do not separate readings from meters).
 * @example
 * const m = compositionModel(allWindowTxs); m?.gasPerMeterInTx;
 */
export function compositionModel(txs: readonly TxSample[]): CompositionModel | null {
  // Fresh words only cost gas: calldata is fitted without them.
  const anyFresh = txs.some((t) => (t.fresh ?? 0) > 0);
  const g = leastSquares(txs.map((t) => (anyFresh ? [1, t.readings, t.meters, t.fresh ?? 0] : [1, t.readings, t.meters])), txs.map((t) => t.gas));
  const c = leastSquares(txs.map((t) => [1, t.readings, t.meters]), txs.map((t) => t.calldata));
  if (!g || !c) return null;
  const r = (v: number, d = 0) => Math.round(v * 10 ** d) / 10 ** d;
  return { fixedGasPerTx: r(g[0]!), gasPerReading: r(g[1]!), gasPerMeterInTx: r(g[2]!), gasPerFreshWord: anyFresh ? r(g[3]!) : null, calldataPerTx: r(c[0]!, 1), calldataPerReading: r(c[1]!, 1), calldataPerMeterInTx: r(c[2]!, 1), txs: txs.length };
}

/** The model's gas for one transaction. */
export function predictGas(m: CompositionModel, t: TxSample): number {
  return m.fixedGasPerTx + m.gasPerReading * t.readings + m.gasPerMeterInTx * t.meters + (m.gasPerFreshWord ?? 0) * (t.fresh ?? 0);
}

/** One size's cost at equal composition: one reading per meter per transaction, fixed part left out. */
export interface EqualComposition {
  /** Measured gas ÷ the pooled model's prediction over this size's transactions (1 = the model fits it). */
  gasRatio: number;
  calldataRatio: number;
  /** (b + c) × ratio: gas and calldata bytes one reading costs when it is its meter's only reading in the transaction. */
  gasPerReading: number;
  calldataBytesPerReading: number;
}

/**
 * Rescales the pooled model's one-reading-per-meter cost by how this size's transactions deviate
 * from it: a cost that grew with the fleet (deeper storage, bigger maps) shows as a ratio ≠ 1.
 * @example
 * equalComposition(model, sizeTxs).gasPerReading;
 */
export function equalComposition(m: CompositionModel, txs: readonly TxSample[]): EqualComposition {
  const sum = (f: (t: TxSample) => number) => txs.reduce((s, t) => s + f(t), 0);
  const gasRatio = sum((t) => t.gas) / sum((t) => predictGas(m, t));
  const calldataRatio = sum((t) => t.calldata) / sum((t) => m.calldataPerTx + m.calldataPerReading * t.readings + m.calldataPerMeterInTx * t.meters);
  return {
    gasRatio: Math.round(gasRatio * 1000) / 1000,
    calldataRatio: Math.round(calldataRatio * 1000) / 1000,
    gasPerReading: Math.round((m.gasPerReading + m.gasPerMeterInTx) * gasRatio),
    calldataBytesPerReading: Math.round((m.calldataPerReading + m.calldataPerMeterInTx) * calldataRatio * 10) / 10,
  };
}
