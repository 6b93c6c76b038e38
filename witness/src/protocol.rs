//! c2sp.org/tlog-witness `add-checkpoint` (v1.0.0, with the current draft's
//! 422 for a same-size, different-root checkpoint): parsing the request body
//! and deciding, from the trusted keys and the stored state alone, whether to
//! cosign, and whether a refusal is conclusive evidence against the log.
//! Pure: no clock, no storage, no network, so every status code is
//! unit-tested here and the HTTP handler and watch mode share one decision.
//!
//! The checks run in the order the spec fixes: 413 size (by the caller),
//! 400 parse, 404 origin, 403 signatures, 400 old > size, 409 stale old,
//! 422 empty-tree root, 422 old 0 with a proof, 422 same size different
//! root, 422 consistency proof.
//!
//! Evidence (`Refusal::misbehaviour`) is only ever what the log's signatures
//! prove by themselves, never what an unauthenticated client claims: see
//! [`Misbehaviour`].

use rootlog_tlog::merkle::{verify_consistency, Hash, EMPTY_ROOT, MAX_PROOF_HASHES};
use rootlog_tlog::note::{decode_hash_b64, open, parse_decimal_u64, Checkpoint, Note, Verifier};

/// Largest request body accepted (transparency-dev/witness uses the same cap).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone)]
pub struct AddCheckpoint {
    /// The size the client believes the witness has stored.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint (at most 63 hashes).
    pub proof: Vec<Hash>,
    /// The checkpoint note as sent (signatures not yet verified).
    pub note: Note,
    /// The parsed text of `note`.
    pub checkpoint: Checkpoint,
    /// Who built `proof`, which decides what its failure proves.
    pub source: ProofSource,
}

/// Where the consistency proof of a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofSource {
    /// Bytes a client sent (`POST /add-checkpoint`), or no proof at all.
    /// Requests are not authenticated, so anyone can pair a genuine
    /// checkpoint with random hashes: a proof that fails proves nothing
    /// about the log and is a plain refusal.
    Unauthenticated,
    /// Built by the witness from the log's own tiles (watch mode), with
    /// `prefix_root`: the root of the first `old` leaves of the log's tree at
    /// the checkpoint's size, read from the same tiles. [`check`] re-verifies
    /// the claim: it is evidence only if `proof` is a valid consistency proof
    /// from (`old`, `prefix_root`) to the signed checkpoint, so the nodes are
    /// the ones the log's signed root commits to, whoever served them.
    LogTiles { prefix_root: Hash },
}

/// A log the witness follows: its origin and the keys that sign its checkpoints.
#[derive(Debug, Clone)]
pub struct TrustedLog {
    pub origin: String,
    /// Ed25519 (0x01) verifiers; a checkpoint needs a signature by one of them.
    pub verifiers: Vec<Verifier>,
}

/// The checkpoint a witness has cosigned for one origin.
///
/// Invariant: `note.text == checkpoint.to_text()` and `note` carries the
/// log's verified signature(s) followed by the witness's cosignature.
#[derive(Debug, Clone)]
pub struct Stored {
    pub note: Note,
    pub checkpoint: Checkpoint,
}

impl Stored {
    /// Parses a stored note (as written by the witness itself).
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let note = Note::parse(bytes).map_err(|e| e.to_string())?;
        let checkpoint = Checkpoint::parse(&note.text).map_err(|e| e.to_string())?;
        Ok(Stored { note, checkpoint })
    }
}

/// Why a checkpoint the log signed cannot be consistent with the one the
/// witness cosigned. Each variant is conclusive without trusting the witness
/// or whoever sent the request: its evidence record can be checked with the
/// log's vkey alone (witness/README.md says how).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Same tree size as the cosigned checkpoint, different root: a Merkle
    /// tree has one root per size, so the log signed two histories.
    SameSizeDifferentRoot,
    /// Watch mode only ([`ProofSource::LogTiles`]): the log's tree at the new
    /// signed size has, at the cosigned size, a root other than the cosigned
    /// one, shown by a consistency proof from that other root to the new
    /// signed root. A failing proof sent by a client is never this.
    ConsistencyProofFailed,
}

impl Misbehaviour {
    /// The stable `reason` string of evidence records.
    pub fn as_str(self) -> &'static str {
        match self {
            Misbehaviour::SameSizeDifferentRoot => "same_size_different_root",
            Misbehaviour::ConsistencyProofFailed => "consistency_proof_failed",
        }
    }
}

