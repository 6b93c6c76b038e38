// The auditor's page's behaviour: the trust settings the auditor controls
// (kept in this browser), the look-up of a tenant's days as a calendar
// (DESIGN.md §7a: the URL fragment, data-date, data-verdict, #verdict,
// data-done), each day's detail, and files dropped for an offline check.
// Every verdict is the WebAssembly verifier's (rootlog_web.js, the CLI's
// code); this file only fetches (evidence.js), asks, and shows.

import init, {
  checkDay, checkpointSize, describeTrust, verifierVersion, verifyFiles,
} from "./rootlog_web.js";
import { sourceFor } from "./evidence.js";

const STORE = "rootlog-trust/v1";
// The page's verdicts, worst last: the worst day decides the overall one,
// and a missing day counts as not verified (DESIGN.md §7a).
const RANK = ["verified", "unchecked", "late", "not-verified"];
const WORDS = {
  verified: "VERIFIED", late: "LATE", missing: "MISSING",
  "not-verified": "NOT VERIFIED", unchecked: "COULD NOT CHECK",
};
const MARKS = { verified: "✓", late: "LATE", missing: "—", "not-verified": "✗", unchecked: "?" };
const RESULT_WORDS = { pass: "passed", fail: "FAILED", unknown: "could not check" };

const $ = (id) => document.getElementById(id);
// Where the trust settings in the form came from: "link" (the URL
// fragment), "saved" (this browser), "file" (a file the auditor chose) or
// "typed"; shown beside them, and a link's flagged.
let trustSource = "saved";

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "tabindex") e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children);
  return e;
}

// ---- trust settings -------------------------------------------------------

/** The fragment as settings: tenant, from, to, log_key, witness*, quorum, max_delay. */
function readFragment() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  return {
    tenant: params.get("tenant") || "",
    from: params.get("from") || "",
    to: params.get("to") || "",
    log_key: params.get("log_key") || "",
    witnesses: params.getAll("witness"),
    quorum: params.get("quorum") ?? "",
    max_delay: params.get("max_delay") || "",
  };
}

function writeFragment(s) {
  const params = new URLSearchParams();
  for (const k of ["tenant", "from", "to", "log_key"]) params.set(k, s[k]);
  for (const w of s.witnesses) params.append("witness", w);
  if (s.quorum !== "") params.set("quorum", s.quorum);
  if (s.max_delay) params.set("max_delay", s.max_delay);
  history.replaceState(null, "", "#" + params.toString());
}

function saved() {
  try { return JSON.parse(localStorage.getItem(STORE) || "{}"); } catch { return {}; }
}

function fillForm(s) {
  $("log_key").value = s.log_key || "";
  $("witnesses").value = (s.witnesses || []).join("\n");
  $("quorum").value = s.quorum ?? "";
  $("max_delay").value = s.max_delay || "2d";
  if (s.tenant !== undefined) $("tenant").value = s.tenant || "";
  if (s.from !== undefined) $("from").value = s.from || "";
  if (s.to !== undefined) $("to").value = s.to || "";
}

function formSettings() {
  return {
    log_key: $("log_key").value.trim(),
    witnesses: $("witnesses").value.split("\n").map((w) => w.trim()).filter(Boolean),
    quorum: $("quorum").value.trim(),
    max_delay: $("max_delay").value.trim() || "2d",
    tenant: $("tenant").value.trim(),
    from: $("from").value,
    to: $("to").value,
  };
}

function trustJson(s) {
  return JSON.stringify({
    log_key: s.log_key,
    witnesses: s.witnesses,
    quorum: s.quorum === "" || s.quorum === null || s.quorum === undefined ? null : Number(s.quorum),
    max_delay: s.max_delay || "2d",
  });
}

/**
 * Shows what the page trusts, and where those values came from. Values
 * that came with the link (or the server that served it) are flagged: an
 * auditor must compare them with keys they hold themselves. Returns false
 * (and says why) when a setting is malformed.
 */
