//! A Rust client for a rootlog server, and the offline checks an answer must
//! pass: the checkpoint's log signature and the entry's inclusion proof.
//! The CLI uses it; the archive service can embed it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::merkle::{leaf_hash, verify_inclusion, Hash};
use crate::note::{decode_hash_b64, open, Checkpoint, Note, Verifier};

/// An error talking to a log.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the log: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the log answered {status}: {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        body: Value,
    },
    #[error("unexpected answer from the log: {0}")]
    Unexpected(String),
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
    let note = Note::parse(note_text.as_bytes())
        .map_err(|e| ProofCheckError::Checkpoint(e.to_string()))?;
    open(&note, std::slice::from_ref(log_key))
        .map_err(|e| ProofCheckError::Checkpoint(e.to_string()))?;
    Checkpoint::parse(&note.text).map_err(|e| ProofCheckError::Checkpoint(e.to_string()))
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
#[derive(Clone)]
pub struct LogClient {
    base: String,
    http: reqwest::Client,
}

impl LogClient {
    /// A client for the log at `base_url` (for example `http://127.0.0.1:8080`).
    pub fn new(base_url: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        LogClient {
            base: base_url.trim_end_matches('/').to_string(),
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn json(response: reqwest::Response) -> Result<(u16, Value), ClientError> {
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body: Value = serde_json::from_str(&text)
            .map_err(|_| ClientError::Unexpected(format!("status {status}, body {text:?}")))?;
        if status >= 400 {
            let code = body["error"].as_str().unwrap_or("").to_string();
            let message = body["message"].as_str().unwrap_or("").to_string();
            return Err(ClientError::Api {
                status,
                code,
                message,
                body,
            });
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
        let response = self
            .http
            .post(self.url("/v1/roots"))
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

    /// Any JSON GET, for endpoints without a typed helper.
    pub async fn get_json(&self, path: &str) -> Result<Value, ClientError> {
        let response = self.http.get(self.url(path)).send().await?;
        Ok(Self::json(response).await?.1)
    }

    /// `GET /v1/roots/{tenant}/{date}`
    pub async fn root(&self, tenant: &str, date: &str) -> Result<EntryProof, ClientError> {
        Self::parse(self.get_json(&format!("/v1/roots/{tenant}/{date}")).await?)
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
