// The auditor's page's behaviour: reads the URL fragment (DESIGN.md §7a),
// keeps the auditor's trust settings in this browser, fetches each day's
// evidence from the log the page is served by, and asks the WebAssembly
// verifier (rootlog_web.js, built from web/ by wasm-bindgen) for every
// verdict. It never decides a verdict itself: it only maps the verifier's
// answer onto the page's hooks (data-date, data-verdict, #verdict,
// data-done), which browser tests and screen readers rely on.

import init, { checkDay, keyChangeIndexes, parseProof, verifierVersion } from "./rootlog_web.js";

const STORE = "rootlog-trust/v1";
// The page's verdicts, worst last: the worst day decides the overall one,
// and a missing day counts as not verified (DESIGN.md §7a).
const RANK = ["verified", "unchecked", "late", "not-verified"];
const WORDS = {
  verified: "VERIFIED", late: "LATE", missing: "MISSING",
  "not-verified": "NOT VERIFIED", unchecked: "COULD NOT CHECK",
};

const $ = (id) => document.getElementById(id);
// The log or mirror is where the page itself is served from.
const base = new URL(".", window.location.href);

/** The fragment as settings: tenant, from, to, log_key, witness*, quorum, max_delay. */
function readFragment() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  return {
    tenant: params.get("tenant") || "",
    from: params.get("from") || "",
    to: params.get("to") || "",
    log_key: params.get("log_key") || "",
    witnesses: params.getAll("witness"),
    quorum: params.get("quorum"),
    max_delay: params.get("max_delay") || "",
  };
}

function writeFragment(s) {
  const params = new URLSearchParams();
  for (const k of ["tenant", "from", "to", "log_key"]) params.set(k, s[k]);
  for (const w of s.witnesses) params.append("witness", w);
  if (s.quorum !== null && s.quorum !== "") params.set("quorum", s.quorum);
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
  $("tenant").value = s.tenant || "";
  $("from").value = s.from || "";
  $("to").value = s.to || "";
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
    quorum: s.quorum === null || s.quorum === "" ? null : Number(s.quorum),
    max_delay: s.max_delay || "2d",
  });
}

/** The days from..to inclusive, as YYYY-MM-DD (UTC), at most 366. */
function daysOf(from, to) {
  const out = [];
  const day = new Date(from + "T00:00:00Z");
  const end = new Date(to + "T00:00:00Z");
  while (day <= end && out.length < 366) {
    out.push(day.toISOString().slice(0, 10));
    day.setUTCDate(day.getUTCDate() + 1);
  }
  return out;
}

async function get(path, as) {
  const res = await fetch(new URL(path, base), { cache: "no-store" });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return as === "text" ? res.text() : res.json();
}

/** The evidence of one day from the log's API, or null when it has no statement. */
async function evidence(tenant, date, remembered) {
  const t = encodeURIComponent(tenant);
  const root = await get(`v1/roots/${t}/${date}`);
  if (root === null) return null;
  const proof = JSON.parse(parseProof(await get(`v1/roots/${t}/${date}/proof`, "text")));
  const size = Number(/^[^\n]*\n(\d+)\n/.exec(proof.checkpoint)?.[1] ?? 0);
  const record = await get(`v1/tenants/${t}`);
  const key_history = [];
  if (record !== null) {
    for (const index of JSON.parse(keyChangeIndexes(JSON.stringify(record), BigInt(size)))) {
      const entry = await get(`v1/entries/${index}`);
      const incl = await get(`v1/proof/inclusion?index=${index}&size=${size}`);
      key_history.push({ index, entry: entry.statement, inclusion_proof: incl.inclusion_proof });
    }
  }
  const day = {
    tenant, date, statement: root.statement, index: proof.index,
    inclusion_proof: proof.inclusion_proof, checkpoint: proof.checkpoint, key_history,
  };
  if (remembered) {
    const old = Number(/^[^\n]*\n(\d+)\n/.exec(remembered)?.[1] ?? 0);
    const [a, b] = old <= size ? [old, size] : [size, old];
    const consistency_proof = a > 0 && a < b
      ? (await get(`v1/proof/consistency?old=${a}&new=${b}`)).consistency_proof : [];
    day.previous = { checkpoint: remembered, consistency_proof };
  }
  return day;
}

function dayElement(date) {
  const li = document.createElement("li");
  li.dataset.date = date;
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = `${date}: checking…`;
  li.append(button);
  return li;
}

