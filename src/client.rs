//! A Rust client for a rootlog server, and the offline checks an answer must
//! pass: the checkpoint's log signature and the entry's inclusion proof.
//! The CLI uses it; the archive service can embed it.
//!
//! [`LogClient`] speaks the log's JSON API (submit, tenants, entries,
//! proofs, proof files). [`Auditor`] reads a log the way an auditor must:
//! the checkpoint, entry bundles and hash tiles (c2sp.org/tlog-tiles, so a
//! static mirror works as well as the log itself), building every proof
//! from tiles and checking it with the pure functions of [`crate::audit`].
//! The JSON API (or a mirror's locators) is only ever used to learn *where*
//! an entry is and which checkpoint to prove it into.
//!
//! Submissions and receipt fetches retry transient failures under a
//! [`RetryPolicy`] (`retry`): on by default, because the archive's daily
//! job must ride out a restarting or overloaded log, and safe because an
//! identical submission is answered with the entry already logged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::merkle::{leaf_hash, verify_inclusion, Hash};
use crate::note::{decode_hash_b64, Checkpoint, Note, Verifier};
use crate::receipt::{KeyChangeProof, Receipt};
use crate::tiles::TileClient;
use crate::tlogproof::TlogProof;

mod auditor;
pub mod retry;
pub use auditor::{
    Auditor, CheckpointAudit, Earliest, EntryAudit, Lookup, StatementIndex, BY_API, BY_LOCATOR,
    BY_SCAN,
};
pub use retry::RetryPolicy;

/// An error talking to a log.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the log: {}", with_causes(.0))]
    Http(#[from] reqwest::Error),
    #[error("the log answered {status}: {code}: {message}")]
    Api {
        status: u16,
        /// The stable error code (empty when the body was not the log's JSON,
        /// e.g. a proxy's error page).
        code: String,
        message: String,
        body: Value,
        /// The answer's `Retry-After`, if it had one.
        retry_after: Option<std::time::Duration>,
    },
    #[error("unexpected answer from the log: {0}")]
    Unexpected(String),
    #[error("tiles: {0}")]
    Tiles(String),
    /// Transient failures until the [`RetryPolicy`]'s bound; `last` is the
    /// last of them. Nothing is known to have been logged (or everything
    /// may have been: an identical retry later says which).
    #[error("gave up after {attempts} attempt(s) in {:.1} s (retrying for at most {}): {last}", .elapsed.as_secs_f64(), humantime::format_duration(*.retry_for))]
    GaveUp {
        attempts: u32,
        elapsed: std::time::Duration,
        retry_for: std::time::Duration,
        last: Box<ClientError>,
    },
}

/// An error with its causes ("error sending request: connection refused"):
/// reqwest's own message rarely says what went wrong.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// An entry with its inclusion proof, as the log answers it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EntryProof {
    pub index: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    pub leaf_hash: String,
    pub checkpoint: String,
    pub inclusion_proof: Vec<String>,
    /// When the entry was in the log by (RFC 3339), as the checkpoint's
    /// cosignatures attest; the log's word only until a verifier checks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_by: Option<String>,
    /// `witnesses` or `log_claim`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_by_attested: Option<String>,
}

/// An entry as `GET /v1/entries/{index}` answers it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub index: u64,
    pub statement: String,
    pub leaf_hash: String,
}

/// What the log's API says about where a statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Located {
    Found(u64),
    NotInLog,
    NoApi,
}

/// Why an answer did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofCheckError {
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("the leaf hash does not match the statement")]
    LeafHash,
    #[error("inclusion proof: {0}")]
    Inclusion(String),
}

/// Verifies a signed checkpoint note against the log key and returns its body.
pub fn verify_checkpoint(
    log_key: &Verifier,
    note_text: &str,
) -> Result<Checkpoint, ProofCheckError> {
    crate::note::open_checkpoint(note_text.as_bytes(), log_key, None)
        .map(|(_, checkpoint)| checkpoint)
        .map_err(|e| ProofCheckError::Checkpoint(e.to_string()))
}

fn decode_all(hashes: &[String]) -> Result<Vec<Hash>, ProofCheckError> {
    hashes
        .iter()
        .map(|h| {
            decode_hash_b64(h).ok_or_else(|| {
                ProofCheckError::Inclusion(format!("{h:?} is not a base64 32-byte hash"))
            })
        })
        .collect()
}

