// The console behind --auth and --static-prefix in real Chromium. The Go
// test in this folder starts the server (server.Run, as `dawn server
// --auth --static-prefix /mlflow`) and runs this script with DAWN_ADDR
// (host:port), CHROMIUM, SHOTS_DIR and ADMIN_PASSWORD.
"use strict";
const assert = require("node:assert/strict");
const path = require("node:path");
const { chromium } = require("playwright-core");

const addr = process.env.DAWN_ADDR;
const base = "http://" + addr + "/mlflow";
const admin = { username: "admin", password: process.env.ADMIN_PASSWORD };
const reader = { username: "reader", password: "reader-password-1" };
const checks = [];

async function api(method, endpoint, body, who = admin) {
  const r = await fetch(base + "/api/2.0/mlflow/" + endpoint, {
    method, body: body ? JSON.stringify(body) : undefined,
    headers: { "Content-Type": "application/json", Authorization: "Basic " + Buffer.from(who.username + ":" + who.password).toString("base64") },
  });
  const text = await r.text();
  return { status: r.status, body: JSON.parse(text || "{}") };
}

async function ok(method, endpoint, body) {
  const r = await api(method, endpoint, body);
  if (r.status !== 200) throw new Error(`${method} ${endpoint}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

function check(name, fn) { checks.push(name); return fn(); }

(async () => {
  const { experiment_id: exp } = await ok("POST", "experiments/create", { name: "auth-test" });
  const { run } = await ok("POST", "runs/create", { experiment_id: exp, run_name: "guarded", start_time: Date.now() });
  const metrics = [];
  for (let s = 0; s < 50; s++) metrics.push({ key: "loss", value: 1 / (s + 1), timestamp: Date.now(), step: s });
  await ok("POST", "runs/log-batch", { run_id: run.info.run_id, metrics, params: [{ key: "lr", value: "0.1" }] });
  await ok("POST", "registered-models/create", { name: "guarded-model" });
  await ok("POST", "model-versions/create", { name: "guarded-model", source: "mlflow-artifacts:/x/model", run_id: run.info.run_id });
  await ok("POST", "users/create", reader);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const errors = [];
    const rctx = await browser.newContext({ httpCredentials: reader, viewport: { width: 1280, height: 900 } });
    const rp = await rctx.newPage();
    rp.on("pageerror", (e) => errors.push(e.message));

    await check("a READ user sees the pages under the prefix without edit controls", async () => {
      await rp.goto(base + "/");
      const names = await rp.$$eval("#experiments tbody td:nth-child(2) a", (as) => as.map((a) => a.textContent));
      assert.ok(names.includes("auth-test"), String(names));
      assert.equal((await rp.$$('form[action*="/rename"], form[action*="/delete"]')).length, 0);
      await rp.goto(base + "/experiments/" + exp);
      const links = await rp.$$eval("#runs tbody td.name a", (as) => as.map((a) => a.getAttribute("href")));
      assert.deepEqual(links, ["/mlflow/runs/" + run.info.run_id]);
      await rp.goto(base + "/models/guarded-model");
      assert.equal(await rp.$("#alias-form"), null);
      assert.equal((await rp.$$('form[method="post"]')).length, 0);
      await rp.screenshot({ path: path.join(process.env.SHOTS_DIR, "13-reader-model.png"), fullPage: true });
    });

    await check("the chart's scripts and data load under the prefix", async () => {
      await rp.goto(base + "/runs/" + run.info.run_id + "/chart?key=loss");
      await rp.waitForSelector('#chart[data-ready="1"]', { timeout: 10000 });
      assert.equal(await rp.evaluate(() => window.dawnChart.series.length - 1), 1);
    });

    await check("a READ user's change is refused and nothing changes", async () => {
      await rp.goto(base + "/models/guarded-model");
      const status = await rp.evaluate(async () => (await fetch("/mlflow/models/guarded-model/alias",
        { method: "POST", body: new URLSearchParams({ alias: "champion", version: "1" }) })).status);
      assert.equal(status, 403);
      assert.equal((await api("GET", "registered-models/alias?name=guarded-model&alias=champion")).status, 404);
    });

    const actx = await browser.newContext({ httpCredentials: admin });
    const ap = await actx.newPage();
    ap.on("pageerror", (e) => errors.push(e.message));
    await check("the admin sees the edit controls", async () => {
      await ap.goto(base + "/models/guarded-model");
      assert.ok(await ap.$("#alias-form"));
      await ap.goto(base + "/");
      assert.ok((await ap.$$('form[action*="/rename"]')).length > 0);
    });

    await check("a cross-site form POST is refused (CSRF), a same-origin one works", async () => {
      const port = addr.split(":").pop();
      // localhost and 127.0.0.1 are different sites to the browser.
      await ap.goto("http://localhost:" + port + "/mlflow/");
      const post = (action, name) => ap.evaluate(([action, name]) => {
        const f = document.createElement("form");
        f.method = "POST";
        f.action = action;
        const i = document.createElement("input");
        i.name = "name";
        i.value = name;
        f.appendChild(i);
        document.body.appendChild(f);
        f.submit();
      }, [action, name]);
      const [res] = await Promise.all([ap.waitForNavigation(), post(base + "/experiments/create", "csrf-evil")]);
      assert.equal(res.status(), 403);
      assert.equal((await api("GET", "experiments/get-by-name?experiment_name=csrf-evil")).status, 404);
      await ap.goto(base + "/");
      const [res2] = await Promise.all([ap.waitForNavigation(), post(base + "/experiments/create", "same-origin-ok")]);
      assert.equal(res2.status(), 200);
      assert.equal((await api("GET", "experiments/get-by-name?experiment_name=same-origin-ok")).status, 200);
    });
    assert.deepEqual(errors, [], "page errors");
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify({ checks }));
})().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
