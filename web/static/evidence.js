// The page's fetching: one tenant's day of evidence for the verifier, from
// wherever the page is served. Two sources give the same evidence:
//
// - the log's API (`GET /v1/roots/{tenant}/{date}` and friends), when the
//   page is served by the log itself;
// - a static mirror (`--publish-dir`, `--publish-url`, `rootlog publish`)
//   or object storage: the tenant's locators say where each day's statement
//   is and which checkpoint covers it, and the statement and every proof
//   are read out of entry bundles and hash tiles (docs/locators.md).
//
// Nothing fetched here is trusted: which tiles to read, and how they fold
// into proofs, is the verifier's (rootlog_web.js), and everything gathered
// is judged by checkDay. A source that lies makes a day fail, never pass.

import {
  bundleFor, checkpointSize, entryFromBundle, keyChangeIndexes, proofFromTiles, proofTiles,
} from "./rootlog_web.js";

// The log or mirror is where the page itself is served from.
const base = new URL(".", window.location.href);

/** GET `path` below the page's directory: the body, or null on 404. */
async function get(path, as) {
  const res = await fetch(new URL(path, base), { cache: "no-store" });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  if (as === "bytes") return new Uint8Array(await res.arrayBuffer());
  return as === "text" ? res.text() : res.json();
}

function base64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** A partial tile or bundle, or (once it is superseded) the full one. */
async function tileBody(fetchSpec) {
  const body = await get(fetchSpec.path, "bytes")
    ?? (fetchSpec.width < 256 ? await get(fetchSpec.full_path, "bytes") : null);
  if (body === null) throw new Error(`${fetchSpec.path}: not found on the mirror`);
  return base64(body);
}

/** Reads the log's API: GET /v1/tenants/{t} answers JSON there, found or not. */
async function detect(tenant) {
  const res = await fetch(new URL(`v1/tenants/${encodeURIComponent(tenant)}`, base), { cache: "no-store" });
  const json = (res.headers.get("content-type") || "").startsWith("application/json");
  if (json && (res.ok || res.status === 404)) {
    return new LogSource(tenant, res.ok ? await res.json() : null);
  }
  return new MirrorSource(tenant);
}

/** The evidence of the log's API. */
class LogSource {
  constructor(tenant, record) {
    this.kind = "log";
    this.describe = "the log's API";
    this.t = encodeURIComponent(tenant);
    this.record = record;
  }

  async day(tenant, date) {
    // The answer's checkpoint is the earliest witnessed one covering the
    // entry (what bounds when it was logged), its proof into that one.
    const root = await get(`v1/roots/${this.t}/${date}`);
    if (root === null) return null;
    const size = checkpointSize(root.checkpoint);
    const key_history = [];
    if (this.record !== null) {
      for (const index of JSON.parse(keyChangeIndexes(JSON.stringify(this.record), size))) {
        const entry = await get(`v1/entries/${index}`);
        const incl = await get(`v1/proof/inclusion?index=${index}&size=${size}`);
        key_history.push({ index, entry: entry.statement, inclusion_proof: incl.inclusion_proof });
      }
    }
    return {
      tenant, date, statement: root.statement, index: root.index,
      inclusion_proof: root.inclusion_proof, checkpoint: root.checkpoint, key_history,
    };
  }

  async consistency(old, size) {
    return (await get(`v1/proof/consistency?old=${old}&new=${size}`)).consistency_proof;
  }
}

/** The evidence of a static mirror: locators, entry bundles and tiles. */
class MirrorSource {
  constructor(tenant) {
    this.kind = "mirror";
    this.describe = "a static mirror (locators, entry bundles and tiles)";
    this.t = encodeURIComponent(tenant);
    this.months = new Map();
    this.keys = undefined;
  }

  async month(month) {
    if (!this.months.has(month)) this.months.set(month, get(`locator/${this.t}/${month}`));
    return this.months.get(month);
  }

  async entry(index, size) {
    const spec = JSON.parse(bundleFor(BigInt(index), size));
    return entryFromBundle(BigInt(index), size, await tileBody(spec));
  }

  async proof(kind, a, b) {
    const specs = JSON.parse(proofTiles(kind, BigInt(a), BigInt(b)));
    const bodies = [];
    for (const spec of specs) bodies.push(await tileBody(spec));
    return JSON.parse(proofFromTiles(kind, BigInt(a), BigInt(b), JSON.stringify(bodies)));
  }

  async day(tenant, date) {
    const locator = await this.month(date.slice(0, 7));
    const found = locator?.days?.find((d) => d.date === date);
    if (!found) return null;
    const size = checkpointSize(found.checkpoint);
    if (this.keys === undefined) this.keys = await get(`locator/${this.t}/keys`);
    const key_history = [];
    for (const index of this.keys?.key_changes ?? []) {
      if (BigInt(index) >= size) continue;
      key_history.push({
        index,
        entry: await this.entry(index, size),
        inclusion_proof: await this.proof("inclusion", index, size),
      });
    }
    return {
      tenant, date, index: found.index, checkpoint: found.checkpoint, key_history,
      statement: await this.entry(found.index, size),
      inclusion_proof: await this.proof("inclusion", found.index, size),
    };
  }

  async consistency(old, size) {
    return this.proof("consistency", old, size);
  }
}

/**
 * The source for `tenant` and a function giving one day's evidence (null
 * when the source has no statement for it), with `previous` (the checkpoint
 * this browser remembers and a consistency proof to it) when one is known
 * and the proof could be had.
 */
export async function sourceFor(tenant) {
  const source = await detect(tenant);
  return {
    kind: source.kind,
    describe: source.describe,
    async day(date, remembered) {
      const day = await source.day(tenant, date);
      if (day === null || !remembered) return day;
      try {
        const a = checkpointSize(remembered);
        const b = checkpointSize(day.checkpoint);
        const [old, size] = a <= b ? [a, b] : [b, a];
        const consistency_proof = old > 0n && old < size ? await source.consistency(old, size) : [];
        day.previous = { checkpoint: remembered, consistency_proof };
      } catch {
        // No proof to be had (the remembered tree is beyond what this
        // mirror has published): the day is judged without it, and the
        // remembered checkpoint is kept.
      }
      return day;
    },
  };
}
