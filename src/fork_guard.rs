//! The fork guard: whether the log may sequence.
//!
//! A log that appends to a tree smaller than a checkpoint somebody already
//! holds signs a second tree: entry N gets other bytes, and two checkpoints
//! of one size with different roots both verify under the log key. That is
//! what a data directory restored from an older backup (or one that lost
//! acknowledged writes) would do. So before it sequences anything a
//! starting log learns the largest size anybody may have seen:
//!
//! - its own record: the newest checkpoint and cosignature it stored;
//! - the checkpoint in its `--publish-dir` and `--publish-url` mirrors;
//! - each configured witness's cosigned size (the witness's 409
//!   `text/x.tlog.size` answer to an `old 0` request, see `witnessing`).
//!
//! Invariant: the sequencer appends only while [`ForkGuard::is_open`]:
//! no source has shown a size larger than the tree (or a root the tree does
//! not have), and every configured witness has answered — or, once
//! `--witness-check-wait` has passed, at least a quorum of them has (the
//! others are still asked, and a larger size from one of them closes the
//! guard). Once closed by a larger size it stays closed until the operator
//! restores the missing entries and restarts the log.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::watch;

/// Why the log holds sequencing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Still learning the witnesses' sizes; these have not answered.
    Starting { waiting_for: Vec<String> },
    /// Somebody holds a checkpoint this tree cannot extend.
    Behind(Behind),
}

/// A checkpoint the tree cannot extend, and who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behind {
    pub tree_size: u64,
    pub seen_size: u64,
    pub seen_by: String,
    /// The size is within the tree but the root is not the tree's.
    pub forked: bool,
}

impl std::fmt::Display for Behind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.forked {
            write!(
                f,
                "{} holds a checkpoint of size {} whose root is not this tree's (size {})",
                self.seen_by, self.seen_size, self.tree_size
            )
        } else {
            write!(
                f,
                "{} holds a checkpoint of size {}, larger than this tree (size {})",
                self.seen_by, self.seen_size, self.tree_size
            )
        }
    }
}

#[derive(Debug, Clone)]
struct State {
    /// Witnesses not heard from yet.
    pending: BTreeSet<String>,
    answered: usize,
    quorum: usize,
    wait_over: bool,
    behind: Option<Behind>,
    largest_seen: u64,
}

impl State {
    fn hold(&self) -> Option<Hold> {
        if let Some(behind) = &self.behind {
            return Some(Hold::Behind(behind.clone()));
        }
        let enough = self.pending.is_empty() || (self.wait_over && self.answered >= self.quorum);
        (!enough).then(|| Hold::Starting {
            waiting_for: self.pending.iter().cloned().collect(),
        })
    }
}

/// See the module comment.
pub struct ForkGuard {
    state: watch::Sender<State>,
}

impl ForkGuard {
    /// A guard that waits for every one of `witnesses` (names), of which
    /// `quorum` suffice once the wait is over.
    pub fn new(witnesses: &[String], quorum: usize) -> Self {
        let (state, _) = watch::channel(State {
            pending: witnesses.iter().cloned().collect(),
            answered: 0,
            quorum,
            wait_over: false,
            behind: None,
            largest_seen: 0,
        });
        ForkGuard { state }
    }

    /// True while the log may sequence.
    pub fn is_open(&self) -> bool {
        self.state.borrow().hold().is_none()
    }

    /// Why the log holds sequencing, if it does.
    pub fn hold(&self) -> Option<Hold> {
        self.state.borrow().hold()
    }

    /// `source` answered: it holds a checkpoint of `size` (0: none), and
    /// the log's tree now has `tree_size` leaves.
    pub fn seen(&self, source: &str, size: u64, tree_size: u64) {
        self.update(source, |state| {
            state.largest_seen = state.largest_seen.max(size);
            (size > tree_size).then(|| Behind {
                tree_size,
                seen_size: size,
                seen_by: source.to_string(),
                forked: false,
            })
        });
    }

    /// `source` holds a checkpoint of `size` (within the tree of
    /// `tree_size`) whose root is not the tree's at that size.
    pub fn forked(&self, source: &str, size: u64, tree_size: u64) {
        self.update(source, |state| {
            state.largest_seen = state.largest_seen.max(size);
            Some(Behind {
                tree_size,
                seen_size: size,
                seen_by: source.to_string(),
                forked: true,
            })
        });
    }

