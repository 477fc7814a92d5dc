// The aiaudit dashboard: signs in with an API token, lists and filters events, follows new
// ones over server-sent events, checks an event's inclusion proof and the checkpoint's
// signature in the page, walks an event's lineage, runs a verification, and shows the usage
// report. Every data view is
// an API call the server records as an access event. Text from the log is only ever set as
// textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
// The list leaves out the viewer's own reads (each is an access event) unless asked for them.
const DEFAULT_FILTERS = { own_access: "false" };
const state = { token: null, who: null, filters: { ...DEFAULT_FILTERS }, oldest: null, newest: null, stream: null, shown: 0, generation: 0, shownSeq: null };

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(path, opts = {}) {
  const resp = await fetch(path, {
    ...opts,
    headers: { Authorization: `Bearer ${state.token}`, ...(opts.headers || {}) },
  });
  if (!resp.ok) {
    let body = null;
    try { body = await resp.json(); } catch (_) { /* not JSON */ }
    throw new ApiError(resp.status, body);
  }
  return resp;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  return q.toString();
}

// ---- sign in -------------------------------------------------------------------------------

async function signIn(token) {
  state.token = token;
  const who = await (await api("/v1/whoami")).json();
  state.who = who;
  sessionStorage.setItem("aiaudit-token", token);
  $("signin").hidden = true;
  $("signout").hidden = false;
  $("who").textContent = `${who.name} (${who.role})`;
  $("origin").textContent = who.origin;
  document.body.classList.toggle("audit", who.audit);
  if (!who.read) {
    $("noread").hidden = false;
    return;
  }
  $("app").hidden = false;
  const kept = localStorage.getItem(`aiaudit-vkey:${who.origin}`);
  $("vkey").value = kept || who.verifier_key;
  await Promise.all([load(), loadCheckpoint()]);
}

function signOut() {
  sessionStorage.removeItem("aiaudit-token");
  if (state.stream) state.stream.abort();
  location.reload();
}

// ---- the timeline --------------------------------------------------------------------------

function row(r, fresh) {
  const tr = document.createElement("tr");
  tr.dataset.seq = r.seq;
  const cells = [r.seq, r.time.replace("T", " ").slice(0, 23), r.type, r.status, r.name,
    r.model ? `${r.model.name} ${r.model.version || ""}`.trim() : "",
    (r.actor && (r.actor.user || r.actor.service)) || ""];
  cells.forEach((c, i) => {
    const td = document.createElement("td");
    td.textContent = String(c);
    if (i === 3) td.className = `status s-${r.status}`;
    tr.appendChild(td);
  });
  if (fresh) tr.classList.add("new");
  tr.addEventListener("click", () => show(r.seq));
  return tr;
}

function updateCount() {
  $("count").textContent = `${state.shown.toLocaleString()} shown`;
}

async function load() {
  // The old filter's stream must not add to the new list, nor an older load's late answer.
  if (state.stream) { state.stream.abort(); state.stream = null; }
  const generation = ++state.generation;
  $("filter-error").textContent = "";
  const body = $("events").tBodies[0];
  body.replaceChildren();
  state.shown = 0;
  state.oldest = null;
  try {
    const page = await (await api(`/v1/events?${query({ ...state.filters, order: "desc", limit: 50 })}`)).json();
    if (generation !== state.generation) return;
    for (const r of page.events) body.appendChild(row(r, false));
    state.shown = page.events.length;
    state.oldest = page.next_cursor || null;
    state.newest = page.events.length ? page.events[0].seq : null;
    $("more").hidden = !page.next_cursor;
  } catch (e) {
    if (generation === state.generation) $("filter-error").textContent = e.message;
    return;
  }
  updateCount();
  follow();
}

async function older() {
  if (!state.oldest) return;
  const page = await (await api(`/v1/events?${query({ ...state.filters, order: "desc", limit: 50, cursor: state.oldest })}`)).json();
  const body = $("events").tBodies[0];
  for (const r of page.events) body.appendChild(row(r, false));
  state.shown += page.events.length;
  state.oldest = page.next_cursor || null;
  $("more").hidden = !page.next_cursor;
  updateCount();
}