/// A refused request: the HTTP status, a reason for the logs and the body,
/// the stored size for 409 answers, and whether it is conclusive evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
    /// Set for 409: the size the witness has stored (the `text/x.tlog.size` body).
    pub stored_size: Option<u64>,
    /// Set only when the log's signatures (and, in watch mode, the proof the
    /// witness built) prove the checkpoint conflicts with the stored one.
    pub misbehaviour: Option<Misbehaviour>,
}

impl Refusal {
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Refusal {
            status,
            reason: reason.into(),
            stored_size: None,
            misbehaviour: None,
        }
    }

    fn conflict(stored_size: u64, reason: impl Into<String>) -> Self {
        Refusal {
            stored_size: Some(stored_size),
            ..Refusal::new(409, reason)
        }
    }
}

/// Parses `old <decimal>\n`, 0..=63 base64 hash lines, a blank line, then
/// the signed checkpoint note. Any deviation is a 400.
pub fn parse_add_checkpoint(body: &[u8]) -> Result<AddCheckpoint, Refusal> {
    let bad = |why: &str| Refusal::new(400, format!("malformed request: {why}"));
    let text = std::str::from_utf8(body).map_err(|_| bad("body is not UTF-8"))?;
    let (first, mut rest) = text
        .split_once('\n')
        .ok_or_else(|| bad("missing \"old <size>\" line"))?;
    let old = first
        .strip_prefix("old ")
        .and_then(parse_decimal_u64)
        .ok_or_else(|| bad("first line must be \"old <decimal size>\""))?;
    let mut proof = Vec::new();
    loop {
        let (line, after) = rest
            .split_once('\n')
            .ok_or_else(|| bad("missing blank line before the checkpoint"))?;
        rest = after;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_HASHES {
            return Err(bad(&format!(
                "more than {MAX_PROOF_HASHES} consistency proof lines"
            )));
        }
        let hash = decode_hash_b64(line)
            .ok_or_else(|| bad("proof line is not canonical base64 of 32 bytes"))?;
        proof.push(hash);
    }
    let note = Note::parse(rest.as_bytes()).map_err(|e| bad(&format!("checkpoint: {e}")))?;
    let checkpoint = Checkpoint::parse(&note.text).map_err(|e| bad(&format!("checkpoint: {e}")))?;
    Ok(AddCheckpoint {
        old,
        proof,
        note,
        checkpoint,
        source: ProofSource::Unauthenticated,
    })
}

/// Verifies the log's signatures: 403 if none by a trusted key, or if a
/// trusted key's signature fails. Returns the note reduced to the verified
/// log signatures (other lines are unauthenticated and are not kept).
pub fn verify_log_signatures(log: &TrustedLog, note: &Note) -> Result<Note, Refusal> {
    let verified = open(note, &log.verifiers).map_err(|e| {
        Refusal::new(
            403,
            format!("checkpoint for {:?} not accepted: {e}", log.origin),
        )
    })?;
    Ok(Note {
        text: note.text.clone(),
        signatures: verified
            .into_iter()
            .filter_map(|i| note.signatures.get(i).cloned())
            .collect(),
    })
}