function setDay(li, verdict, result) {
  li.dataset.verdict = verdict;
  const button = li.querySelector("button");
  const when = result?.report?.statements?.[0]?.logged?.logged_by;
  button.textContent = `${li.dataset.date}: ${WORDS[verdict]}${verdict === "late" && when ? ` (logged by ${when})` : ""}`;
  button.onclick = () => showDetail(li.dataset.date, verdict, result);
}

function showDetail(date, verdict, result) {
  const detail = $("detail");
  detail.replaceChildren();
  const h = document.createElement("h3");
  h.textContent = `${date}: ${WORDS[verdict]}`;
  detail.append(h);
  const s = result?.report?.statements?.[0];
  if (s) {
    const p = document.createElement("p");
    p.textContent = `${s.records ?? "?"} records, root ${s.root ?? "?"}` +
      (s.chain ? `, chain head ${s.chain}` : "") + (s.logged ? `; logged by ${s.logged.logged_by}` : "");
    detail.append(p);
  }
  const list = document.createElement("ul");
  const checks = [...(result?.report?.checks ?? []), ...(s?.checks ?? [])];
  for (const c of checks) {
    const li = document.createElement("li");
    li.className = `check-${c.result}`;
    li.textContent = `${c.check}: ${c.result === "pass" ? "ok" : c.result === "fail" ? "FAILED" : "not checked"} — ${c.detail}`;
    list.append(li);
  }
  if (result?.error) {
    const li = document.createElement("li");
    li.className = "check-unknown";
    li.textContent = `log: not checked — ${result.error}`;
    list.append(li);
  }
  detail.append(list);
  detail.focus();
}

async function run(s) {
  const overall = $("verdict");
  overall.dataset.done = "false";
  overall.dataset.verdict = "unchecked";
  overall.textContent = "Checking…";
  const days = $("days");
  days.replaceChildren();
  const trust = trustJson(s);
  const memoryKey = `rootlog-checkpoint/v1 ${s.log_key}`;
  let worst = 0;
  for (const date of daysOf(s.from, s.to)) {
    const li = dayElement(date);
    days.append(li);
    let verdict = "unchecked";
    let result = null;
    try {
      const day = await evidence(s.tenant, date, localStorage.getItem(memoryKey));
      if (day === null) {
        verdict = "missing";
      } else {
        result = JSON.parse(checkDay(JSON.stringify(day), trust));
        verdict = result.data_verdict;
        if (result.remember) localStorage.setItem(memoryKey, result.remember);
      }
    } catch (e) {
      // The log unreachable or an answer that does not parse: could not check.
      result = { error: String(e?.message ?? e) };
    }
    setDay(li, verdict, result);
    worst = Math.max(worst, RANK.indexOf(verdict === "missing" ? "not-verified" : verdict));
  }
  overall.dataset.verdict = RANK[worst];
  overall.textContent = `${s.tenant}, ${s.from} to ${s.to}: ${WORDS[RANK[worst]]}`;
  overall.dataset.done = "true";
}

function describeTrust(s, source) {
  $("trust-note").textContent = source === "url"
    ? "The keys above came from the link you opened. Check them against keys you hold yourself."
    : "";
}

async function main() {
  await init();
  $("verifier-version").textContent = verifierVersion();
  const fromUrl = readFragment();
  const urlHasTrust = fromUrl.log_key !== "";
  const settings = urlHasTrust ? fromUrl : { ...saved(), ...Object.fromEntries(
    Object.entries(fromUrl).filter(([, v]) => v !== "" && v !== null && !(Array.isArray(v) && v.length === 0))) };
  fillForm(settings);
  describeTrust(settings, urlHasTrust ? "url" : "storage");
  $("lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    const s = formSettings();
    localStorage.setItem(STORE, JSON.stringify({ log_key: s.log_key, witnesses: s.witnesses, quorum: s.quorum, max_delay: s.max_delay }));
    writeFragment(s);
    describeTrust(s, "form");
    run(s);
  });
  if (settings.tenant && settings.from && settings.to && settings.log_key) run(settings);
}

main().catch((e) => {
  const overall = $("verdict");
  overall.textContent = `The verifier could not start: ${e?.message ?? e}`;
  overall.dataset.verdict = "unchecked";
  overall.dataset.done = "true";
});