function showTrust(s, source) {
  const box = $("trusted");
  box.dataset.source = source;
  let described;
  try {
    described = JSON.parse(describeTrust(trustJson(s)));
  } catch (e) {
    box.dataset.valid = "false";
    box.replaceChildren(el("p", { class: "error", role: "alert" }, `The trust settings are not usable: ${e.message ?? e}`));
    return false;
  }
  box.dataset.valid = "true";
  const list = el("ul", {},
    el("li", {}, `Log key: ${described.log}`),
    el("li", {}, described.witnesses.length
      ? `Witnesses (${described.quorum} of ${described.witnesses.length} needed): ${described.witnesses.join(", ")}`
      : "No witnesses: only the log's own signature and timestamp are checked"),
    el("li", {}, `Maximum delay after the end of a day: ${described.max_delay}`));
  const warn = {
    link: "These keys came with the link you opened, that is from whoever sent it or from the server you are reading. Compare them with keys you hold yourself before you rely on a verdict.",
    file: "These keys were loaded from a file you chose.",
    saved: "These keys are the ones you saved in this browser.",
    typed: "These keys are the ones you entered.",
  }[source];
  box.replaceChildren(el("h3", {}, "What this page trusts"), list,
    el("p", { class: source === "link" ? "warning" : "note", role: source === "link" ? "alert" : "status" }, warn));
  return true;
}

async function loadTrustFile(file) {
  const text = (await file.text()).trim();
  let s;
  try {
    const j = JSON.parse(text);
    s = { log_key: j.log_key || "", witnesses: j.witnesses || [], quorum: j.quorum ?? "", max_delay: j.max_delay || "2d" };
  } catch {
    // A bare vkey file (log.vkey) sets the log key only.
    s = { ...formSettings(), log_key: text };
  }
  fillForm({ log_key: s.log_key, witnesses: s.witnesses, quorum: String(s.quorum ?? ""), max_delay: s.max_delay });
  trustSource = "file";
  if (showTrust(formSettings(), trustSource)) keepTrust(formSettings());
}

function keepTrust(s) {
  localStorage.setItem(STORE, JSON.stringify({ log_key: s.log_key, witnesses: s.witnesses, quorum: s.quorum, max_delay: s.max_delay }));
}

// ---- the calendar -----------------------------------------------------------