/// Decides an `add-checkpoint` request for a known log (the caller answers
/// 404 for unknown origins), given what is stored for it (`None` if never
/// cosigned, which counts as size 0).
///
/// On success returns the note to cosign: the checkpoint text with only the
/// log's verified signatures. Never cosign on `Err`.
pub fn check(
    log: &TrustedLog,
    stored: Option<&Stored>,
    req: &AddCheckpoint,
) -> Result<Note, Refusal> {
    let note = verify_log_signatures(log, &req.note)?;
    let cp = &req.checkpoint;
    // Whatever `old` says, a signed checkpoint of the stored size with another
    // root is a fork; it is refused below in every branch, and recorded.
    let fork = stored.is_some_and(|s| s.checkpoint.size == cp.size && s.checkpoint.root != cp.root);
    let with_fork = |mut r: Refusal| {
        if fork {
            r.misbehaviour = Some(Misbehaviour::SameSizeDifferentRoot);
        }
        r
    };
    if req.old > cp.size {
        return Err(with_fork(Refusal::new(
            400,
            format!(
                "old size {} is larger than the checkpoint size {}",
                req.old, cp.size
            ),
        )));
    }
    let stored_size = stored.map_or(0, |s| s.checkpoint.size);
    if req.old != stored_size {
        return Err(with_fork(Refusal::conflict(
            stored_size,
            format!("old size {} is not the stored size {stored_size}", req.old),
        )));
    }
    if cp.size == 0 && cp.root != EMPTY_ROOT {
        return Err(with_fork(Refusal::new(
            422,
            "a size-0 checkpoint must carry the empty-tree root",
        )));
    }
    if req.old == 0 {
        if !req.proof.is_empty() {
            return Err(Refusal::new(422, "old size 0 takes an empty proof"));
        }
        return Ok(note);
    }
    // From here old == stored size > 0, so `stored` is Some.
    let Some(stored) = stored else {
        return Err(Refusal::new(500, "internal error: stored state vanished"));
    };
    if cp.size == stored.checkpoint.size {
        if fork {
            // 422, as the current tlog-witness draft says (v1.0.0 said 409,
            // whose size body would only tell the client the size it sent).
            return Err(with_fork(Refusal::new(
                422,
                format!(
                    "same size {} as the cosigned checkpoint but a different root",
                    cp.size
                ),
            )));
        }
        if !req.proof.is_empty() {
            return Err(Refusal::new(422, "equal sizes take an empty proof"));
        }
        return Ok(note);
    }
    if let Err(e) = verify_consistency(
        stored.checkpoint.size,
        cp.size,
        &stored.checkpoint.root,
        &cp.root,
        &req.proof,
    ) {
        let mut r = Refusal::new(
            422,
            format!(
                "consistency proof from {} to {} does not verify: {e}",
                stored.checkpoint.size, cp.size
            ),
        );
        if proves_other_prefix(&req.source, stored, cp, &req.proof) {
            r.misbehaviour = Some(Misbehaviour::ConsistencyProofFailed);
        }
        return Err(r);
    }
    Ok(note)
}

