// The gateway's web portal in a real browser (Debian's chromium driven by playwright-core) against a
// whole local system after the demo: a consumer decrypts her readings in the page and switches the
// utility off, a utility is refused a household that said no, a court sees the verified history.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Wallet, hexlify } from "ethers";
import { chromium, type Browser, type Page } from "playwright-core";
import { connectNetwork, loadConfig, type SidegridConfig } from "@sidegrid/chain";
import { BlockPriClient } from "@sidegrid/blockpri";
import { BlockSecClient } from "@sidegrid/blocksec";
import { consumerKeys, createUi, readDeployment, readState, roleKey, runDemo, stopAll, up, writeTestConfig, type SystemDeployment } from "@sidegrid/cli";

const CHROMIUM = process.env.SIDEGRID_CHROMIUM ?? "/usr/bin/chromium";
let cfg: SidegridConfig;
let dir: string;
let d: SystemDeployment;
let browser: Browser;
let page: Page;
let gatewayUrl: string;
const dialogs: string[] = [];
const ui = createUi(process.stderr, true);

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (scripts/setup.sh does with SIDEGRID_NEEDS_CHROMIUM=1)`);
  const t = await writeTestConfig([31611, 31612, 31613], { meters: 4, meterSpeed: 240 });
  dir = t.dir;
  cfg = loadConfig({ file: t.file });
  await up(cfg, ui);
  d = readDeployment(cfg);
  await runDemo(cfg, { say: () => undefined, timeoutMs: 90_000 });
  gatewayUrl = readState(cfg)!.processes.find((p) => p.kind === "gateway")!.url!;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Root in a container, no network beyond loopback: no sandbox, no background traffic.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage();
  page.on("dialog", (dlg) => {
    dialogs.push(dlg.message());
    void dlg.accept();
  });
  await page.goto(`${gatewayUrl}/`);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stopAll(cfg, ui);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function signIn(key: string): Promise<void> {
  await page.fill("#key", key);
  await page.click("#usekey");
  await page.waitForFunction((addr) => document.getElementById("who")!.textContent!.startsWith(addr), new Wallet(key).address);
}

async function tab(name: string): Promise<void> {
  await page.click(`nav button[data-tab="${name}"]`);
}

describe("the portal in a browser", () => {
  it("lets a consumer decrypt her own readings in the page", async () => {
    const alice = consumerKeys(1);
    await signIn(alice.privateKey);
    expect(await page.textContent("#who")).toContain("consumer");
    await tab("consumer");
    await page.fill("#x25519", hexlify(alice.box.secretKey));
    await page.click("#loadReadings");
    await page.waitForSelector("#readings tbody tr");
    const cells = await page.$$eval("#readings tbody tr", (trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.textContent ?? "")));
    expect(cells.length).toBeGreaterThan(0);
    for (const row of cells) {
      expect(row[0]).toBe("1"); // meter 1
      expect(row[3]).toBe("QUARTER_HOURLY");
      expect(row[6]).toMatch(/^\d+\.\d{3} \(register\)$/); // opened, not 🔒
    }
    await page.screenshot({ path: path.join(os.tmpdir(), "sidegrid-portal-consumer.png") });
  });

  it("lets a consumer switch the utility off; BlockPRI records it and BlockSEC follows", async () => {
    const alice = consumerKeys(1);
    await page.fill('#prefForm input[name="utility"]', d.accounts.utility);
    await page.selectOption('#prefForm select[name="category"]', "CONSUMPTION");
    await page.uncheck('#prefForm input[name="allowed"]');
    dialogs.length = 0;
    await page.click("#prefForm button");
    const deadline = Date.now() + 20_000;
    while (dialogs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(dialogs[0]).toMatch(/^BlockPRI transaction 0x[0-9a-f]{64}: done$/);
    const pri = await connectNetwork({ config: cfg, network: "blockpri", privateKey: alice.privateKey, requireFunds: false });
    const sec = await connectNetwork({ config: cfg, network: "blocksec", privateKey: alice.privateKey, requireFunds: false });
    try {
      const ppc = new BlockPriClient({ sender: pri.sender, address: d.blockpri.ppc });
      expect(await ppc.getPreference(alice.address, d.accounts.utility, "CONSUMPTION")).toMatchObject({ allowed: false });
      const mirror = new BlockSecClient({ sender: sec.sender, addresses: d.blocksec });
      let permitted = true;
      for (let i = 0; i < 200 && permitted; i++) {
        permitted = await mirror.isPermitted({ consumer: alice.address, utility: d.accounts.utility, category: "CONSUMPTION", resolution: "MONTHLY" });
        if (permitted) await new Promise((r) => setTimeout(r, 50));
      }
      expect(permitted).toBe(false);
    } finally {
      pri.provider.destroy();
      sec.provider.destroy();
    }
  });

  it("shows a utility the refusal of a household that said no, recorded on the ledger", async () => {
    await signIn(roleKey(cfg, "utility"));
    expect(await page.textContent("#who")).toContain("distributor");
    await tab("utility");
    await page.fill('#accessForm input[name="consumer"]', consumerKeys(3).address);
    await page.fill('#accessForm input[name="from"]', "2020-01-01T00:00");
    await page.fill('#accessForm input[name="to"]', "2030-01-01T00:00");
    await page.click("#accessForm button");
    await page.waitForFunction(() => (document.getElementById("accessResult")!.textContent ?? "").length > 0);
    expect(await page.textContent("#accessResult")).toMatch(/^DENIED \(NOT_PERMITTED\) — recorded as entry #\d+/);
    // The court's view is not the utility's: the page says why instead of showing nothing.
    await tab("court");
    await page.fill('#courtForm input[name="consumer"]', consumerKeys(3).address);
    await page.click("#courtForm button");
    await page.waitForFunction(() => !["", "Auditing…"].includes(document.getElementById("courtVerdict")!.textContent ?? ""));
    expect(await page.textContent("#courtVerdict")).toMatch(/^Error: 403: .*AUDITOR/);
    await page.evaluate(() => (document.getElementById("courtVerdict")!.textContent = ""));
  });

  it("shows a court the verified history with the granted and the denied attempts", async () => {
    await signIn(roleKey(cfg, "court"));
    expect(await page.textContent("#who")).toContain("auditor");
    await tab("court");
    await page.fill('#courtForm input[name="consumer"]', consumerKeys(3).address);
    await page.click("#courtForm button");
    // The verdict (or the error the page shows in its place) comes before the rows.
    await page.waitForFunction(() => !["", "Auditing…"].includes(document.getElementById("courtVerdict")!.textContent ?? ""), undefined, { timeout: 60_000 });
    expect(await page.textContent("#courtVerdict")).toMatch(/^Chain verified: \d+ entries/);
    await page.waitForSelector("#courtLog tbody tr");
    const rows = await page.$$eval("#courtLog tbody tr", (trs) => trs.map((tr) => Array.from(tr.querySelectorAll("td")).map((td) => td.textContent ?? "")));
    const utility = d.accounts.utility;
    const byUtility = rows.filter((r) => r[1] === utility);
    // The demo's denied read and the portal's denied request, both by the utility.
    expect(byUtility.map((r) => [r[3], r[4]])).toEqual([
      ["no", "NOT_PERMITTED"],
      ["no", "NOT_PERMITTED"],
    ]);
    await page.screenshot({ path: path.join(os.tmpdir(), "sidegrid-portal-court.png") });
  });
});
