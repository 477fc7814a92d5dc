// The dashboard and an HTML report in a real headless Chromium against a live `aiaudit serve`:
// sign in, see events arrive without reload, filter, open an event with its proof checked in
// the page, verify, show the usage report; each role sees only what it may; every view is in
// the access log. Screenshots go to target/screenshots/ (the README's come from there).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "../..");
const bin = process.env.AIAUDIT_BIN || join(root, "target/debug/aiaudit");
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = join(root, "target/screenshots");

if (!existsSync(bin)) {
  throw new Error(`no aiaudit binary at ${bin}: run \`cargo build -p aiaudit-cli\` or set AIAUDIT_BIN`);
}
if (!existsSync(browserPath)) {
  throw new Error(`no Chromium at ${browserPath}: install Debian's package (\`apt-get install chromium\`; scripts/test does) or set CHROMIUM`);
}

let dir, db, server, url, browser;
const tokens = {};

function cli(...args) {
  return execFileSync(bin, ["--db", db, ...args], { encoding: "utf8" });
}

function token(role, name) {
  const out = cli("token", "create", "--role", role, "--name", name);
  const m = out.match(/aiat_[0-9a-f]+_[0-9a-f]+/);
  assert.ok(m, `a token in: ${out}`);
  return m[0];
}

async function startServer() {
  const child = spawn(bin, ["--db", db, "serve", "--listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => { err += d; });
  const found = await new Promise((res, rej) => {
    let out = "";
    const t = setTimeout(() => rej(new Error(`aiaudit serve did not start in 20 s: ${out} ${err}`)), 20000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (\S+)/);
      if (m) { clearTimeout(t); res(m[1]); }
    });
    child.on("exit", (code) => rej(new Error(`aiaudit serve exited with ${code}: ${err}`)));
  });
  return { child, url: found };
}

async function post(events) {
  const resp = await fetch(`${url}/v1/events?wait=commit`, {
    method: "POST",
    headers: { Authorization: `Bearer ${tokens.ingest}`, "Content-Type": "application/json" },
    body: JSON.stringify(events),
  });
  assert.equal(resp.status, 201, await resp.text());
}

