// Opens a dawn monitor report (REPORT_FILE, written by the Go test) in
// Chromium (CHROMIUM) from a file:// URL with every other request refused:
// the report must be readable offline. Checks the charts and tables with
// JavaScript on and off and saves SHOTS_DIR/monitor-report.png.
"use strict";
const assert = require("node:assert/strict");
const path = require("node:path");
const { pathToFileURL } = require("node:url");
const { chromium } = require("playwright-core");

const file = process.env.REPORT_FILE;
const shots = process.env.SHOTS_DIR;

async function open(browser, javaScriptEnabled) {
  const ctx = await browser.newContext({ javaScriptEnabled, viewport: { width: 1280, height: 900 } });
  const refused = [];
  await ctx.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:")) return route.continue();
    refused.push(url);
    return route.abort();
  });
  const page = await ctx.newPage();
  await page.goto(pathToFileURL(file).href);
  return { ctx, page, refused };
}

async function checkPage(page, refused, label) {
  assert.equal(await page.title(), "browser-test monitor", label + ": title");
  const svgs = await page.locator("svg").count();
  assert.ok(svgs >= 3, `${label}: ${svgs} charts, want at least 3 (drift over time, distributions, performance)`);
  // Each drawn chart has marks: paths, polylines, rects or circles.
  const marks = await page.locator("svg :is(path, polyline, rect, circle, line)").count();
  assert.ok(marks > 20, `${label}: ${marks} chart marks`);
  const body = await page.locator("body").innerText();
  assert.match(body, /country=CA, version=v3/, label + ": the planted segment is listed");
  assert.match(body, /\bx\b/, label + ": the drifting column is named");
  const rows = await page.locator("table tr").count();
  assert.ok(rows >= 4, `${label}: ${rows} table rows`);
  assert.deepEqual(refused, [], label + ": the report made network requests");
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ["--no-sandbox"] });
  try {
    const on = await open(browser, true);
    await checkPage(on.page, on.refused, "javascript on");
    await on.page.screenshot({ path: path.join(shots, "monitor-report.png"), fullPage: true });
    await on.ctx.close();
    const off = await open(browser, false);
    await checkPage(off.page, off.refused, "javascript off");
    await off.ctx.close();
    console.log("monitor report: charts, tables and segment present offline, with and without JavaScript");
  } finally {
    await browser.close();
  }
})().catch((err) => { console.error(err); process.exit(1); });