// Follows new events over server-sent events, read through fetch so that the token goes in a
// header (EventSource cannot send one). Reconnects after the last seq seen.
async function follow() {
  if (state.stream) state.stream.abort();
  if (state.filters.until) { $("live").hidden = true; return; }
  const ctrl = new AbortController();
  state.stream = ctrl;
  const { since, until, ...live } = state.filters;
  let after = state.newest;
  while (!ctrl.signal.aborted) {
    try {
      const params = { ...live };
      if (after !== null && after !== undefined) params.after = after;
      const resp = await api(`/v1/stream?${query(params)}`, { signal: ctrl.signal });
      $("live").hidden = false;
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const msg = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const fields = { event: "message", data: "" };
          for (const line of msg.split("\n")) {
            const i = line.indexOf(":");
            if (i <= 0) continue;
            const k = line.slice(0, i);
            const v = line.slice(i + 1).replace(/^ /, "");
            fields[k] = k === "data" ? fields.data + v : v;
          }
          if (fields.event === "events") {
            const records = JSON.parse(fields.data);
            after = Number(fields.id);
            if (state.stream === ctrl) arrived(records);
          } else if (fields.event === "error") {
            throw new Error(JSON.parse(fields.data).error.message);
          }
        }
      }
    } catch (e) {
      if (ctrl.signal.aborted) return;
      $("live").hidden = true;
      if (e instanceof ApiError && e.status < 500) { $("filter-error").textContent = e.message; return; }
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

let checkpointTimer = null;
function arrived(records) {
  const body = $("events").tBodies[0];
  for (const r of records) body.insertBefore(row(r, true), body.firstChild);
  state.shown += records.length;
  if (records.length) state.newest = records[records.length - 1].seq;
  // Keeps the page light however long it stays open; "Older events" goes on from the last
  // row kept.
  if (body.rows.length > 1000) {
    while (body.rows.length > 1000) body.deleteRow(-1);
    state.shown = body.rows.length;
    state.oldest = body.rows[body.rows.length - 1].dataset.seq;
    $("more").hidden = false;
  }
  updateCount();
  // New events mean a new checkpoint. Reading it is itself an access event, which an auditor's
  // stream delivers: those never trigger another read, or the page would loop.
  const news = records.some((r) => r.type !== "access");
  if (news && !checkpointTimer) checkpointTimer = setTimeout(() => { checkpointTimer = null; loadCheckpoint(); }, 3000);
}

async function loadCheckpoint() {
  try {
    $("checkpoint").textContent = await (await api("/v1/checkpoint")).text();
  } catch (e) {
    $("checkpoint").textContent = e.message;
  }
}

// ---- one event and its proof ---------------------------------------------------------------

async function show(seq) {
  state.shownSeq = seq;
  $("detail").hidden = false;
  $("detail-seq").textContent = `#${seq}`;
  $("record").textContent = "…";
  $("proof").replaceChildren();
  try {
    const text = await (await api(`/v1/events/${seq}`)).text();
    const entry = JSON.parse(text);
    $("record").textContent = JSON.stringify(entry.record, null, 2);
    if (state.who.audit) await checkProof(seq, rawRecord(text));
  } catch (e) {
    $("record").textContent = e.message;
  }
  $("detail").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

function line(ok, text) {
  const p = document.createElement("p");
  p.className = ok ? "ok" : "bad";
  p.textContent = `${ok ? "✓" : "✗"} ${text}`;
  $("proof").appendChild(p);
  return ok;
}

const enc = new TextEncoder();
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const hex = (u) => Array.from(u, (b) => b.toString(16).padStart(2, "0")).join("");

async function sha256(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(len);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

// RFC 9162 §2.1.3.2: the root an inclusion proof leads to from a leaf hash.
async function rootFromInclusion(index, size, leaf, proof) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  let r = leaf;
  const node = new Uint8Array([1]);
  for (const p of proof) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(node, p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = await sha256(node, r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

// A C2SP signed note checked against a verifier key `name+keyid+base64(0x01 ‖ ed25519 key)`.
async function checkNote(note, vkey) {
  // name+keyid+key, where the base64 key may itself hold "+".
  const m = vkey.trim().match(/^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/);
  if (!m) throw new Error("the verifier key is not name+keyid+key");
  const [, name, keyHex, keyB64] = m;
  const key = b64(keyB64);
  if (key.length !== 33 || key[0] !== 1) throw new Error("the verifier key is not an Ed25519 key");
  const split = note.indexOf("\n\n");
  if (split < 0) throw new Error("the checkpoint has no signature");
  const body = note.slice(0, split + 1);
  // A checkpoint names its log on its first line, which must be the key's name.
  if (body.split("\n")[0] !== name) return null;
  const sigs = note.slice(split + 2).split("\n").filter((l) => l.startsWith(`— ${name} `));
  const pub = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
  for (const s of sigs) {
    const raw = b64(s.slice(`— ${name} `.length));
    if (hex(raw.slice(0, 4)) !== keyHex) continue;
    if (await crypto.subtle.verify({ name: "Ed25519" }, pub, raw.slice(4), enc.encode(body))) return body;
  }
  return null;
}

// The record exactly as sealed, from an answer whose last member is `record`: the raw JSON
// after that member's key (the members before it are numbers and strings, whose quotes are
// escaped, so the first match is the key).
function rawRecord(text) {
  const at = text.indexOf('"record":');
  return text.slice(at + '"record":'.length, text.lastIndexOf("}"));
}

async function checkProof(seq, shown) {
  const resp = await api(`/v1/proofs/inclusion?seq=${seq}`);
  const text = await resp.text();
  const proof = JSON.parse(text);
  const recordText = rawRecord(text);
  // What is proven must be what is shown, byte for byte.
  line(recordText === shown, "the record shown is the record proven");
  const leaf = await sha256(new Uint8Array([0]), enc.encode(recordText));
  line(hex(leaf) === hex(b64(proof.leaf_hash)), `leaf hash recomputed from the record: ${hex(leaf).slice(0, 16)}…`);
  // The tree size comes from the signed checkpoint, never from the server's word alone.
  const lines = proof.checkpoint.split("\n");
  const size = Number(lines[1]);
  const sized = Number.isSafeInteger(size) && size === proof.tree_size && seq < size && proof.seq === seq;
  const root = sized ? await rootFromInclusion(seq, size, leaf, proof.proof.map(b64)) : null;
  const ok = root !== null && hex(root) === hex(b64(lines[2]));
  line(ok, `inclusion proof (${proof.proof.length} hashes) of seq ${seq} leads to the root of the signed checkpoint at size ${lines[1]}`);
  try {
    const body = await checkNote(proof.checkpoint, $("vkey").value);
    line(body !== null, body !== null ? "checkpoint signature valid for the verifier key" : "checkpoint signature does not match the verifier key");
  } catch (e) {
    line(false, `checkpoint signature not checked: ${e.message}`);
  }
}

// ---- verify --------------------------------------------------------------------------------

async function verify() {
  const bar = $("verify-progress");
  const out = $("verify-result");
  out.textContent = "Verifying…";
  out.className = "";
  bar.hidden = false;
  bar.value = 0;
  $("verify").disabled = true;
  try {
    const resp = await api("/v1/verify");
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.total) bar.value = msg.checked / msg.total;
        if (msg.result) {
          const r = msg.result;
          out.className = r.intact ? "ok" : "bad";
          out.textContent = r.intact
            ? `✓ Intact: ${r.entries.toLocaleString()} entries, ${r.checkpoints.toLocaleString()} signed checkpoints checked.`
            : `✗ Not intact: first bad seq ${r.first_bad_seq}. ${r.findings[0] || ""}`;
        }
        if (msg.error) { out.className = "bad"; out.textContent = msg.error.message; }
      }
    }
  } catch (e) {
    out.className = "bad";
    out.textContent = e.message;
  } finally {
    bar.hidden = true;
    $("verify").disabled = false;
  }
}

// ---- lineage -------------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";
const BOX = { w: 210, h: 44, gx: 70, gy: 14, m: 12 };

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

const nodeId = (n) => (n.node === "event" ? `e${n.seq}` : `a:${n.key}`);
const short = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

// Each node's column: the longest path to it from a node without inputs; the relaxation runs at
// most once per node, so a graph with a cycle still gets a layout.
function columns(ids, edges) {
  const col = new Map(ids.map((id) => [id, 0]));
  for (let round = 0; round < ids.length; round++) {
    let changed = false;
    for (const e of edges) {
      const a = col.get(e.from), b = col.get(e.to);
      if (a === undefined || b === undefined) continue;
      if (b < a + 1 && a + 1 < ids.length) { col.set(e.to, a + 1); changed = true; }
    }
    if (!changed) break;
  }
  return col;
}

function drawLineage(g) {
  const nodes = new Map();
  for (const e of Object.values(g.events)) {
    nodes.set(`e${e.seq}`, { kind: e.type, label: `#${e.seq} ${e.name}`, seq: e.seq, status: e.status });
  }
  for (const [key, a] of Object.entries(g.artifacts)) {
    nodes.set(`a:${key}`, { kind: a.kind, label: a.version ? `${a.name}@${a.version}` : a.name, key });
  }
  const targets = new Set(g.targets.map(nodeId));
  const edges = g.edges.map((e) => ({ from: nodeId(e.from), to: nodeId(e.to), relation: e.relation }));
  const col = columns([...nodes.keys()], edges);
  const rows = new Map();
  const pos = new Map();
  for (const [id] of nodes) {
    const c = col.get(id);
    const r = rows.get(c) || 0;
    rows.set(c, r + 1);
    pos.set(id, { x: BOX.m + c * (BOX.w + BOX.gx), y: BOX.m + r * (BOX.h + BOX.gy) });
  }
  const ncol = Math.max(1, ...[...rows.keys()].map((c) => c + 1));
  const nrow = Math.max(1, ...rows.values());
  const w = 2 * BOX.m + ncol * BOX.w + (ncol - 1) * BOX.gx;
  const h = 2 * BOX.m + nrow * (BOX.h + BOX.gy);
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img", "aria-label": "Lineage graph" });
  const defs = svgEl("defs", {});
  const marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.appendChild(svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: "#64748b" }));
  defs.appendChild(marker);
  svg.appendChild(defs);
  for (const e of edges) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + BOX.w, y1 = a.y + BOX.h / 2, x2 = b.x, y2 = b.y + BOX.h / 2;
    const mid = (x1 + x2) / 2;
    const d = x2 > x1 ? `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`
      : `M${x1},${y1} C${x1 + 40},${Math.max(y1, y2) + BOX.h} ${x2 - 40},${Math.max(y1, y2) + BOX.h} ${x2},${y2}`;
    const path = svgEl("path", { d, class: "edge", "marker-end": "url(#arrow)" });
    path.appendChild(svgEl("title", {}, e.relation));
    svg.appendChild(path);
  }
  for (const [id, n] of nodes) {
    const p = pos.get(id);
    const cls = ["node", n.seq !== undefined ? "event" : "artifact", targets.has(id) ? "target" : "", n.status ? `s-${n.status}` : ""].join(" ").trim();
    const grp = svgEl("g", { class: cls, "data-id": id });
    grp.appendChild(svgEl("title", {}, n.seq !== undefined ? `${n.kind}: ${n.label}` : `${n.kind} ${n.key}`));
    grp.appendChild(svgEl("rect", { x: p.x, y: p.y, width: BOX.w, height: BOX.h, rx: 6 }));
    grp.appendChild(svgEl("text", { x: p.x + 8, y: p.y + 15, class: "kind" }, short(n.kind, 32)));
    grp.appendChild(svgEl("text", { x: p.x + 8, y: p.y + 33, class: "label" }, short(n.label, 30)));
    if (n.seq !== undefined) {
      grp.setAttribute("tabindex", "0");
      grp.addEventListener("click", () => show(n.seq));
      grp.addEventListener("keydown", (ev) => { if (ev.key === "Enter") show(n.seq); });
    }
    svg.appendChild(grp);
  }
  $("lineage-graph").replaceChildren(svg);
  const parts = [`${nodes.size - Object.keys(g.artifacts).length} events, ${Object.keys(g.artifacts).length} artifacts, ${edges.length} links`];
  for (const [key, listed] of Object.entries(g.truncated || {})) parts.push(`${key}: first ${listed} listed`);
  $("lineage-summary").textContent = parts.join("; ");
}

