// Browser tests of dawn's web console in real Chromium. The Go test in
// this folder starts a dawn server and runs this script with
// DAWN_URL (the server), CHROMIUM (the browser binary) and SHOTS_DIR
// (where each page's screenshot goes). It creates experiments, runs and
// models through the REST API, then checks the pages a person uses.
"use strict";
const assert = require("node:assert/strict");
const path = require("node:path");
const { chromium } = require("playwright-core");

const base = process.env.DAWN_URL;
const shots = process.env.SHOTS_DIR;
const results = { checks: [], timings: {} };

async function api(method, endpoint, body) {
  const url = base + "/api/2.0/mlflow/" + endpoint;
  const r = await fetch(url, { method, headers: { "Content-Type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${endpoint}: ${r.status} ${text}`);
  return JSON.parse(text || "{}");
}

function check(name, fn) { results.checks.push(name); return fn(); }

async function seed() {
  const { experiment_id: exp } = await api("POST", "experiments/create", { name: "browser-test" });
  await api("POST", "experiments/create", { name: "other-experiment" });
  const runs = {};
  const spec = [["run-a", "snorkel", "0.1", 0.81], ["run-b", "majority", "0.1", 0.86], ["run-c", "snorkel", "0.01", 0.77]];
  let t = Date.now() - 100000;
  for (const [name, method, lr, acc] of spec) {
    const { run } = await api("POST", "runs/create", { experiment_id: exp, run_name: name, start_time: t });
    const id = run.info.run_id;
    const metrics = [{ key: "accuracy", value: acc, timestamp: t + 10, step: 0 }];
    for (let s = 0; s < 300; s++) metrics.push({ key: "loss", value: 1 / (s + 1) + (name === "run-b" ? 0.1 : 0), timestamp: t + s * 10, step: s });
    // tokens seen: 2·step + 1, the x axis the chart can take instead of step.
    for (let s = 0; s < 300; s++) metrics.push({ key: "tokens", value: 2 * s + 1, timestamp: t + s * 10, step: s });
    await api("POST", "runs/log-batch", { run_id: id, params: [{ key: "method", value: method }, { key: "lr", value: lr }], metrics,
      tags: [{ key: "mlflow.note.content", value: "# " + name + "\nLabel model **" + method + "**" }] });
    await api("POST", "runs/update", { run_id: id, status: "FINISHED", end_time: t + 4000 });
    runs[name] = id;
    t += 1000;
  }
  await api("POST", "registered-models/create", { name: "spam-model" });
  for (const id of [runs["run-a"], runs["run-b"]]) await api("POST", "model-versions/create", { name: "spam-model", source: "mlflow-artifacts:/x/model", run_id: id });
  await api("POST", "registered-models/alias", { name: "spam-model", alias: "champion", version: "1" });
  return { exp, runs };
}

async function rowNames(page) {
  return page.$$eval("#runs tbody tr[data-run] td.name a:first-of-type", (as) => as.map((a) => a.textContent.trim()));
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });
}

(async () => {
  const { exp, runs } = await seed();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await page.goto(base + "/");
    await check("experiments list shows both experiments", async () => {
      const names = await page.$$eval("#experiments tbody td:nth-child(2) a", (as) => as.map((a) => a.textContent));
      assert.ok(names.includes("browser-test") && names.includes("other-experiment"), String(names));
    });
    await shot(page, "01-experiments");

    const t0 = Date.now();
    await page.goto(base + "/experiments/" + exp);
    results.timings.runs_page_interactive_ms = await page.evaluate(() => {
      const n = performance.getEntriesByType("navigation")[0];
      return Math.round(n.domInteractive - n.startTime);
    });
    results.timings.runs_page_goto_ms = Date.now() - t0;
    await check("runs table shows the runs newest first", async () => {
      assert.deepEqual(await rowNames(page), ["run-c", "run-b", "run-a"]);
    });
    await shot(page, "02-runs");

    await check("filter narrows the table", async () => {
      await page.fill("#filter-form input[name=filter]", "params.method = 'snorkel'");
      await Promise.all([page.waitForURL(/filter=/), page.click("#filter-form button")]);
      assert.deepEqual(await rowNames(page), ["run-c", "run-a"]);
      assert.match(page.url(), /filter=params\.method/); // the filter is in the URL
    });

    await check("sort by a metric, and toggle", async () => {
      await page.goto(base + "/experiments/" + exp);
      await Promise.all([page.waitForURL(/order=/), page.click('#runs th[data-col="metrics.accuracy"] a')]);
      assert.deepEqual(await rowNames(page), ["run-b", "run-a", "run-c"]);
      await Promise.all([page.waitForURL(/ASC/), page.click('#runs th[data-col="metrics.accuracy"] a')]);
      assert.deepEqual(await rowNames(page), ["run-c", "run-a", "run-b"]);
    });

    await check("column picker changes the columns", async () => {
      await page.goto(base + "/experiments/" + exp);
      const before = await page.$$eval("#runs th[data-col]", (ths) => ths.map((t) => t.dataset.col));
      assert.ok(before.includes("metrics.accuracy") && !before.includes("params.lr"), String(before));
      await page.click("#column-picker summary");
      // The shown columns start checked: add a param, drop the metrics.
      assert.ok(await page.isChecked('#column-picker input[value="metrics.accuracy"]'));
      await page.check('#column-picker input[value="params.lr"]');
      await page.uncheck('#column-picker input[value="metrics.accuracy"]');
      await page.uncheck('#column-picker input[value="metrics.loss"]');
      await page.uncheck('#column-picker input[value="metrics.tokens"]');
      await Promise.all([page.waitForURL(/cols=/), page.click("#column-picker button")]);
      const after = await page.$$eval("#runs th[data-col]", (ths) => ths.map((t) => t.dataset.col));
      assert.deepEqual(after, ["params.lr"]);
      const lrs = await page.$$eval("#runs tbody tr[data-run] td:last-child", (tds) => tds.map((t) => t.textContent));
      assert.deepEqual(lrs, ["0.01", "0.1", "0.1"]);
    });
    await shot(page, "03-runs-columns");

    await check("run page shows params, metrics and the rendered description", async () => {
      await page.goto(base + "/runs/" + runs["run-b"]);
      assert.equal(await page.textContent("#description h3"), "run-b");
      assert.equal(await page.textContent("#description strong"), "majority");
      assert.ok((await page.textContent("#params")).includes("majority"));
    });
    await shot(page, "04-run");

    await check("artifact preview shows a CSV as a table, explain draws support bars", async () => {
      const { run } = await api("GET", "runs/get?run_id=" + runs["run-a"]);
      const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\/*/, "");
      const csv = "usage,location\n2000,CA\n2000,CA\n2000,CA\n2000,CA\n10,CA\n10,NY\n10,NY\n10,NY\n10,NY\n10,NY\n";
      const put = await fetch(base + "/api/2.0/mlflow-artifacts/artifacts/" + root + "/sample.csv", { method: "PUT", body: csv });
      assert.equal(put.status, 200);
      await page.goto(base + "/runs/" + runs["run-a"] + "/artifact?path=sample.csv");
      assert.equal(await page.$$eval("#preview tbody tr", (trs) => trs.length), 10);
      await shot(page, "09-artifact-csv");
      await page.goto(base + "/runs/" + runs["run-a"] + "/explain");
      await page.fill("#explain-form textarea", "IMPORT FROM CSV FILE 'sample.csv' INTO sample(usage double, location string);\n" +
        "SELECT * FROM DIFF (SPLIT sample WHERE usage > 1000.0) ON location;");
      await Promise.all([page.waitForURL(/sql=/), page.click("#explain-form button")]);
      const rows = await page.$$eval("table.explanations tbody tr", (trs) => trs.map((tr) => tr.textContent));
      assert.equal(rows.length, 1);
      assert.ok(rows[0].includes("CA"), rows[0]);
      assert.ok(await page.$("table.explanations .bar"));
      await shot(page, "10-explain");
    });

    await check("metric chart draws one series", async () => {
      const t1 = Date.now();
      await page.goto(base + "/runs/" + runs["run-a"] + "/chart?key=loss");
      await page.waitForSelector('#chart[data-ready="1"]', { timeout: 10000 });
      results.timings.chart_300_points_ms = Date.now() - t1;
      assert.equal(await page.evaluate(() => window.dawnChart.series.length - 1), 1);
      assert.ok(await page.$("#chart canvas"));
      await page.fill("#smoothing", "0.9");
      await page.dispatchEvent("#smoothing", "input");
      assert.equal(await page.textContent("#smoothing-value"), "0.90");
    });
    await shot(page, "05-chart");

    await check("the x axis can be another metric: the drawn x values change to it", async () => {
      assert.deepEqual(await page.evaluate(() => Array.from(window.dawnChart.data[0]).slice(0, 3)), [0, 1, 2]);
      await page.selectOption("#xaxis", "metric:tokens");
      await page.waitForSelector('#chart[data-x="metric:tokens"][data-ready="1"]', { timeout: 10000 });
      // tokens = 2·step + 1 at every step of loss: x is 1, 3, 5, …, 599.
      const x = await page.evaluate(() => Array.from(window.dawnChart.data[0]));
      assert.equal(x.length, 300);
      assert.deepEqual(x.slice(0, 3), [1, 3, 5]);
      assert.equal(x[299], 599);
      await page.selectOption("#xaxis", "step");
      await page.waitForSelector('#chart[data-x="step"][data-ready="1"]', { timeout: 10000 });
      assert.deepEqual(await page.evaluate(() => Array.from(window.dawnChart.data[0]).slice(0, 3)), [0, 1, 2]);
    });

    await check("compare shows the differing param, curves and charts", async () => {
      await page.goto(base + "/experiments/" + exp);
      await page.check(`input[name=runs][value="${runs["run-a"]}"]`);
      await page.check(`input[name=runs][value="${runs["run-b"]}"]`);
      await Promise.all([page.waitForURL(/compare/), page.click("#compare-form button")]);
      assert.ok(await page.$('#diff tr.differs[data-key="params.method"]'), "method should differ");
      assert.equal(await page.$('#diff tr.differs[data-key="params.lr"]'), null, "lr is the same");
      const sel = await page.$eval("#compare-form, #diff", () => true).catch(() => true);
      assert.ok(sel);
      await page.goto(page.url() + "&key=loss");
      await page.waitForSelector('#chart[data-ready="1"]', { timeout: 10000 });
      assert.equal(await page.evaluate(() => window.dawnChart.series.length - 1), 2);
      await page.selectOption("#xaxis", "metric:tokens");
      await page.waitForSelector('#chart[data-x="metric:tokens"][data-ready="1"]', { timeout: 10000 });
      assert.deepEqual(await page.evaluate(() => Array.from(window.dawnChart.data[0]).slice(0, 3)), [1, 3, 5]);
      assert.equal(await page.evaluate(() => window.dawnChart.series.length - 1), 2);
      assert.equal(await page.getAttribute("#parallel", "data-lines"), "2");
      assert.ok(await page.$("#parallel canvas"));
      assert.equal(await page.getAttribute("#scatter", "data-points"), "2");
    });
    await shot(page, "06-compare");

    await check("an alias moved in the UI is visible through the REST API", async () => {
      await page.goto(base + "/models/spam-model");
      await page.fill('#alias-form input[name=alias]', "champion");
      await page.selectOption('#alias-form select[name=version]', "2");
      await Promise.all([page.waitForURL(/models\/spam-model$/), page.click("#alias-form button")]);
      const got = await api("GET", "registered-models/alias?name=spam-model&alias=champion");
      assert.equal(got.model_version.version, "2");
      assert.ok((await page.textContent("#aliases")).includes("version 2"));
    });
    await shot(page, "07-model");
    await page.goto(base + "/models");
    await shot(page, "08-models");

    await check("workbench shows where an LF fires, and an edited LF's coverage is the labeler's", async () => {
      const fs = require("node:fs");
      const { run } = await api("GET", "runs/get?run_id=" + runs["run-c"]);
      const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\/*/, "");
      for (const [dest, body] of [["model/lfs.yaml", process.env.LFS_FILE], ["comments.csv", fs.readFileSync(process.env.DATA_FILE)]]) {
        const r = await fetch(base + "/api/2.0/mlflow-artifacts/artifacts/" + root + "/" + dest, { method: "PUT", body });
        assert.equal(r.status, 200);
      }
      await page.goto(base + "/runs/" + runs["run-c"] + "/label?data=comments.csv");
      const fires = await page.$$eval('details.lf-examples[data-lf="kw_my"] table.fires tbody tr[data-row]', (trs) => trs.map((tr) => tr.dataset.row));
      assert.deepEqual(fires, ["0", "2", "4"]);
      // The label model's least confident rows are what
      // `dawn label inspect --show uncertain` prints (its rows 1-based).
      const uncertain = await page.$$eval("#uncertain tbody tr[data-row]", (trs) => trs.map((tr) =>
        [Number(tr.dataset.row) + 1, Array.from(tr.querySelectorAll("td.prob"), (td) => td.textContent)]));
      const cli = JSON.parse(process.env.EXPECT_UNCERTAIN);
      assert.ok(cli.length > 0);
      assert.deepEqual(uncertain, cli.map((r) => [r.row, ["ham", "spam"].map((c) => r.probs[c].toFixed(3))]));
      assert.ok((await page.textContent("#uncertain-model")).includes("fitted on this sample"));
      await shot(page, "11-workbench");
      await page.fill("#workbench-form textarea", process.env.LFS_EDITED);
      await Promise.all([page.waitForURL(/lfs_text=/), page.click("#workbench-form button")]);
      const cov = await page.$$eval("#lf-analysis tbody tr", (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.lf, tr.querySelector("td.coverage").textContent])));
      assert.deepEqual(cov, JSON.parse(process.env.EXPECT_COVERAGE));
      assert.ok(await page.$("#save-form"));
      await shot(page, "12-workbench-edited");
      await Promise.all([page.waitForURL(/\/runs\//), page.click("#save-form button")]);
      assert.ok((await page.textContent("h1")).includes("lfs edited from run-c"));
    });

    await check("with JavaScript disabled the runs table still renders", async () => {
      const noJS = await browser.newContext({ javaScriptEnabled: false });
      const p = await noJS.newPage();
      await p.goto(base + "/experiments/" + exp + "?order=" + encodeURIComponent("metrics.accuracy DESC") +
        "&filter=" + encodeURIComponent("attributes.run_name LIKE 'run-%'"));
      assert.deepEqual(await rowNames(p), ["run-b", "run-a", "run-c"]);
      await noJS.close();
    });
    assert.deepEqual(errors, [], "page errors");
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(results));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
