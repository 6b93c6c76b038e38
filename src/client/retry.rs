//! Retrying a request to the log whose failure may be transient: what is
//! retried, how long it waits in between, and when it gives up.
//!
//! Retrying a submission is safe by the log's design: the same statement
//! again is answered `200` with the entry already logged (`POST /v1/roots`
//! in openapi.yaml), so
//! a retry after an unknown outcome (a dropped connection, a timeout after
//! the request was sent) never logs anything twice. Fetching a receipt only
//! reads. The backoff itself is `backon`'s exponential backoff with jitter;
//! this module decides which errors are worth another attempt, honours the
//! log's `Retry-After`, and bounds the whole by wall-clock time.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};

use super::ClientError;

/// How a [`super::LogClient`] retries a submission or a receipt fetch.
///
/// Invariants: no retry *starts* later than `retry_for` after the first
/// attempt began, so the whole takes at most `retry_for` plus one request's
/// timeout; every wait is at least the backoff's delay and at least the
/// log's `Retry-After`; `retry_for` zero means exactly one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long after the first attempt the last retry may start.
    pub retry_for: Duration,
    /// The first backoff delay, before jitter (each later one doubles).
    pub min_delay: Duration,
    /// The largest backoff delay, before jitter (jitter adds up to as much again).
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The default bound: two minutes rides out a log restart, a witness
    /// slow to answer a starting log, and a burst of load, and is still
    /// short enough for a daily job to report a log that is really down.
    pub const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(120);

    /// Exactly one attempt: every error is returned as it came.
    pub const fn none() -> Self {
        Self::for_duration(Duration::ZERO)
    }

    /// Retries for up to `retry_for`, backing off from 250 ms to 10 s.
    pub const fn for_duration(retry_for: Duration) -> Self {
        RetryPolicy {
            retry_for,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
        }
    }

    /// Whether this policy ever retries.
    pub fn retries(&self) -> bool {
        !self.retry_for.is_zero()
    }
}

impl Default for RetryPolicy {
    /// [`RetryPolicy::DEFAULT_RETRY_FOR`].
    fn default() -> Self {
        Self::for_duration(Self::DEFAULT_RETRY_FOR)
    }
}

impl ClientError {
    /// Whether the same request may succeed if sent again: the log (or a
    /// proxy in front of it) was unreachable, dropped the connection, timed
    /// out, or answered 429, 502, 503 or 504.
    ///
    /// Never a 4xx other than 429: a 4xx is the log's judgement of the
    /// request itself (malformed, badly signed, stale, a conflicting
    /// statement for the day), and the same bytes get the same answer;
    /// retrying a 409 would also bury a conflict that someone must
    /// investigate. 429 is about the rate, not the request. A 500 is the log
    /// reporting a fault of its own (its storage), which waiting does not
    /// mend and hammering does not help.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Http(e) => {
                e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() || e.is_decode()
            }
            ClientError::Api { status, .. } => matches!(status, 429 | 502 | 503 | 504),
            ClientError::GaveUp { .. } => true,
            ClientError::Unexpected(_) | ClientError::Tiles(_) => false,
        }
    }

    /// The log's `Retry-After`, when it answered with one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Parses a `Retry-After` value: delta-seconds, or an HTTP-date (RFC 9110
/// IMF-fixdate), which counts from now and is zero when already past.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, &format)
        .ok()?
        .assume_utc();
    let wait = at - time::OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// Runs `attempt` under `policy`: again after each transient error