/** The days from..to inclusive, as YYYY-MM-DD (UTC), at most 366. */
function daysOf(from, to) {
  const out = [];
  const day = new Date(from + "T00:00:00Z");
  const end = new Date(to + "T00:00:00Z");
  while (!isNaN(day) && day <= end && out.length < 366) {
    out.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return out;
}

/** One month of the calendar: a heading and a seven-column list of days. */
function monthElement(month) {
  const name = new Date(month + "-01T00:00:00Z").toLocaleDateString("en", { month: "long", year: "numeric", timeZone: "UTC" });
  const list = el("ol", { class: "days", "aria-label": name });
  return { section: el("section", { class: "month" }, el("h3", {}, name), list), list };
}

function dayElement(date) {
  const button = el("button", { type: "button", "aria-label": `${date}: checking` },
    el("span", { class: "num" }, String(Number(date.slice(8)))), el("span", { class: "mark" }, "…"));
  const li = el("li", { "data-date": date }, button);
  // Monday-first columns.
  li.style.gridColumnStart = String(((new Date(date + "T00:00:00Z").getUTCDay() + 6) % 7) + 1);
  return li;
}

function setDay(li, verdict, result) {
  li.dataset.verdict = verdict;
  if (result?.failed?.length) li.dataset.failed = result.failed.join(" ");
  const button = li.querySelector("button");
  const when = result?.report?.statements?.[0]?.logged?.logged_by;
  const late = verdict === "late" && when ? ` (logged by ${when})` : "";
  const failed = result?.failed?.length ? ` (failed: ${result.failed.join(", ")})` : "";
  button.setAttribute("aria-label", `${li.dataset.date}: ${WORDS[verdict]}${late}${failed}`);
  button.title = button.getAttribute("aria-label");
  button.querySelector(".mark").textContent = MARKS[verdict];
  button.onclick = () => showDetail(li.dataset.date, verdict, result);
}

function checkItem(c) {
  return el("li", { class: `check-${c.result}`, "data-check": c.check, "data-result": c.result },
    el("strong", {}, `${c.check}: ${RESULT_WORDS[c.result] ?? c.result}`), ` — ${c.detail}`);
}

function showDetail(date, verdict, result) {
  const detail = $("detail");
  detail.replaceChildren();
  detail.dataset.date = date;
  detail.dataset.verdict = verdict;
  detail.append(el("h3", {}, `${date}: ${WORDS[verdict]}`));
  if (verdict === "missing") {
    detail.append(el("p", {}, `No statement of this tenant for this day in ${result?.source ?? "the log"}. ` +
      "A missing day counts as not verified: an archive publishes every day, records or not."));
  }
  const s = result?.report?.statements?.[0];
  if (s) {
    const dl = el("dl");
    const row = (k, v) => { if (v !== undefined && v !== null && v !== "") dl.append(el("dt", {}, k), el("dd", {}, String(v))); };
    row("Tenant", s.tenant);
    row("Entry", s.index);
    row("Records", s.records);
    row("Root", s.root);
    row("Chain head", s.chain);
    row("Logged by", s.logged ? `${s.logged.logged_by} (${s.logged.attested})${s.logged.late ? ", LATE" : ""}` : "");
    row("Read from", result.source);
    detail.append(dl);
  }
  const checks = [...(result?.report?.checks ?? []), ...(s?.checks ?? [])];
  if (checks.length) detail.append(el("h4", {}, "Checks"), el("ul", { class: "checks" }, ...checks.map(checkItem)));
  if (result?.error) detail.append(el("p", { class: "check-unknown" }, `Could not check: ${result.error}`));
  if (result?.statement) detail.append(el("h4", {}, "Statement, as logged"), el("pre", {}, result.statement));
  detail.focus();
}

async function run(s) {
  const overall = $("verdict");
  overall.dataset.done = "false";
  overall.dataset.verdict = "unchecked";
  overall.textContent = "Checking…";
  const calendar = $("days");
  calendar.replaceChildren();
  $("detail").replaceChildren(el("p", {}, "Choose a day to see its statement and each check."));
  if (!showTrust(s, trustSource)) {
    overall.textContent = "Fix the trust settings above to verify.";
    overall.dataset.done = "true";
    return;
  }
  const trust = trustJson(s);
  const memoryKey = `rootlog-checkpoint/v1 ${s.log_key}`;
  const days = daysOf(s.from, s.to);
  const months = new Map();
  const items = days.map((date) => {
    const month = date.slice(0, 7);
    if (!months.has(month)) {
      const m = monthElement(month);
      months.set(month, m);
      calendar.append(m.section);
    }
    const li = dayElement(date);
    months.get(month).list.append(li);
    return li;
  });
  let source = null;
  let sourceError = null;
  try {
    source = await sourceFor(s.tenant);
    $("source").textContent = `Read from ${source.describe} at ${new URL(".", window.location.href)}.`;
  } catch (e) {
    sourceError = String(e?.message ?? e);
  }
  let worst = 0;
  const counts = {};
  for (const li of items) {
    const date = li.dataset.date;
    let verdict = "unchecked";
    let result = { error: sourceError };
    if (source !== null) {
      try {
        const day = await source.day(date, localStorage.getItem(memoryKey));
        if (day === null) {
          verdict = "missing";
          result = { source: source.describe };
        } else {
          result = JSON.parse(checkDay(JSON.stringify(day), trust));
          result.source = source.describe;
          result.statement = day.statement;
          verdict = result.data_verdict;
          if (result.remember) remember(memoryKey, result.remember);
        }
      } catch (e) {
        // The source unreachable or an answer that does not parse: could not check.
        result = { error: String(e?.message ?? e), source: source.describe };
      }
    }
    setDay(li, verdict, result);
    counts[verdict] = (counts[verdict] ?? 0) + 1;
    worst = Math.max(worst, RANK.indexOf(verdict === "missing" ? "not-verified" : verdict));
  }
  const summary = Object.entries(counts).map(([v, n]) => `${n} ${WORDS[v].toLowerCase()}`).join(", ");
  overall.dataset.verdict = RANK[worst];
  overall.textContent = `${s.tenant}, ${s.from} to ${s.to}: ${WORDS[RANK[worst]]} (${summary})`;
  overall.dataset.done = "true";
}

/** Keeps the larger verified checkpoint as the one to check later ones against. */
function remember(key, note) {
  const before = localStorage.getItem(key);
  try {
    if (before && checkpointSize(before) > checkpointSize(note)) return;
  } catch { /* a damaged memory is replaced */ }
  localStorage.setItem(key, note);
}

// ---- offline files ------------------------------------------------------------

async function checkFiles(fileList) {
  const out = $("offline-verdict");
  const results = $("offline-results");
  out.dataset.done = "false";
  results.replaceChildren();
  const s = formSettings();
  if (!showTrust(s, trustSource)) {
    out.dataset.verdict = "unchecked";
    out.textContent = "Fix the trust settings above first.";
    out.dataset.done = "true";
    return;
  }
  const files = [];
  for (const f of fileList) files.push({ name: f.name, text: await f.text() });
  let answer;
  try {
    answer = JSON.parse(verifyFiles(JSON.stringify(files), trustJson(s)));
  } catch (e) {
    out.dataset.verdict = "unchecked";
    out.textContent = `Could not check the files: ${e.message ?? e}`;
    out.dataset.done = "true";
    return;
  }
  for (const c of answer.report.checks) results.append(checkItem(c));
  for (const [i, d] of answer.days.entries()) {
    const statement = answer.report.statements[i];
    const li = el("li", { "data-date": d.date, "data-verdict": d.data_verdict },
      el("strong", {}, `${d.tenant} ${d.date}: ${WORDS[d.data_verdict]}`),
      el("ul", { class: "checks" }, ...statement.checks.map(checkItem)));
    if (d.failed.length) li.dataset.failed = d.failed.join(" ");
    results.append(li);
  }
  out.dataset.verdict = answer.data_verdict;
  const what = answer.kind === "export" ? "The export and its receipts" : `${files.length} receipt file(s)`;
  out.textContent = `${what}: ${WORDS[answer.data_verdict]}, checked in this browser with no network.`;
  out.dataset.done = "true";
}

// ---- start ----------------------------------------------------------------------

async function main() {
  await init();
  $("verifier-version").textContent = verifierVersion();
  const fromUrl = readFragment();
  const urlHasTrust = fromUrl.log_key !== "";
  const keep = saved();
  const settings = urlHasTrust ? fromUrl : { ...fromUrl, ...keep, tenant: fromUrl.tenant, from: fromUrl.from, to: fromUrl.to };
  trustSource = urlHasTrust ? "link" : "saved";
  fillForm(settings);
  if (settings.log_key) showTrust(settings, trustSource);
  for (const id of ["log_key", "witnesses", "quorum", "max_delay"]) {
    $(id).addEventListener("input", () => { trustSource = "typed"; });
  }
  $("lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    const s = formSettings();
    if (!showTrust(s, trustSource)) return;
    keepTrust(s);
    writeFragment(s);
    run(s);
  });
  $("trust-file").addEventListener("change", (e) => { if (e.target.files[0]) loadTrustFile(e.target.files[0]); });
  $("offline-files").addEventListener("change", async (e) => {
    if (!e.target.files.length) return;
    await checkFiles([...e.target.files]);
    // The next choice is checked on its own, not added to this one.
    e.target.value = "";
  });
  const zone = $("dropzone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files.length) checkFiles(e.dataTransfer.files);
  });
  if (settings.tenant && settings.from && settings.to && settings.log_key) run(settings);
}

main().catch((e) => {
  const overall = $("verdict");
  overall.textContent = `The verifier could not start: ${e?.message ?? e}`;
  overall.dataset.verdict = "unchecked";
  overall.dataset.done = "true";
});
