//! Overload protection: keyed rate limits (per client IP for every request,
//! per tenant for submissions) answering 429 with `Retry-After`, and a cap on
//! requests in flight beyond which the server sheds load with 503 instead of
//! queueing without bound. The submission queue itself is bounded by the
//! sequencer (`--queue`).
//!
//! The client IP is the socket peer, unless the peer is a trusted reverse
//! proxy (`--trusted-proxy CIDR`): then it is the rightmost address in
//! `X-Forwarded-For` that is not itself a trusted proxy. Only trusted
//! proxies are believed, so a client cannot pick its own bucket by sending
//! the header itself.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::OwnedSemaphorePermit;

use crate::api::ApiError;

/// Rate-limit settings; 0 turns a limit off.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitConfig {
    /// Requests per second per client IP (bursts of up to twice that).
    pub per_ip: u32,
    /// Submissions per second per tenant (bursts of up to twice that).
    pub per_tenant: u32,
    /// Requests being served at once; beyond it, 503 `overloaded`.
    pub max_in_flight: usize,
}

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<ipnet::IpNet>);

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: `peer`, or, when `peer` is a trusted proxy,
    /// the rightmost address of `forwarded` (`X-Forwarded-For` values, in
    /// order) that is not a trusted proxy. Entries a proxy did not write
    /// (left of the first untrusted one) are never used.
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusts(ip) => continue,
                Ok(ip) => return ip,
                // A malformed hop: nothing to its left can be trusted.
                Err(_) => return peer,
            }
        }
        peer
    }
}

/// The live limiters.
pub struct Limits {
    proxies: TrustedProxies,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_tenant: Option<DefaultKeyedRateLimiter<String>>,
    in_flight: Arc<tokio::sync::Semaphore>,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_second: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(per_second.saturating_mul(2)).unwrap_or(rate);
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

fn too_many(what: &str, wait_secs: u64) -> ApiError {
    ApiError {
        retry_after: Some(wait_secs.max(1)),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests {what}; retry after the Retry-After seconds"),
        )
    }
}

impl Limits {
    pub fn new(config: LimitConfig, proxies: TrustedProxies) -> Self {
        Limits {
            proxies,
            per_ip: limiter(config.per_ip),
            per_tenant: limiter(config.per_tenant),
            in_flight: Arc::new(tokio::sync::Semaphore::new(config.max_in_flight.max(1))),
        }
    }

    /// Counts one submission for `tenant`.
    pub fn check_tenant(&self, tenant: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.per_tenant else {
            return Ok(());
        };
        limiter.check_key(&tenant.to_string()).map_err(|not_until| {
            too_many(
                &format!("for tenant {tenant}"),
                not_until
                    .wait_time_from(DefaultClock::default().now())
                    .as_secs_f64()
                    .ceil() as u64,
            )
        })
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        let Some(limiter) = &self.per_ip else {
            return Ok(());
        };
        limiter.check_key(&ip).map_err(|not_until| {
            too_many(
                &format!("from {ip}"),
                not_until
                    .wait_time_from(DefaultClock::default().now())
                    .as_secs_f64()
                    .ceil() as u64,
            )
        })
    }

    /// Drops limiter state of keys that are back to full allowance, so the
    /// maps stay bounded under a flood of distinct keys.
    pub fn shrink(&self) {
        if let Some(l) = &self.per_ip {
            l.retain_recent();
            l.shrink_to_fit();
        }
        if let Some(l) = &self.per_tenant {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    /// The per-IP limit and the in-flight cap, for every request: the
    /// permit to hold while it is served, or the error that refuses it.
    pub fn admit(&self, request: &Request) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Some(ConnectInfo(addr)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
            let forwarded = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok());
            self.check_ip(self.proxies.client_ip(addr.ip(), forwarded))?;
        }
        self.in_flight.clone().try_acquire_owned().map_err(|_| {
            ApiError::unavailable(
                "overloaded",
                "the server is at its limit of requests in flight; retry after a second",
                1,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxies = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()]);
        let peer: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "192.0.2.7".parse().unwrap();
        let ip = |peer, xff: &[&str]| proxies.client_ip(peer, xff.iter().copied());
        // Not from a proxy: the header is ignored.
        assert_eq!(ip(stranger, &["198.51.100.1"]), stranger);
        // From the proxy: the rightmost untrusted hop.
        assert_eq!(
            ip(peer, &["198.51.100.1"]),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            ip(peer, &["6.6.6.6, 198.51.100.1, 10.9.9.9"]),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            ip(peer, &["6.6.6.6", "198.51.100.1"]),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
        // Nothing usable: the proxy itself.
        assert_eq!(ip(peer, &[]), peer);
        assert_eq!(ip(peer, &["garbage"]), peer);
    }
}