async function page(role) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const p = await context.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(e.message));
  p.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await p.goto(url);
  if (role) {
    await p.fill("#token", tokens[role]);
    await p.click("#signin-form button");
  }
  return { p, context, errors };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "aiaudit-browser-"));
  db = join(dir, "demo.db");
  cli("demo", "--predictions", "2000");
  tokens.audit = token("audit", "auditor");
  tokens.read = token("read", "analyst");
  tokens.ingest = token("ingest", "pipeline");
  ({ child: server, url } = await startServer());
  browser = await chromium.launch({
    executablePath: browserPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (server) {
    server.kill("SIGTERM");
    await new Promise((r) => server.on("exit", r));
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("an auditor signs in, sees events arrive, filters, opens an event with its proof checked, and verifies", async () => {
  const { p, context, errors } = await page("audit");
  await p.waitForSelector("#events tbody tr");
  // 50 from the first page; the auditor's own reads (access events) are left out by default.
  assert.ok(await p.locator("#events tbody tr").count() >= 50);
  const ownReads = '#events tbody tr:has-text("GET /v1/events"):has-text("auditor")';
  assert.equal(await p.textContent("#who"), "auditor (audit)");
  assert.match(await p.textContent("#checkpoint"), /^aiaudit\.local\/.*\n\d+\n/);
  await p.waitForSelector("#live:not([hidden])");

  // New events arrive without a reload.
  const marker = `browser-test-${Date.now()}`;
  await post([1, 2, 3].map((i) => ({ type: "drift", name: `${marker} #${i}`, status: "WARNING", model: { name: "credit-risk", version: "2.3.0" } })));
  await p.waitForSelector(`#events tbody tr:has-text("${marker} #3")`, { timeout: 10000 });
  assert.equal(await p.locator(`#events tbody tr:has-text("${marker}")`).count(), 3);
  const first = await p.locator("#events tbody tr").first().textContent();
  assert.ok(first.includes(`${marker} #3`), `newest first: ${first}`);
  assert.equal(await p.locator(ownReads).count(), 0, "the viewer's own reads are hidden by default");
  // Asked for, they show (the page's first load is one of them).
  await p.check("input[name=own_access]");
  await p.click("#filters button[type=submit]");
  await p.waitForSelector(ownReads, { timeout: 10000 });
  await p.uncheck("input[name=own_access]");

  // Filter by status: only FAILURE rows.
  await p.selectOption("select[name=status]", "FAILURE");
  await p.click("#filters button[type=submit]");
  // At least one row, and every row FAILURE: an empty table (between the clear and the
  // filtered answer) would pass `every` before the answer is in.
  await p.waitForFunction(() => {
    const cells = [...document.querySelectorAll("#events tbody tr td:nth-child(4)")];
    return cells.length > 0 && cells.every((td) => td.textContent === "FAILURE");
  }, null, { timeout: 5000 }).catch(async (e) => {
    console.log(await p.locator("#events tbody tr").allTextContents());
    throw e;
  });
  const failures = await p.locator("#events tbody tr").count();
  assert.equal(failures, 1, "the demo logs one failure");
  // Filtered live: a WARNING does not show, a FAILURE does.
  await post([{ type: "error", name: `${marker} warn`, status: "WARNING" }, { type: "error", name: `${marker} fail`, status: "FAILURE" }]);
  await p.waitForSelector(`#events tbody tr:has-text("${marker} fail")`, { timeout: 10000 });
  assert.equal(await p.locator(`#events tbody tr:has-text("${marker} warn")`).count(), 0);

  // Filter by model and user together.
  await p.selectOption("select[name=status]", "");
  await p.fill("input[name=user]", "maria.validator");
  await p.click("#filters button[type=submit]");
  await p.waitForFunction(() => document.querySelectorAll("#events tbody tr").length === 1);
  assert.match(await p.locator("#events tbody tr").first().textContent(), /evaluation/);

  // Open the event: the record shown is the one proven, its leaf, path and the checkpoint
  // signature are checked in the page.
  await p.locator("#events tbody tr").first().click();
  await p.waitForSelector("#proof p:nth-child(4)");
  const proof = await p.locator("#proof p").allTextContents();
  assert.equal(proof.length, 4, proof.join("\n"));
  for (const l of proof) assert.ok(l.startsWith("✓"), l);
  assert.match(await p.textContent("#record"), /"type": "evaluation"/);

  // A wrong verifier key makes the signature check fail, visibly.
  const kept = await p.inputValue("#vkey");
  await p.fill("#vkey", "aiaudit.local/other+00000000+AQ" + "A".repeat(42) + "=");
  await p.locator("#events tbody tr").first().click();
  await p.waitForSelector("#proof p:nth-child(4)");
  assert.ok((await p.locator("#proof p").nth(3).textContent()).startsWith("✗"));
  await p.fill("#vkey", kept);

  // Verify now.
  await p.click("#verify");
  await p.waitForSelector("#verify-result.ok", { timeout: 60000 });
  assert.match(await p.textContent("#verify-result"), /Intact: 2,0\d\d entries/);

  // The usage report's charts, in German.
  await p.click("#filters button[type=reset]");
  await p.fill("#report-form input[name=model]", "credit-risk");
  await p.selectOption("#report-form select[name=lang]", "de");
  await p.click("#report-form button");
  await p.waitForSelector("#report:not([hidden])");
  const frame = p.frameLocator("#report");
  await frame.locator("svg").first().waitFor();
  assert.equal(await frame.locator("h1").textContent(), "Modellnutzung: credit-risk, letzte 30 Tage");
  assert.ok(await frame.locator("figure svg").count() >= 4, "four charts");

  // An idle auditor's page reads nothing by itself: its own reads arrive on its stream, and
  // must not set off another read each.
  const checkpointReads = () => cli("query", "--type", "access", "--user", "auditor", "--limit", "0", "--format", "jsonl")
    .trim().split("\n").filter((l) => JSON.parse(l).details.route === "GET /v1/checkpoint").length;
  await p.waitForTimeout(4000);
  const before = checkpointReads();
  await p.waitForTimeout(7000);
  assert.equal(checkpointReads(), before, "no checkpoint reads while idle");

  await p.locator("#detail").evaluate((e) => { e.hidden = true; });
  await p.evaluate(() => window.scrollTo(0, 0));
  await p.screenshot({ path: join(shots, "dashboard.png") });
  assert.deepEqual(errors, []);
  await context.close();

  // Every view above is in the access log, as the auditor.
  const access = cli("query", "--type", "access", "--user", "auditor", "--limit", "0", "--format", "jsonl")
    .trim().split("\n").map((l) => JSON.parse(l));
  const routes = new Set(access.map((a) => a.details.route));
  for (const r of ["GET /v1/events", "GET /v1/stream", "GET /v1/events/{target}", "GET /v1/proofs/inclusion",
    "GET /v1/checkpoint", "GET /v1/verify", "GET /v1/reports/{kind}"]) {
    assert.ok(routes.has(r), `${r} recorded; have ${[...routes].join(", ")}`);
  }
});

test("the lineage view opens from a prediction and walks back to its training data", async () => {
  const { p, context, errors } = await page("audit");
  await p.waitForSelector("#events tbody tr");
  await p.fill("input[name=type]", "model_inference");
  await p.click("#filters button[type=submit]");
  await p.waitForFunction(() => {
    const cells = [...document.querySelectorAll("#events tbody tr td:nth-child(3)")];
    return cells.length > 0 && cells.every((td) => td.textContent === "model_inference");
  }, null, { timeout: 10000 });
  await p.locator("#events tbody tr").first().click();
  await p.waitForFunction(() => document.getElementById("record").textContent.includes('"model_inference"'));
  await p.click("#detail-lineage");
  await p.waitForSelector("#lineage-graph svg g.node", { timeout: 10000 });
  // The whole chain: the prediction, its deployment and model version, the training run, the
  // features and the raw data they were made from.
  const kinds = await p.locator("#lineage-graph g.node text.kind").allTextContents();
  for (const k of ["model_inference", "deployment", "model", "model_training", "data_transformation", "dataset"]) {
    assert.ok(kinds.includes(k), `${k} on the graph: ${kinds.join(", ")}`);
  }
  const labels = await p.locator("#lineage-graph g.node text.label").allTextContents();
  assert.ok(labels.some((l) => l.startsWith("credit-risk@2.3.0")), labels.join(", "));
  assert.equal(await p.locator("#lineage-graph g.node.target").count(), 1, "the prediction is marked");
  assert.ok(await p.locator("#lineage-graph path.edge").count() >= 5);
  assert.match(await p.textContent("#lineage-summary"), /\d+ events, \d+ artifacts, \d+ links/);
  // Every node lies inside the drawing, none on top of another.
  const boxes = await p.locator("#lineage-graph g.node rect").evaluateAll((rs) => rs.map((r) => [+r.getAttribute("x"), +r.getAttribute("y")]));
  assert.equal(new Set(boxes.map((b) => b.join())).size, boxes.length, "no two nodes in one place");
  // Clicking the training run opens it, with its proof checked.
  await p.locator('#lineage-graph g.node.event:has(text.kind:text-is("model_training"))').click();
  await p.waitForFunction(() => document.getElementById("record").textContent.includes('"model_training"'));
  await p.waitForSelector("#proof p:nth-child(4)");
  for (const l of await p.locator("#proof p").allTextContents()) assert.ok(l.startsWith("✓"), l);
  // From there, downstream reaches the deployment and predictions again.
  await p.click("#detail-lineage");
  await p.waitForFunction(() => document.getElementById("lineage-target").textContent !== "" &&
    [...document.querySelectorAll("#lineage-graph g.node.target text.kind")].some((t) => t.textContent === "model_training"));
  const after = await p.locator("#lineage-graph g.node text.kind").allTextContents();
  assert.ok(after.includes("model_inference") && after.includes("evaluation"), after.join(", "));
  await p.locator("#lineage").screenshot({ path: join(shots, "dashboard-lineage.png") });
  // A target that names nothing is a clear error.
  await p.evaluate(() => lineage("no-such-thing-anywhere"));
  await p.waitForFunction(() => document.getElementById("lineage-error").textContent !== "");
  assert.match(await p.textContent("#lineage-error"), /no-such-thing-anywhere/);
  assert.deepEqual(errors.filter((e) => !e.includes("404")), []);
  await context.close();
  const access = cli("query", "--type", "access", "--user", "auditor", "--limit", "0", "--format", "jsonl")
    .trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(access.some((a) => a.details.route === "GET /v1/lineage/{target}"), "lineage reads are audited");
});

test("a read token sees events but no proofs, verification or access log; an ingest token sees nothing", async () => {
  const reader = await page("read");
  await reader.p.waitForSelector("#events tbody tr");
  assert.equal(await reader.p.textContent("#who"), "analyst (read)");
  assert.equal(await reader.p.locator("#verify").isVisible(), false);
  assert.equal(await reader.p.locator("#vkey").isVisible(), false);
  await reader.p.fill("input[name=type]", "access");
  await reader.p.click("#filters button[type=submit]");
  await reader.p.waitForFunction(() => document.getElementById("filter-error").textContent !== "");
  assert.match(await reader.p.textContent("#filter-error"), /needs role audit/);
  await reader.p.fill("input[name=type]", "");
  await reader.p.click("#filters button[type=submit]");
  await reader.p.waitForSelector("#events tbody tr");
  await reader.p.locator("#events tbody tr").first().click();
  await reader.p.waitForFunction(() => document.getElementById("record").textContent.startsWith("{"));
  assert.equal(await reader.p.locator("#proof p").count(), 0, "no proof for read");
  // The refused access-log query is the one failed load.
  assert.deepEqual(reader.errors.filter((e) => !e.includes("403")), []);
  await reader.context.close();

  const writer = await page("ingest");
  await writer.p.waitForSelector("#noread:not([hidden])");
  assert.equal(await writer.p.locator("#app").isVisible(), false);
  await writer.context.close();

  const stranger = await page(null);
  await stranger.p.fill("#token", "aiat_000000000000_" + "0".repeat(64));
  await stranger.p.click("#signin-form button");
  await stranger.p.waitForFunction(() => document.getElementById("signin-error").textContent !== "");
  assert.match(await stranger.p.textContent("#signin-error"), /token/i);
  await stranger.context.close();
});

test("HTML reports render offline in every language, with their charts", async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1400 }, offline: true });
  const p = await context.newPage();
  const requests = [];
  p.on("request", (r) => requests.push(r.url()));
  for (const [kind, args, lang, title] of [
    ["usage", ["--model", "credit-risk"], "en", "Model usage: credit-risk, last 30 days"],
    ["ai-act", [], "fr", "Tenue des registres selon le règlement européen sur l’IA (AI Act)"],
    ["integrity", [], "de", "Integrität des Protokolls"],
    ["operations", [], "en", "Operations and audit trails"],
    ["lineage", ["--model", "credit-risk@2.3.0"], "de", "Herkunft: credit-risk@2.3.0"],
  ]) {
    const file = join(dir, `${kind}-${lang}.html`);
    cli("report", kind, ...args, "--format", "html", "--lang", lang, "--output", file);
    requests.length = 0;
    await p.goto(`file://${file}`);
    assert.equal(await p.locator("h1").textContent(), title);
    assert.equal(await p.locator("script").count(), 0);
    assert.deepEqual(requests.filter((r) => !r.startsWith("file:")), [], "nothing fetched");
    if (kind === "usage") {
      assert.equal(await p.locator("figure svg").count(), 4);
      await p.screenshot({ path: join(shots, "report-usage.png"), fullPage: false });
      const pdf = await p.pdf({ format: "A4" });
      assert.ok(pdf.length > 10000, "prints to PDF");
    }
    if (kind === "integrity") assert.match(await p.locator(".verdict").textContent(), /unversehrt/);
    if (kind === "lineage") {
      assert.match(await p.locator(".verdict.ok").first().textContent(), /signierten Checkpoint/);
      assert.equal(await p.locator("figure.graph svg").count(), 1);
      assert.ok(await p.locator("figure.graph svg rect").count() >= 6, "the chain's nodes");
      await p.screenshot({ path: join(shots, "report-lineage.png"), fullPage: true });
    }
  }
  await context.close();
});