impl EntryProof {
    /// Checks the log's signature on the checkpoint and that the statement
    /// (the bytes submitted, or the `statement` field) is at `index` under it.
    pub fn verify(
        &self,
        log_key: &Verifier,
        statement: Option<&[u8]>,
    ) -> Result<Checkpoint, ProofCheckError> {
        let checkpoint = verify_checkpoint(log_key, &self.checkpoint)?;
        let stated = decode_hash_b64(&self.leaf_hash).ok_or(ProofCheckError::LeafHash)?;
        let bytes = statement.or(self.statement.as_deref().map(str::as_bytes));
        if let Some(bytes) = bytes {
            if leaf_hash(bytes) != stated {
                return Err(ProofCheckError::LeafHash);
            }
        }
        let proof = decode_all(&self.inclusion_proof)?;
        verify_inclusion(
            self.index,
            checkpoint.size,
            &stated,
            &proof,
            &checkpoint.root,
        )
        .map_err(|e| ProofCheckError::Inclusion(e.to_string()))?;
        Ok(checkpoint)
    }
}

/// Decodes a list of base64 proof hashes.
pub fn decode_proof(hashes: &[String]) -> Result<Vec<Hash>, ProofCheckError> {
    decode_all(hashes)
}

/// An HTTP client for one log.
///
/// [`LogClient::submit`], [`LogClient::submit_waiting`] and
/// [`LogClient::receipt`] retry transient failures under the client's
/// [`RetryPolicy`] (by default for up to two minutes; see
/// [`LogClient::with_retry`]). Every other call makes one attempt: an
/// auditor wants "could not check" promptly, and admin calls have a person
/// waiting for them.
#[derive(Clone)]
pub struct LogClient {
    base: String,
    http: reqwest::Client,
    retry: RetryPolicy,
}

impl LogClient {
    /// A client for the log at `base_url` (for example `http://127.0.0.1:8080`),
    /// with the default [`RetryPolicy`].
    pub fn new(base_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        LogClient {
            base: base_url.trim_end_matches('/').to_string(),
            http,
            retry: RetryPolicy::default(),
        }
    }