async function lineage(target) {
  $("lineage").hidden = false;
  $("lineage-target").textContent = `#${target}`;
  $("lineage-error").textContent = "";
  $("lineage-summary").textContent = "…";
  $("lineage-graph").replaceChildren();
  try {
    drawLineage(await (await api(`/v1/lineage/${encodeURIComponent(target)}`)).json());
  } catch (e) {
    $("lineage-summary").textContent = "";
    $("lineage-error").textContent = e.message;
  }
  $("lineage").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

// ---- the usage report ----------------------------------------------------------------------

async function report(ev) {
  ev.preventDefault();
  const f = new FormData(ev.target);
  $("report-error").textContent = "";
  try {
    const html = await (await api(`/v1/reports/usage?${query({ model: f.get("model"), days: f.get("days"), lang: f.get("lang"), format: "html" })}`)).text();
    const frame = $("report");
    frame.srcdoc = html;
    frame.hidden = false;
  } catch (e) {
    $("report-error").textContent = e.message;
  }
}

// ---- wiring --------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("signin-error").textContent = "";
    try {
      await signIn($("token").value.trim());
    } catch (e) {
      state.token = null;
      $("signin-error").textContent = e.message;
    }
  });
  $("signout").addEventListener("click", signOut);
  $("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = Object.fromEntries([...new FormData(ev.target)].filter(([, v]) => v !== ""));
    state.filters = { ...DEFAULT_FILTERS, ...form };
    load();
  });
  $("filters").addEventListener("reset", () => { state.filters = { ...DEFAULT_FILTERS }; setTimeout(load, 0); });
  $("more").addEventListener("click", older);
  $("verify").addEventListener("click", verify);
  $("detail-close").addEventListener("click", () => { $("detail").hidden = true; });
  $("detail-lineage").addEventListener("click", () => lineage(state.shownSeq));
  $("lineage-close").addEventListener("click", () => { $("lineage").hidden = true; });
  $("report-form").addEventListener("submit", report);
  $("vkey").addEventListener("change", () => {
    if (state.who) localStorage.setItem(`aiaudit-vkey:${state.who.origin}`, $("vkey").value.trim());
  });
  const kept = sessionStorage.getItem("aiaudit-token");
  if (kept) signIn(kept).catch(() => sessionStorage.removeItem("aiaudit-token"));
});