test("hostile event text executes nothing in the dashboard, and every HTML answer carries the browser's defences", async () => {
  const payloads = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=2</script>",
    '</style><svg onload="window.__pwned=3"></svg>',
    '"><iframe src="javascript:window.__pwned=4"></iframe>',
    "[click](javascript:window.__pwned=5)",
    "\u001b]0;pwned\u0007 \u202eevil",
  ];
  await post(payloads.map((text) => ({
    name: text, type: "hostile", details: { note: text },
    model: { name: "hostile-model", version: text }, actor: { user: text },
  })));
  const { p, context, errors } = await page("audit");
  const dialogs = [];
  p.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss(); });
  await p.fill("input[name=type]", "hostile");
  await p.click("#filters button[type=submit]");
  await p.waitForFunction((n) => document.querySelectorAll("#events tbody tr").length === n, payloads.length);
  for (let i = 0; i < payloads.length; i++) {
    await p.locator("#events tbody tr").nth(i).click();
    await p.waitForFunction(() => document.getElementById("record").textContent.includes("hostile"));
  }
  // The names are shown as text, exactly.
  const shown = await p.locator("#events tbody").textContent();
  assert.ok(shown.includes("<script>window.__pwned=2</script>"), shown);
  await p.fill("#report-form input[name=model]", "hostile-model");
  await p.click("#report-form button");
  await p.waitForSelector("#report:not([hidden])");
  await p.frameLocator("#report").locator("h1").waitFor();
  await p.waitForTimeout(500);
  assert.equal(await p.evaluate(() => window.__pwned), undefined, "an injected script ran");
  assert.deepEqual(dialogs, []);
  assert.equal(await p.locator("img[src=x], svg[onload], iframe[src^=javascript], a[href^=javascript]").count(), 0);
  const injected = await p.frameLocator("#report").locator("img, script, svg[onload], iframe, a[href^=javascript]").count();
  assert.equal(injected, 0, "elements injected into the report");
  // The token lives in sessionStorage, never in the address.
  assert.equal(await p.evaluate(() => sessionStorage.getItem("aiaudit-token")), tokens.audit);
  assert.ok(!p.url().includes(tokens.audit));
  assert.deepEqual(errors, []);
  await context.close();

  const auth = { Authorization: `Bearer ${tokens.audit}` };
  for (const [path, headers, html] of [
    ["/", {}, true],
    ["/v1/reports/usage?model=hostile-model&format=html", auth, true],
    ["/v1/checkpoint", auth, false],
    ["/no/such/route", {}, false],
  ]) {
    const resp = await fetch(`${url}${path}`, { headers });
    assert.equal(resp.headers.get("x-content-type-options"), "nosniff", path);
    assert.equal(resp.headers.get("referrer-policy"), "no-referrer", path);
    if (html) {
      const csp = resp.headers.get("content-security-policy") || "";
      assert.match(csp, /default-src 'none'/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.doesNotMatch(csp, /script-src[^;]*(unsafe-inline|https?:|\*)/, path);
    }
    await resp.arrayBuffer();
  }
});