/// ([`ClientError::is_transient`]), waiting the backoff's delay or the log's
/// `Retry-After`, whichever is longer, until it succeeds, fails for good, or
/// the bound is reached. A transient error at the bound comes back as
/// [`ClientError::GaveUp`] (with the last error inside); any other error
/// comes back as it is, so a caller matching a 409 still sees a 409. With
/// [`RetryPolicy::none`] the one attempt's error is returned unwrapped.
/// `what` names the operation in the warnings logged before each retry.
pub async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    what: &str,
    mut attempt: F,
) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    if !policy.retries() {
        return attempt().await;
    }
    let started = Instant::now();
    let deadline = started + policy.retry_for;
    // Atomic only so the future stays Send (callers spawn it); one task uses it.
    let attempts = AtomicU32::new(0);
    let backoff = ExponentialBuilder::new()
        .with_min_delay(policy.min_delay)
        .with_max_delay(policy.max_delay.max(policy.min_delay))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times();
    let result = (|| {
        attempts.fetch_add(1, Ordering::Relaxed);
        attempt()
    })
    .retry(backoff)
    .sleep(tokio::time::sleep)
    .when(ClientError::is_transient)
    .adjust(|e, next| {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let asked = e.retry_after();
        let wait = match (next, asked) {
            (Some(b), Some(a)) => b.max(a),
            (Some(b), None) => b,
            (None, a) => a.unwrap_or(policy.min_delay),
        };
        if remaining.is_zero() || asked.is_some_and(|a| a > remaining) {
            // Out of time, or the log asked to wait past the bound: a try
            // before it asked would only be refused again.
            None
        } else {
            // One last attempt at the bound rather than none.
            Some(wait.min(remaining))
        }
    })
    .notify(|e, wait| {
        tracing::warn!("{what}: {e}; trying again in {:.1} s", wait.as_secs_f64());
    })
    .await;
    match result {
        Err(e) if e.is_transient() => Err(ClientError::GaveUp {
            attempts: attempts.load(Ordering::Relaxed),
            elapsed: started.elapsed(),
            retry_for: policy.retry_for,
            last: Box::new(e),
        }),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn unavailable(retry_after: Option<u64>) -> ClientError {
        ClientError::Api {
            status: 503,
            code: "overloaded".into(),
            message: String::new(),
            body: serde_json::Value::Null,
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn retry_after_values() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(90);
        let format = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        let wait = parse_retry_after(&later.format(&format).unwrap()).unwrap();
        assert!((85..=90).contains(&wait.as_secs()), "{wait:?}");
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }

    #[test]
    fn which_errors_are_transient() {
        assert!(unavailable(Some(1)).is_transient());
        for status in [429, 502, 504] {
            let e = ClientError::Api {
                status,
                code: String::new(),
                message: String::new(),
                body: serde_json::Value::Null,
                retry_after: None,
            };
            assert!(e.is_transient(), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 413, 415, 500] {
            let e = ClientError::Api {
                status,
                code: String::new(),
                message: String::new(),
                body: serde_json::Value::Null,
                retry_after: None,
            };
            assert!(!e.is_transient(), "{status}");
        }
        assert!(!ClientError::Unexpected("x".into()).is_transient());
    }

    #[tokio::test]
    async fn no_retry_returns_the_error_as_it_came() {
        let calls = Cell::new(0);
        let result: Result<(), _> = run(&RetryPolicy::none(), "test", || {
            calls.set(calls.get() + 1);
            async { Err(unavailable(Some(1))) }
        })
        .await;
        assert!(matches!(result, Err(ClientError::Api { status: 503, .. })));
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test]
    async fn retries_until_success_and_honours_retry_after() {
        let calls = Cell::new(0);
        let started = Instant::now();
        let result = run(
            &RetryPolicy::for_duration(Duration::from_secs(30)),
            "test",
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err(unavailable(Some(1)))
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(result.unwrap(), 3);
        assert!(started.elapsed() >= Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_permanent_error_is_not_retried() {
        let calls = Cell::new(0);
        let result: Result<(), _> = run(&RetryPolicy::default(), "test", || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                Err(if n == 1 {
                    unavailable(None)
                } else {
                    ClientError::Api {
                        status: 409,
                        code: "conflict".into(),
                        message: String::new(),
                        body: serde_json::Value::Null,
                        retry_after: None,
                    }
                })
            }
        })
        .await;
        assert!(matches!(result, Err(ClientError::Api { status: 409, .. })));
        assert_eq!(calls.get(), 2);
    }

    #[tokio::test]
    async fn gives_up_at_the_bound() {
        let policy = RetryPolicy {
            retry_for: Duration::from_millis(600),
            min_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(100),
        };
        let started = Instant::now();
        let result: Result<(), _> = run(&policy, "test", || async { Err(unavailable(None)) }).await;
        let elapsed = started.elapsed();
        match result {
            Err(ClientError::GaveUp { attempts, last, .. }) => {
                assert!(attempts >= 3, "{attempts}");
                assert!(matches!(*last, ClientError::Api { status: 503, .. }));
            }
            other => panic!("{other:?}"),
        }
        assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        // A Retry-After beyond the bound ends it at once.
        let started = Instant::now();
        let result: Result<(), _> =
            run(&policy, "test", || async { Err(unavailable(Some(60))) }).await;
        assert!(matches!(
            result,
            Err(ClientError::GaveUp { attempts: 1, .. })
        ));
        assert!(started.elapsed() < Duration::from_millis(500));
    }
}