/// Whether `proof`, which failed from the stored checkpoint, shows that the
/// log's signed tree of `cp.size` leaves has another root at the stored
/// size: only for a proof the witness built from the log's tiles, and only
/// if it verifies from the tiles' `prefix_root` to the signed root (then the
/// prefix root is the one the signed root commits to, and it is not the
/// cosigned one, or the proof would not have failed).
fn proves_other_prefix(
    source: &ProofSource,
    stored: &Stored,
    cp: &Checkpoint,
    proof: &[Hash],
) -> bool {
    match source {
        ProofSource::Unauthenticated => false,
        ProofSource::LogTiles { prefix_root } => {
            *prefix_root != stored.checkpoint.root
                && verify_consistency(
                    stored.checkpoint.size,
                    cp.size,
                    prefix_root,
                    &cp.root,
                    proof,
                )
                .is_ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rootlog_tlog::merkle::{consistency_plan, leaf_hash, Frontier, NodeId};
    use rootlog_tlog::note::{encode_b64, Signer};
    use std::collections::HashMap;

    const ORIGIN: &str = "example.com/log";

    struct Tree {
        nodes: HashMap<NodeId, Hash>,
        roots: Vec<Hash>,
    }

    fn tree(n: u64, salt: u8) -> Tree {
        let mut f = Frontier::new();
        let mut nodes = HashMap::new();
        let mut roots = vec![f.root()];
        for i in 0..n {
            f.append(leaf_hash(&[salt, i as u8, (i >> 8) as u8]), |id, h| {
                nodes.insert(id, *h);
            });
            roots.push(f.root());
        }
        Tree { nodes, roots }
    }

    fn proof(t: &Tree, old: u64, new: u64) -> Vec<Hash> {
        let plan = consistency_plan(old, new).unwrap();
        let hashes: Vec<Hash> = plan.nodes.iter().map(|id| t.nodes[id]).collect();
        plan.assemble(&hashes).unwrap()
    }

    fn signed(signer: &Signer, size: u64, root: Hash) -> Note {
        let mut note = Note::new(Checkpoint::new(ORIGIN, size, root).to_text());
        note.signatures.push(signer.sign(note.text.as_bytes()));
        note
    }

    fn body(old: u64, proof: &[Hash], note: &Note) -> Vec<u8> {
        let mut s = format!("old {old}\n");
        for h in proof {
            s.push_str(&encode_b64(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&note.to_text());
        s.into_bytes()
    }

    fn setup() -> (Signer, TrustedLog) {
        let signer = Signer::generate(ORIGIN).unwrap();
        let log = TrustedLog {
            origin: ORIGIN.into(),
            verifiers: vec![signer.verifier()],
        };
        (signer, log)
    }

    fn stored(note: &Note) -> Stored {
        Stored::parse(note.to_text().as_bytes()).unwrap()
    }

    fn run(log: &TrustedLog, st: Option<&Stored>, b: &[u8]) -> Result<Note, Refusal> {
        check(log, st, &parse_add_checkpoint(b)?)
    }

    #[test]
    fn parses_the_spec_shape() {
        let (s, _) = setup();
        let t = tree(10, 0);
        let note = signed(&s, 10, t.roots[10]);
        let p = proof(&t, 3, 10);
        let req = parse_add_checkpoint(&body(3, &p, &note)).unwrap();
        assert_eq!(req.old, 3);
        assert_eq!(req.proof, p);
        assert_eq!(req.note, note);
        assert_eq!(req.checkpoint.size, 10);
    }

    #[test]
    fn malformed_bodies_are_400() {
        let (s, _) = setup();
        let note = signed(&s, 0, EMPTY_ROOT).to_text();
        let h = encode_b64(&[1u8; 32]);
        let too_many = format!("old 1\n{}\n{note}", format!("{h}\n").repeat(64));
        for b in [
            String::new(),
            "old 1".into(),
            format!("old 01\n\n{note}"),
            format!("old -1\n\n{note}"),
            format!("old  1\n\n{note}"),
            format!("new 1\n\n{note}"),
            format!("old 1\n{note}"),
            format!("old 1\nnot base64\n\n{note}"),
            format!("old 1\n{}\n\n{note}", encode_b64(&[1u8; 31])),
            "old 1\n\n".to_string(),
            "old 1\n\nexample.com/log\n1\n".to_string(),
            format!("old 1\n\n{}", note.replace("\n0\n", "\n00\n")),
            too_many,
        ] {
            let r = parse_add_checkpoint(b.as_bytes()).unwrap_err();
            assert_eq!(r.status, 400, "{b:?}");
        }
        assert_eq!(parse_add_checkpoint(&[0xff, 0xfe]).unwrap_err().status, 400);
        // Exactly 63 proof lines parse.
        let ok = format!("old 1\n{}\n{note}", format!("{h}\n").repeat(63));
        assert_eq!(parse_add_checkpoint(ok.as_bytes()).unwrap().proof.len(), 63);
    }

    #[test]
    fn status_codes_in_order() {
        let (s, log) = setup();
        let t = tree(20, 0);
        let first = signed(&s, 5, t.roots[5]);
        // First checkpoint with old 0.
        assert!(run(&log, None, &body(0, &[], &first)).is_ok());
        let st = stored(&first);
        // Growth with a valid proof.
        let next = signed(&s, 20, t.roots[20]);
        assert!(run(&log, Some(&st), &body(5, &proof(&t, 5, 20), &next)).is_ok());
        // 403: unknown key, no signature by a trusted key, corrupted signature.
        let other = Signer::generate(ORIGIN).unwrap();
        let r = run(
            &log,
            Some(&st),
            &body(5, &proof(&t, 5, 20), &signed(&other, 20, t.roots[20])),
        );
        assert_eq!(r.unwrap_err().status, 403);
        let mut bad = next.clone();
        bad.signatures[0].signature[3] ^= 1;
        assert_eq!(
            run(&log, Some(&st), &body(5, &[], &bad))
                .unwrap_err()
                .status,
            403
        );
        // 400: old > size.
        assert_eq!(
            run(&log, Some(&st), &body(21, &[], &next))
                .unwrap_err()
                .status,
            400
        );
        // 409: stale old, with the stored size.
        let r = run(&log, Some(&st), &body(4, &[], &next)).unwrap_err();
        assert_eq!(
            (r.status, r.stored_size, r.misbehaviour),
            (409, Some(5), None)
        );
        let r = run(&log, None, &body(4, &[], &next)).unwrap_err();
        assert_eq!((r.status, r.stored_size), (409, Some(0)));
        // 422: bad proof. The client's proof is unauthenticated, so however
        // genuine the checkpoint, a failing proof is no evidence.
        let mut p = proof(&t, 5, 20);
        p[0][0] ^= 1;
        let r = run(&log, Some(&st), &body(5, &p, &next)).unwrap_err();
        assert_eq!((r.status, r.stored_size, r.misbehaviour), (422, None, None));
        let r = run(&log, Some(&st), &body(5, &[[7; 32]; 3], &next)).unwrap_err();
        assert_eq!((r.status, r.misbehaviour), (422, None));
        // 422: old 0 with a proof.
        let r = run(&log, None, &body(0, &proof(&t, 5, 20), &next)).unwrap_err();
        assert_eq!((r.status, r.misbehaviour), (422, None));
        // 422: size 0 with a non-empty root.
        let r = run(&log, None, &body(0, &[], &signed(&s, 0, [9; 32]))).unwrap_err();
        assert_eq!(r.status, 422);
        assert!(run(&log, None, &body(0, &[], &signed(&s, 0, EMPTY_ROOT))).is_ok());
        // 422 (the current draft; v1.0.0 said 409): same size, different
        // root, with no size body; evidence, since the log signed both.
        let fork = signed(&s, 5, tree(5, 1).roots[5]);
        let r = run(&log, Some(&st), &body(5, &[], &fork)).unwrap_err();
        assert_eq!(
            (r.status, r.stored_size, r.misbehaviour),
            (422, None, Some(Misbehaviour::SameSizeDifferentRoot))
        );
        // A stale old is answered 409 first (the spec's order), and the
        // fork is still recorded.
        let r = run(&log, Some(&st), &body(3, &[], &fork)).unwrap_err();
        assert_eq!(
            (r.status, r.misbehaviour),
            (409, Some(Misbehaviour::SameSizeDifferentRoot))
        );
        // Re-cosign: same size, same root, empty proof.
        assert!(run(&log, Some(&st), &body(5, &[], &first)).is_ok());
        assert_eq!(
            run(&log, Some(&st), &body(5, &[[0; 32]], &first))
                .unwrap_err()
                .status,
            422
        );
    }

    /// A proof the witness built from the log's tiles is evidence only when
    /// it verifies from the tiles' prefix root to the signed root (also for
    /// a power-of-two old size, whose proof omits the old root).
    #[test]
    fn tile_proofs_are_evidence_only_when_they_prove_another_prefix() {
        let (s, log) = setup();
        let honest = tree(20, 0);
        // The log's key signs a size-20 tree whose first leaves differ.
        let fork = tree(20, 1);
        let next = signed(&s, 20, fork.roots[20]);
        for old in [5u64, 8] {
            let st = stored(&signed(&s, old, honest.roots[old as usize]));
            let with = |proof: Vec<Hash>, prefix_root: Hash| AddCheckpoint {
                source: ProofSource::LogTiles { prefix_root },
                ..parse_add_checkpoint(&body(old, &proof, &next)).unwrap()
            };
            let fork_proof = proof(&fork, old, 20);
            let conclusive = with(fork_proof.clone(), fork.roots[old as usize]);
            let r = check(&log, Some(&st), &conclusive).unwrap_err();
            assert_eq!(
                (r.status, r.misbehaviour),
                (422, Some(Misbehaviour::ConsistencyProofFailed)),
                "old {old}"
            );
            // Tiles that do not reproduce the signed root prove nothing: a
            // wrong prefix root, a tampered proof, or the cosigned root itself.
            let mut tampered = fork_proof.clone();
            tampered[0][0] ^= 1;
            for req in [
                with(fork_proof.clone(), [3; 32]),
                with(tampered, fork.roots[old as usize]),
                with(fork_proof.clone(), honest.roots[old as usize]),
                with(vec![[9; 32]; 4], [9; 32]),
            ] {
                let r = check(&log, Some(&st), &req).unwrap_err();
                assert_eq!((r.status, r.misbehaviour), (422, None), "{req:?}");
            }
            // The same proof sent by a client is no evidence either.
            let r = run(&log, Some(&st), &body(old, &fork_proof, &next)).unwrap_err();
            assert_eq!((r.status, r.misbehaviour), (422, None), "old {old}");
        }
    }

    #[test]
    fn keeps_only_verified_log_signatures() {
        let (s, log) = setup();
        let mut note = signed(&s, 0, EMPTY_ROOT);
        let stranger = Signer::generate("someone").unwrap();
        note.signatures
            .insert(0, stranger.sign(note.text.as_bytes()));
        let kept = run(&log, None, &body(0, &[], &note)).unwrap();
        assert_eq!(kept.signatures.len(), 1);
        assert_eq!(kept.signatures[0].name, ORIGIN);
    }

    /// Mutated bodies never panic the parser or the check.
    #[test]
    fn mutated_bodies_never_panic() {
        let (s, log) = setup();
        let base = body(0, &[], &signed(&s, 0, EMPTY_ROOT));
        let mut x = 0x1234_5678_u64;
        for _ in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut b = base.clone();
            let i = (x as usize) % b.len();
            b[i] = (x >> 32) as u8;
            b.truncate(b.len() - ((x >> 40) as usize % 3));
            if let Ok(req) = parse_add_checkpoint(&b) {
                let _ = check(&log, None, &req);
            }
        }
    }
}