    /// The same client with another retry policy for submissions and
    /// receipts ([`RetryPolicy::none`] turns retrying off).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The retry policy of submissions and receipts.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The answer's `Retry-After`, if it has a valid one.
    fn retry_after(response: &reqwest::Response) -> Option<std::time::Duration> {
        response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after)
    }

    /// An error answer as [`ClientError::Api`]; `body` is the log's JSON
    /// error, or Null when the answer was not JSON.
    fn api_error(
        status: u16,
        body: Value,
        text: &str,
        retry_after: Option<std::time::Duration>,
    ) -> ClientError {
        let code = body["error"].as_str().unwrap_or("").to_string();
        let message = match body["message"].as_str() {
            Some(m) => m.to_string(),
            None => text.chars().take(200).collect(),
        };
        ClientError::Api {
            status,
            code,
            message,
            body,
            retry_after,
        }
    }

    async fn json(response: reqwest::Response) -> Result<(u16, Value), ClientError> {
        let status = response.status().as_u16();
        let retry_after = Self::retry_after(&response);
        let text = response.text().await?;
        let body: Value = match serde_json::from_str(&text) {
            Ok(body) => body,
            // A proxy or load balancer in front of the log may answer an
            // unavailable log with its own page: still a status to retry on.
            Err(_) if matches!(status, 429 | 502 | 503 | 504) => {
                return Err(Self::api_error(status, Value::Null, &text, retry_after))
            }
            Err(_) => {
                return Err(ClientError::Unexpected(format!(
                    "status {status}, body {text:?}"
                )))
            }
        };
        if status >= 400 {
            return Err(Self::api_error(status, body, &text, retry_after));
        }
        Ok((status, body))
    }

    fn parse<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ClientError> {
        serde_json::from_value(body).map_err(|e| ClientError::Unexpected(e.to_string()))
    }

    /// `GET /checkpoint`
    pub async fn checkpoint(&self) -> Result<String, ClientError> {
        let response = self.http.get(self.url("/checkpoint")).send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        if status != 200 {
            return Err(ClientError::Unexpected(format!(
                "checkpoint answered {status}: {text}"
            )));
        }
        Ok(text)
    }

    /// `POST /v1/roots`: returns the HTTP status (201 appended, 200 identical retry) and the entry.
    pub async fn submit(&self, note: &[u8]) -> Result<(u16, EntryProof), ClientError> {
        self.submit_waiting(note, false).await
    }

    /// `POST /v1/roots`, with `?wait=witnessed` when `witnessed`: the answer
    /// then comes once a checkpoint meeting the log's witness policy covers
    /// the entry (503 `not_witnessed_yet` if none does within the log's wait).
    ///
    /// Transient failures are retried under the client's [`RetryPolicy`]; a
    /// retry of a submission that was in fact logged is answered 200 with
    /// that entry, so the status says whether *this call* appended it only
    /// when no retry happened.
    pub async fn submit_waiting(
        &self,
        note: &[u8],
        witnessed: bool,
    ) -> Result<(u16, EntryProof), ClientError> {
        retry::run(&self.retry, "submitting the statement", || {
            self.submit_once(note, witnessed)
        })
        .await
    }

    /// One `POST /v1/roots`.
    async fn submit_once(
        &self,
        note: &[u8],
        witnessed: bool,
    ) -> Result<(u16, EntryProof), ClientError> {
        let path = if witnessed {
            "/v1/roots?wait=witnessed"
        } else {
            "/v1/roots"
        };
        let response = self
            .http
            .post(self.url(path))
            .header("content-type", "text/plain; charset=utf-8")
            .body(note.to_vec())
            .send()
            .await?;
        let (status, body) = Self::json(response).await?;
        Ok((status, Self::parse(body)?))
    }

    /// `POST /v1/tenants` with the admin token.
    pub async fn add_tenant(
        &self,
        token: &str,
        id: &str,
        vkey: &str,
    ) -> Result<(u16, Value), ClientError> {
        let response = self
            .http
            .post(self.url("/v1/tenants"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "id": id, "vkey": vkey }))
            .send()
            .await?;
        Self::json(response).await
    }

    /// `POST /v1/tenants/{id}/keys` with the admin token: `action` is `add`,
    /// `retire` or `revoke`; `effective` (RFC 3339) only for a backdated revocation.
    pub async fn change_key(
        &self,
        token: &str,
        id: &str,
        action: &str,
        vkey: &str,
        effective: Option<&str>,
    ) -> Result<(u16, Value), ClientError> {
        let mut body = serde_json::json!({ "action": action, "vkey": vkey });
        if let Some(t) = effective {
            body["effective"] = Value::String(t.to_string());
        }
        let response = self
            .http
            .post(self.url(&format!("/v1/tenants/{id}/keys")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await?;
        Self::json(response).await
    }

    /// Any JSON GET, for endpoints without a typed helper.
    pub async fn get_json(&self, path: &str) -> Result<Value, ClientError> {
        let response = self.http.get(self.url(path)).send().await?;
        Ok(Self::json(response).await?.1)
    }

    /// `GET /v1/roots/{tenant}/{date}`
    pub async fn root(&self, tenant: &str, date: &str) -> Result<EntryProof, ClientError> {
        Self::parse(self.get_json(&format!("/v1/roots/{tenant}/{date}")).await?)
    }

    /// `GET /v1/entries/{index}`: the entry's statement text and leaf hash
    /// (`inclusion_proof` and `checkpoint` are empty in this answer).
    pub async fn entry(&self, index: u64) -> Result<Entry, ClientError> {
        Self::parse(self.get_json(&format!("/v1/entries/{index}")).await?)
    }

    /// `GET /v1/tenants/{id}`: the tenant's registered keys, as the log answers.
    pub async fn tenant(&self, id: &str) -> Result<Value, ClientError> {
        self.get_json(&format!("/v1/tenants/{id}")).await
    }

    /// `GET /v1/log/{date}`: every root published for the date.
    pub async fn roots_for_date(&self, date: &str) -> Result<Value, ClientError> {
        self.get_json(&format!("/v1/log/{date}")).await
    }

    /// `GET /v1/proof/inclusion?index=&size=`
    pub async fn inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>, ClientError> {
        let body = self
            .get_json(&format!("/v1/proof/inclusion?index={index}&size={size}"))
            .await?;
        let hashes: Vec<String> = Self::parse(body["inclusion_proof"].clone())?;
        decode_proof(&hashes).map_err(|e| ClientError::Unexpected(e.to_string()))
    }

    /// `GET /v1/roots/{tenant}/{date}/proof`: the c2sp.org/tlog-proof@v1 file.
    pub async fn proof_file(&self, tenant: &str, date: &str) -> Result<TlogProof, ClientError> {
        let response = self
            .http
            .get(self.url(&format!("/v1/roots/{tenant}/{date}/proof")))
            .send()
            .await?;
        let status = response.status().as_u16();
        let retry_after = Self::retry_after(&response);
        let bytes = response.bytes().await?;
        if status != 200 {
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err(Self::api_error(
                status,
                body,
                &String::from_utf8_lossy(&bytes),
                retry_after,
            ));
        }
        TlogProof::parse(&bytes).map_err(|e| ClientError::Unexpected(e.to_string()))
    }

    /// Where the log says tenant's statement for `date` is: `Found(index)`,
    /// `NotInLog` (the API answered 404), or `NoApi` (what answered is not
    /// a rootlog API, e.g. a static mirror). The answer is a hint only; an
    /// auditor checks the entry at that index itself.
    pub async fn locate(&self, tenant: &str, date: &str) -> Result<Located, ClientError> {
        match self.root(tenant, date).await {
            Ok(entry) => Ok(Located::Found(entry.index)),
            Err(ClientError::Api { status: 404, .. }) => Ok(Located::NotInLog),
            // A 404 page, or anything else that is not the API's JSON.
            Err(ClientError::Unexpected(_)) => Ok(Located::NoApi),
            Err(e) => Err(e),
        }
    }

    /// A tlog-tiles client for the same base URL (the log serves its tiles).
    pub fn tiles(&self) -> Result<TileClient, ClientError> {
        TileClient::new(&self.base).map_err(|e| ClientError::Tiles(format!("{e:#}")))
    }

    /// A receipt for tenant's statement for `date` (`crate::receipt`): the
    /// statement, its proof file against the earliest checkpoint covering it
    /// that met the witness policy, and the tenant's key-change entries with
    /// their inclusion proofs into that checkpoint. Nothing here is trusted:
    /// the caller verifies the receipt (`Receipt::judge`) before keeping it.
    /// `not_witnessed_yet` (503) until a witnessed checkpoint covers it,
    /// which the client's [`RetryPolicy`] waits out like any transient
    /// failure (the whole fetch is repeated: it only reads).
    pub async fn receipt(&self, tenant: &str, date: &str) -> Result<Receipt, ClientError> {
        retry::run(&self.retry, "fetching the receipt", || {
            self.receipt_once(tenant, date)
        })
        .await
    }

    /// One attempt at [`LogClient::receipt`].
    async fn receipt_once(&self, tenant: &str, date: &str) -> Result<Receipt, ClientError> {
        let entry = self.root(tenant, date).await?;
        let proof = self.proof_file(tenant, date).await?;
        let statement = entry.statement.ok_or_else(|| {
            ClientError::Unexpected("the entry came without its statement".into())
        })?;
        if proof.index != entry.index {
            return Err(ClientError::Unexpected(format!(
                "the proof file is for index {}, the entry is at {}",
                proof.index, entry.index
            )));
        }
        let size = Note::parse(proof.checkpoint.as_bytes())
            .ok()
            .and_then(|n| Checkpoint::parse(&n.text).ok())
            .map(|c| c.size)
            .ok_or_else(|| {
                ClientError::Unexpected("the proof's checkpoint does not parse".into())
            })?;
        let record: crate::tenant_key::TenantRecord = Self::parse(self.tenant(tenant).await?)?;
        let mut history = Vec::new();
        for index in record.change_indexes().into_iter().filter(|&i| i < size) {
            let change = self.entry(index).await?;
            let hashes = self.inclusion(index, size).await?;
            history.push(KeyChangeProof {
                index,
                entry: change.statement,
                inclusion_proof: crate::receipt::encode_proof(&hashes),
            });
        }
        Ok(Receipt::new(statement.as_bytes(), &proof, history))
    }

    /// `GET /v1/proof/consistency?old=&new=`
    pub async fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, ClientError> {
        let body = self
            .get_json(&format!("/v1/proof/consistency?old={old}&new={new}"))
            .await?;
        let hashes: Vec<String> = Self::parse(body["consistency_proof"].clone())?;
        decode_proof(&hashes).map_err(|e| ClientError::Unexpected(e.to_string()))
    }
}
