import type { MeterAdapter } from "./adapter";
import { AdapterPool } from "./connections";

function fakeAdapters() {
  const closed: number[] = [];
  const made: number[] = [];
  const create = async (meterId: number) => {
    made.push(meterId);
    return { close: async () => void closed.push(meterId) } as unknown as MeterAdapter;
  };
  return { closed, made, create };
}

describe("AdapterPool", () => {
  it("closes the least recently used adapters past the bound and makes them again on the next use", async () => {
    const f = fakeAdapters();
    const pool = new AdapterPool(f.create, { maxOpen: 2 });
    for (const id of [1, 2, 3]) {
      await pool.get(id);
      pool.release(id, () => false);
    }
    await new Promise((r) => setImmediate(r));
    expect(f.closed).toEqual([1]);
    expect(pool.size).toBe(2);
    expect(pool.evicted).toBe(1);
    // Meter 2 used again: meter 3 is now the oldest.
    await pool.get(2);
    pool.release(2, () => false);
    await pool.get(1);
    pool.release(1, () => false);
    await new Promise((r) => setImmediate(r));
    expect(f.closed).toEqual([1, 3]);
    expect(f.made).toEqual([1, 2, 3, 1]);
  });

  it("never closes a busy or pinned meter's adapter, even past the bound", async () => {
    const f = fakeAdapters();
    const pool = new AdapterPool(f.create, { maxOpen: 1, pinned: (id) => id === 1 });
    for (const id of [1, 2, 3]) await pool.get(id);
    pool.release(3, (id) => id === 2);
    await new Promise((r) => setImmediate(r));
    // 1 is pinned, 2 busy: only 3 could go, and it did.
    expect(f.closed).toEqual([3]);
    expect(pool.size).toBe(2);
  });

  it("forgets an adapter that failed to open, so the next poll tries again", async () => {
    let fail = true;
    const pool = new AdapterPool(async () => {
      if (fail) throw new Error("refused");
      return { close: async () => undefined } as unknown as MeterAdapter;
    });
    await expect(pool.get(9)).rejects.toThrow("refused");
    await new Promise((r) => setImmediate(r));
    expect(pool.size).toBe(0);
    fail = false;
    await expect(pool.get(9)).resolves.toBeDefined();
    await pool.closeAll();
    expect(pool.size).toBe(0);
  });
});
