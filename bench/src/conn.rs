//! A lean HTTP/1.1 client for the HTTP scenarios (closed and open loop): one
//! keep-alive connection per simulated client or sender, reused for every
//! request it sends, with no connection pool to search and no per-request
//! client configuration: hyper's connection, a request and one timeout.
//!
//! Why not reqwest here: the load generator shares the machine's two cores
//! with the server, so every microsecond it spends per request is taken from
//! the server. Measured on the proof scenario, reqwest cost the generator
//! about as much CPU per request as the server's proof handler (35 µs). The
//! requests are the same bytes either way; only the client's overhead moves.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

/// A request that did not get an HTTP answer, keyed for the error table.
pub type TransportError = &'static str;

/// Connections to one log, one slot per client.
pub struct Conns {
    /// `host:port`, for connecting and for the `Host` header.
    authority: String,
    /// The path the log is served under (empty, or `/prefix` without a trailing `/`).
    base: String,
    slots: Vec<Mutex<Option<SendRequest<Full<Bytes>>>>>,
}

/// How long one request may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(60);

/// An answer: the status and the whole body.
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

impl Conns {
    /// Slots for `clients` clients of the log at `log` (`http://host:port[/prefix]`).
    pub fn new(log: &str, clients: usize) -> anyhow::Result<Arc<Self>> {
        let rest = log.strip_prefix("http://").ok_or_else(|| {
            anyhow::anyhow!("--log {log:?}: the lean client speaks plain http:// only")
        })?;
        let (authority, base) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        anyhow::ensure!(!authority.is_empty(), "--log {log:?}: no host");
        Ok(Arc::new(Conns {
            authority: authority.to_string(),
            base: base.to_string(),
            slots: (0..clients.max(1)).map(|_| Mutex::new(None)).collect(),
        }))
    }

    /// `GET path` (path starts with `/`) on client `client`'s connection.
    pub async fn get(&self, client: usize, path: &str) -> Result<Answer, TransportError> {
        self.send(client, "GET", path, None, Bytes::new()).await
    }

    /// `POST path` with `body` of `content_type` on client `client`'s connection.
    pub async fn post(
        &self,
        client: usize,
        path: &str,
        content_type: &'static str,
        body: Bytes,
    ) -> Result<Answer, TransportError> {
        self.send(client, "POST", path, Some(content_type), body)
            .await
    }

    async fn send(
        &self,
        client: usize,
        method: &'static str,
        path: &str,
        content_type: Option<&'static str>,
        body: Bytes,
    ) -> Result<Answer, TransportError> {
        let slot = &self.slots[client % self.slots.len()];
        let mut conn = slot.lock().await;
        let exchange = async {
            if conn.as_ref().is_none_or(|c| c.is_closed()) {
                *conn = Some(self.connect().await?);
            }
            let sender = conn.as_mut().ok_or("connect")?;
            sender.ready().await.map_err(|_| "transport")?;
            let mut request = Request::builder()
                .method(method)
                .uri(format!("{}{path}", self.base))
                .header(hyper::header::HOST, self.authority.as_str());
            if let Some(content_type) = content_type {
                request = request.header(hyper::header::CONTENT_TYPE, content_type);
            }
            let request = request.body(Full::new(body)).map_err(|_| "bad_request")?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|_| "transport")?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|_| "transport")?
                .to_bytes();
            Ok(Answer { status, body })
        };
        match tokio::time::timeout(TIMEOUT, exchange).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                *conn = None;
                Err(e)
            }
            Err(_) => {
                *conn = None;
                Err("timeout")
            }
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let stream = TcpStream::connect(&self.authority)
            .await
            .map_err(|_| "connect")?;
        stream.set_nodelay(true).map_err(|_| "connect")?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| "connect")?;
        tokio::spawn(async move {
            // Ends when the server closes the connection or the sender is dropped.
            let _ = connection.await;
        });
        Ok(sender)
    }
}

/// `status N` or `status N error_code` from an error answer, for the error table.
pub fn describe(answer: &Answer) -> String {
    let code = serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string));
    match code {
        Some(code) => format!("status_{}_{code}", answer.status),
        None => format!("status_{}", answer.status),
    }
}

#[cfg(test)]
mod tests {
    use super::Conns;

    #[test]
    fn log_urls_split_into_authority_and_base() {
        let c = Conns::new("http://127.0.0.1:8080", 2).unwrap();
        assert_eq!(
            (c.authority.as_str(), c.base.as_str()),
            ("127.0.0.1:8080", "")
        );
        let c = Conns::new("http://127.0.0.1:8080/log/", 2).unwrap();
        assert_eq!(
            (c.authority.as_str(), c.base.as_str()),
            ("127.0.0.1:8080", "/log")
        );
        assert!(Conns::new("https://example.com", 1).is_err());
        assert!(Conns::new("http:///x", 1).is_err());
    }
}