    /// `source` answered, but could say nothing about this log's size (it
    /// does not know the log); it cannot hold one of its checkpoints.
    pub fn answered(&self, source: &str) {
        self.update(source, |_| None);
    }

    /// The wait for every witness is over: a quorum of answers is enough.
    pub fn wait_over(&self) {
        self.state.send_modify(|state| state.wait_over = true);
    }

    fn update(&self, source: &str, decide: impl FnOnce(&mut State) -> Option<Behind>) {
        let mut newly_behind = None;
        self.state.send_modify(|state| {
            if state.pending.remove(source) {
                state.answered += 1;
            }
            if let Some(behind) = decide(state) {
                // A fork says more than a size; between two of a kind the larger size.
                let worse = state
                    .behind
                    .as_ref()
                    .is_none_or(|b| (behind.forked, behind.seen_size) > (b.forked, b.seen_size));
                if worse {
                    newly_behind = Some(behind.clone());
                    state.behind = Some(behind);
                }
            }
        });
        if let Some(behind) = newly_behind {
            tracing::error!(
                tree_size = behind.tree_size,
                seen_size = behind.seen_size,
                seen_by = %behind.seen_by,
                "NOT SEQUENCING: {behind}. Appending now would sign a second tree. \
                 This data directory is older than what was published (restored from an older backup, \
                 or it lost acknowledged writes). Stop the server and rebuild the missing entries from \
                 the published mirror: `rootlog restore --from-mirror <mirror dir or URL> [--from <backup>] \
                 --data <new dir> --key <log.skey>`, then start the log on the new directory"
            );
        }
    }

    /// Waits up to `limit` for the guard to open; the hold if it did not.
    pub async fn wait_open(&self, limit: Duration) -> Result<(), Hold> {
        if self.is_open() {
            return Ok(());
        }
        let mut rx = self.state.subscribe();
        let waited = tokio::time::timeout(
            limit,
            rx.wait_for(|s| matches!(s.hold(), None | Some(Hold::Behind(_)))),
        )
        .await;
        drop(waited);
        match self.hold() {
            None => Ok(()),
            Some(hold) => Err(hold),
        }
    }

    /// Resolves when the guard opens (never, if it is held by a larger size).
    pub async fn opened(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx.wait_for(|s| s.hold().is_none()).await;
    }

    /// The guard's state for `/healthz`.
    pub fn health_json(&self) -> serde_json::Value {
        let state = self.state.borrow();
        match state.hold() {
            None => serde_json::json!({ "held": false, "largest_seen_size": state.largest_seen }),
            Some(Hold::Starting { waiting_for }) => serde_json::json!({
                "held": true,
                "reason": "starting",
                "waiting_for": waiting_for,
                "largest_seen_size": state.largest_seen,
            }),
            Some(Hold::Behind(b)) => serde_json::json!({
                "held": true,
                "reason": if b.forked { "forked" } else { "behind" },
                "tree_size": b.tree_size,
                "seen_size": b.seen_size,
                "seen_by": b.seen_by,
                "largest_seen_size": state.largest_seen,
            }),
        }
    }

    /// The largest checkpoint size any source has shown.
    pub fn largest_seen(&self) -> u64 {
        self.state.borrow().largest_seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn opens_when_every_witness_answered() {
        let guard = ForkGuard::new(&names(&["a", "b"]), 1);
        assert!(matches!(guard.hold(), Some(Hold::Starting { .. })));
        guard.seen("a", 5, 10);
        assert!(!guard.is_open());
        guard.answered("b");
        assert!(guard.is_open());
    }

    #[test]
    fn a_quorum_suffices_after_the_wait() {
        let guard = ForkGuard::new(&names(&["a", "b", "c"]), 2);
        guard.seen("a", 0, 0);
        guard.wait_over();
        assert!(!guard.is_open());
        guard.seen("b", 0, 0);
        assert!(guard.is_open());
    }

    #[test]
    fn a_larger_size_closes_it_for_good() {
        let guard = ForkGuard::new(&[], 0);
        assert!(guard.is_open());
        guard.seen("mirror", 3, 2);
        assert_eq!(
            guard.hold(),
            Some(Hold::Behind(Behind {
                tree_size: 2,
                seen_size: 3,
                seen_by: "mirror".into(),
                forked: false
            }))
        );
        guard.seen("w", 1, 2);
        assert!(!guard.is_open());
        guard.forked("w2", 2, 2);
        assert!(matches!(guard.hold(), Some(Hold::Behind(b)) if b.forked));
    }
}
