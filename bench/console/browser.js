// Times the console in headless Chromium against `consolebench serve`:
// the first runs page until it is interactive (domInteractive) and the
// 1,000,000-point chart from navigation until uPlot has drawn it.
// Run from web/browsertest (where playwright-core is installed):
//   node ../../bench/console/browser.js URL EXPERIMENT LONG_RUN
"use strict";
const { chromium } = require(require.resolve("playwright-core", { paths: [process.cwd()] }));
const [url, exp, run] = process.argv.slice(2);
(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const out = { runs_page_interactive_ms: [], chart_1M_drawn_ms: [] };
  for (let i = 0; i < 5; i++) {
    await page.goto(url + "/experiments/" + exp, { waitUntil: "domcontentloaded" });
    out.runs_page_interactive_ms.push(await page.evaluate(() => {
      const n = performance.getEntriesByType("navigation")[0];
      return Math.round(n.domInteractive - n.startTime);
    }));
    if (run) {
      const t = Date.now();
      await page.goto(url + "/runs/" + run + "/chart?key=loss");
      await page.waitForSelector('#chart[data-ready="1"]', { timeout: 60000 });
      out.chart_1M_drawn_ms.push(Date.now() - t);
    }
  }
  if (process.env.SHOTS_DIR) await page.screenshot({ path: process.env.SHOTS_DIR + "/chart-1M.png" });
  for (const k of Object.keys(out)) { const a = out[k].slice().sort((x, y) => x - y); out[k + "_median"] = a[Math.floor(a.length / 2)]; }
  console.log(JSON.stringify(out));
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
