//! Read scenarios: `proofs` (inclusion proofs at random indexes) and `tiles`
//! (random full level-0 tiles, c2sp.org/tlog-tiles paths).

use std::sync::Arc;
use std::time::Duration;

use rootlog::merkle::{verify_inclusion, Hash};
use rootlog::note::{decode_hash_b64, Checkpoint, Note};

use crate::conn::{describe, Conns};
use crate::driver::{closed_loop, http_client, Step};
use crate::rng::Rng;
use crate::stats::{report, ResultLine};

/// Tree size and root of the log's current checkpoint (signature not checked:
/// the benchmark measures the server, correctness is the test suite's job).
pub async fn checkpoint(http: &reqwest::Client, log: &str) -> anyhow::Result<(u64, Hash)> {
    let response = http.get(format!("{log}/checkpoint")).send().await?;
    anyhow::ensure!(
        response.status().is_success(),
        "GET /checkpoint answered {}",
        response.status()
    );
    let text = response.bytes().await?;
    let note = Note::parse(&text).map_err(|e| anyhow::anyhow!("checkpoint: {e}"))?;
    let checkpoint = Checkpoint::parse(&note.text).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((checkpoint.size, checkpoint.root))
}

pub struct ReadArgs {
    pub log: String,
    pub clients: usize,
    pub duration: Duration,
    /// Check one answer in this many against the checkpoint (0: never).
    pub verify_every: u64,
    pub seed: u64,
}

/// Checks an inclusion answer against the checkpoint root.
fn check_inclusion(body: &[u8], index: u64, size: u64, root: &Hash) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| "bad_json".to_string())?;
    let leaf = v["leaf_hash"]
        .as_str()
        .and_then(decode_hash_b64)
        .ok_or("bad_leaf_hash")?;
    let proof: Vec<Hash> = v["inclusion_proof"]
        .as_array()
        .ok_or("no_proof")?
        .iter()
        .map(|h| h.as_str().and_then(decode_hash_b64).ok_or("bad_proof_hash"))
        .collect::<Result<_, _>>()?;
    verify_inclusion(index, size, &leaf, &proof, root).map_err(|_| "proof_does_not_verify".into())
}

pub async fn proofs(args: ReadArgs) -> anyhow::Result<()> {
    let log = Arc::new(args.log.trim_end_matches('/').to_string());
    let http = http_client(args.clients);
    let (size, root) = checkpoint(&http, &log).await?;
    anyhow::ensure!(
        size > 0,
        "the log is empty: load it first (rootlog-bench load)"
    );
    let (seed, every) = (args.seed, args.verify_every);
    let conns = Conns::new(&log, args.clients)?;
    let run = closed_loop(args.clients, args.duration, move |client, n| {
        let conns = conns.clone();
        async move {
            let index = Rng::new(seed ^ ((client as u64) << 40) ^ n).below(size);
            let path = format!("/v1/proof/inclusion?index={index}&size={size}");
            match conns.get(client, &path).await {
                Ok(a) if a.status == 200 && every > 0 && n % every == 0 => {
                    match check_inclusion(&a.body, index, size, &root) {
                        Ok(()) => Step::Ok,
                        Err(e) => Step::Err(e),
                    }
                }
                Ok(a) if a.status == 200 => Step::Ok,
                Ok(a) => Step::Err(describe(&a)),
                Err(e) => Step::Err(e.into()),
            }
        }
    })
    .await;
    report(&format!("proofs (tree size {size})"), &run.rec, run.elapsed);
    ResultLine::new("proofs")
        .field("clients", args.clients)
        .field("tree_size", size)
        .summary(&run.rec, run.elapsed)
        .print();
    Ok(())
}

/// Hashes per full tile (tlog-tiles height 8).
pub const TILE_WIDTH: u64 = 256;

/// The tlog-tiles path of tile `n` at `level`: `tile/<L>/<N>` with N in
/// 3-digit groups, every group but the last prefixed by `x`.
pub fn tile_path(level: u8, n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    format!("tile/{level}/{}", groups.join("/"))
}

pub async fn tiles(args: ReadArgs) -> anyhow::Result<()> {
    let log = Arc::new(args.log.trim_end_matches('/').to_string());
    let http = http_client(args.clients);
    let (size, _) = checkpoint(&http, &log).await?;
    let full = size / TILE_WIDTH;
    let skip = |why: &str| {
        eprintln!("tiles: skipped: {why}");
        ResultLine::new("tiles")
            .field("skipped", why)
            .field("tree_size", size)
            .print();
    };
    if full == 0 {
        skip("fewer than 256 entries");
        return Ok(());
    }
    let probe = http
        .get(format!("{log}/{}", tile_path(0, 0)))
        .send()
        .await?;
    match probe.status().as_u16() {
        200 => {}
        404 => {
            skip("endpoint missing");
            return Ok(());
        }
        other => anyhow::bail!("GET /{} answered {other}", tile_path(0, 0)),
    }
    let seed = args.seed;
    let conns = Conns::new(&log, args.clients)?;
    let run = closed_loop(args.clients, args.duration, move |client, n| {
        let conns = conns.clone();
        async move {
            let tile = Rng::new(seed ^ ((client as u64) << 40) ^ n).below(full);
            match conns.get(client, &format!("/{}", tile_path(0, tile))).await {
                Ok(a) if a.status == 200 && a.body.len() as u64 == TILE_WIDTH * 32 => Step::Ok,
                Ok(a) if a.status == 200 => Step::Err("wrong_tile_length".into()),
                Ok(a) => Step::Err(describe(&a)),
                Err(e) => Step::Err(e.into()),
            }
        }
    })
    .await;
    report(&format!("tiles ({full} full tiles)"), &run.rec, run.elapsed);
    ResultLine::new("tiles")
        .field("clients", args.clients)
        .field("tree_size", size)
        .summary(&run.rec, run.elapsed)
        .print();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tile_path;

    #[test]
    fn tile_paths_follow_tlog_tiles() {
        assert_eq!(tile_path(0, 0), "tile/0/000");
        assert_eq!(tile_path(0, 67), "tile/0/067");
        assert_eq!(tile_path(0, 1000), "tile/0/x001/000");
        assert_eq!(tile_path(1, 1_234_067), "tile/1/x001/x234/067");
    }
}
