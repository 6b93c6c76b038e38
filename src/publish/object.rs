//! The mirror in S3-compatible object storage (`--publish-url
//! s3://BUCKET/PREFIX`): a [`Sink`] over the `object_store` crate's S3
//! client, configured from the environment like every S3 tool
//! (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`; path-style requests unless
//! `AWS_VIRTUAL_HOSTED_STYLE_REQUEST=true` or `AWS_S3_FORCE_PATH_STYLE=false`).
//!
//! Invariants:
//!
//! - A PUT that returned is durable in the store (S3's contract), so
//!   [`Sink::sync`] has nothing to do; the flow's order (tiles and bundles,
//!   then locators, then the checkpoint) is the order of completed PUTs.
//! - Immutable objects (tiles, bundles, partials) are never overwritten with
//!   other bytes: each is created with a conditional write (`If-None-Match:
//!   *`, `PutMode::Create`) where the store enforces it; on a store that
//!   ignores the condition (found by a probe at open) the object is read
//!   first and written only if absent. An existing object with the same
//!   bytes is a success (an idempotent retry); with other bytes a
//!   [`Conflict`].
//! - Nothing is ever deleted: partial tiles superseded by full ones stay
//!   (they are still correct, and buckets under S3 Object Lock refuse
//!   deletes anyway).
//! - Every PUT carries an `x-amz-checksum-sha256` header, which buckets with
//!   Object Lock require.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ObjectStore, PutMode, PutOptions, PutPayload, RetryConfig,
};
use tokio::runtime::Handle;

use super::sink::{Class, Conflict, Sink};
use crate::tiles::TileId;

/// An `s3://BUCKET/PREFIX` URL: the bucket and the key prefix (no leading
/// or trailing `/`; empty for the bucket's root) the mirror lives under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub prefix: String,
}

impl std::str::FromStr for S3Url {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let Some(rest) = s.strip_prefix("s3://") else {
            bail!("{s:?} is not an s3:// URL: give s3://BUCKET or s3://BUCKET/PREFIX");
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = !bucket.is_empty()
            && bucket.len() <= 63
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            bail!("{s:?}: {bucket:?} is not a bucket name (lowercase letters, digits, '.' and '-', at most 63)");
        }
        let prefix = prefix.trim_matches('/');
        let segments_ok = prefix.is_empty()
            || prefix.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
            });
        if !segments_ok {
            bail!("{s:?}: the prefix must be /-separated names of letters, digits, '-', '_', '.' and '~' (no empty, '.' or '..' parts)");
        }
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// The probe object written at open to learn whether the store enforces
/// `If-None-Match: *` (always these bytes, so writing it again is harmless).
const PROBE: &str = "rootlog-write-probe";
const PROBE_BYTES: &[u8] =
    b"rootlog writes this object twice with If-None-Match: * to learn whether the store refuses to overwrite objects.\n";

/// PUTs in flight at once within one step of the flow.
const CONCURRENT_PUTS: usize = 32;

/// A mirror in an object store (see the module's invariants).
pub struct ObjectSink {
    store: Arc<dyn ObjectStore>,
    name: String,
    prefix: String,
    handle: Handle,
    /// Whether the store refuses a conditional create over an existing
    /// object; if not, immutable objects are read before they are written.
    enforced: bool,
}

/// The S3 client for `url`, configured from the environment.
fn s3_store(url: &S3Url) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&url.bucket)
        .with_checksum_algorithm(object_store::aws::Checksum::SHA256)
        // The flow retries a failed step with its own backoff; the client's
        // retries only ride out a blip.
        .with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            ..RetryConfig::default()
        });
    match std::env::var("AWS_S3_FORCE_PATH_STYLE").as_deref() {
        Ok("true") | Ok("1") => builder = builder.with_virtual_hosted_style_request(false),
        Ok("false") | Ok("0") => builder = builder.with_virtual_hosted_style_request(true),
        _ => {}
    }
    // An explicit http:// endpoint (a store on the local network) is the
    // operator's choice of plain HTTP.
    if builder
        .get_config_value(&AmazonS3ConfigKey::Endpoint)
        .is_some_and(|e| e.starts_with("http://"))
    {
        builder = builder.with_allow_http(true);
    }
    let store = builder.build().with_context(|| {
        format!("cannot configure the S3 client for {url} (set AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
    })?;
    Ok(Arc::new(store))
}

impl ObjectSink {
    /// Opens the mirror at `url`, with the S3 client configured from the
    /// environment. Blocks on `handle`; call it off the async workers.
    pub fn open(url: &S3Url, handle: Handle) -> anyhow::Result<Self> {
        Self::with_store(s3_store(url)?, url.to_string(), &url.prefix, handle)
    }

    /// Opens a mirror under `prefix` in `store` (named `name` in messages),
    /// probing whether the store enforces conditional creates.
    pub fn with_store(
        store: Arc<dyn ObjectStore>,
        name: String,
        prefix: &str,
        handle: Handle,
    ) -> anyhow::Result<Self> {
        let mut sink = ObjectSink {
            store,
            name,
            prefix: prefix.trim_matches('/').to_string(),
            handle,
            enforced: false,
        };
        sink.enforced = sink.handle.block_on(sink.probe())?;
        // Once per process: the server probes at start and again when its
        // publisher opens the bucket.
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !sink.enforced && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::warn!(target = %sink.name, "the object store does not refuse overwrites (If-None-Match: *); each tile is read before it is written instead, so only a concurrent writer could slip past the check");
        }
        Ok(sink)
    }

    /// Whether the store refuses a conditional create of an existing object.
    async fn probe(&self) -> anyhow::Result<bool> {
        let path = self.key(PROBE);
        for attempt in 0..2 {
            let opts = PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            match self
                .store
                .put_opts(&path, PutPayload::from_static(PROBE_BYTES), opts)
                .await
            {
                Ok(_) if attempt == 1 => return Ok(false),
                Ok(_) => {}
                Err(object_store::Error::AlreadyExists { .. })
                | Err(object_store::Error::Precondition { .. }) => {
                    if attempt == 1 {
                        return Ok(true);
                    }
                }
                Err(object_store::Error::NotImplemented) => return Ok(false),
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot write {} to {}", PROBE, self.name))
                }
            }
        }
        Ok(false)
    }

    /// The object key of mirror path `rel`.
    fn key(&self, rel: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{}/{rel}", self.prefix))
        }
    }

    async fn get(&self, rel: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self.store.get(&self.key(rel)).await {
            Ok(got) => {
                let bytes = got
                    .bytes()
                    .await
                    .with_context(|| format!("cannot read {rel} from {}", self.name))?;
                Ok(Some(bytes.to_vec()))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {rel} from {}", self.name)),
        }
    }

    /// Same bytes: fine; other bytes: a [`Conflict`]; gone again: an error
    /// to retry (something deleted it between the two requests).
    async fn same_or_conflict(&self, rel: &str, bytes: &[u8]) -> anyhow::Result<()> {
        match self.get(rel).await? {
            Some(existing) if existing == bytes => Ok(()),
            Some(_) => Err(Conflict {
                target: self.name.clone(),
                path: rel.to_string(),
            }
            .into()),
            None => bail!(
                "{}: {rel} was refused as existing but cannot be read; retrying",
                self.name
            ),
        }
    }

    async fn put(&self, rel: &str, bytes: &[u8], class: Class) -> anyhow::Result<()> {
        let immutable = class.is_immutable();
        if immutable && !self.enforced && self.get(rel).await?.is_some() {
            return self.same_or_conflict(rel, bytes).await;
        }
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::CacheControl, class.cache_control().into());
        attributes.insert(Attribute::ContentType, class.content_type().into());
        let opts = PutOptions {
            mode: if immutable && self.enforced {
                PutMode::Create
            } else {
                PutMode::Overwrite
            },
            attributes,
            ..PutOptions::default()
        };
        let payload = PutPayload::from(bytes.to_vec());
        match self.store.put_opts(&self.key(rel), payload, opts).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => {
                self.same_or_conflict(rel, bytes).await
            }
            Err(e) => Err(e).with_context(|| format!("cannot write {rel} to {}", self.name)),
        }
    }
}

impl Sink for ObjectSink {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn read(&self, rel: &str) -> anyhow::Result<Option<Vec<u8>>> {
        self.handle.block_on(self.get(rel))
    }

    fn write_all(&self, files: &[(String, Vec<u8>, Class)]) -> anyhow::Result<()> {
        self.handle.block_on(async {
            for chunk in files.chunks(CONCURRENT_PUTS) {
                let puts = chunk
                    .iter()
                    .map(|(rel, bytes, class)| self.put(rel, bytes, *class));
                let results = futures::future::join_all(puts).await;
                // A conflict anywhere wins over a transient error elsewhere.
                let mut first_error = None;
                for result in results {
                    if let Err(e) = result {
                        if super::sink::is_conflict(&e) {
                            return Err(e);
                        }
                        first_error.get_or_insert(e);
                    }
                }
                if let Some(e) = first_error {
                    return Err(e);
                }
            }
            Ok(())
        })
    }

    fn sync(&self) -> anyhow::Result<()> {
        Ok(())
    }

    /// Kept: never delete in the bucket (see the module's invariants).
    fn superseded(&self, _tile: TileId) -> anyhow::Result<()> {
        Ok(())
    }

    fn sweep(&self, _size: u64) -> anyhow::Result<()> {
        Ok(())
    }

    /// A bucket gets its locators in the same steps as its tiles, before
    /// any checkpoint (it was never published without them).
    fn has_locators(&self) -> anyhow::Result<bool> {
        Ok(true)
    }

    fn begin_locators(&self) -> anyhow::Result<String> {
        Ok(crate::locator::DIR.to_string())
    }

    fn finish_locators(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// For `rootlog restore --from-mirror s3://...`: copies the bucket's
/// checkpoint and every entry bundle it covers (the partial bundle of its
/// size, or the full one) into the new directory `dir`, in the mirror
/// layout, for the restore to read and verify like a mirror directory.
/// Nothing read here is trusted: the restore checks every entry against
/// the checkpoint and the log key.
pub fn download_entries(url: &S3Url, dir: &std::path::Path) -> anyhow::Result<u64> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let store = s3_store(url)?;
    let prefix = url.prefix.clone();
    let key = move |rel: &str| {
        if prefix.is_empty() {
            ObjectPath::from(rel)
        } else {
            ObjectPath::from(format!("{prefix}/{rel}"))
        }
    };
    runtime.block_on(async {
        let get = |rel: String| {
            let (store, path) = (store.clone(), key(&rel));
            async move {
                match store.get(&path).await {
                    Ok(got) => Ok(Some(got.bytes().await?.to_vec())),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(anyhow::Error::from(e)),
                }
            }
        };
        let write = |rel: &str, bytes: &[u8]| -> anyhow::Result<()> {
            let path = dir.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
        };
        let note = get("checkpoint".into())
            .await
            .with_context(|| format!("cannot read {url}/checkpoint"))?
            .with_context(|| format!("{url} has no checkpoint: nothing was published there"))?;
        let text = crate::note::Note::parse(&note)
            .map_err(|e| anyhow::anyhow!("{url}/checkpoint: {e}"))?;
        let size = crate::note::Checkpoint::parse(&text.text)
            .map_err(|e| anyhow::anyhow!("{url}/checkpoint: {e}"))?
            .size;
        write("checkpoint", &note)?;
        let width = u64::from(crate::tiles::TILE_WIDTH);
        for index in 0..size.div_ceil(width) {
            let count = (size - index * width).min(width) as u16;
            let rel = crate::tiles::entries_path(index, count);
            let full = crate::tiles::entries_path(index, crate::tiles::TILE_WIDTH);
            // The restore reads the full bundle where a partial one is gone.
            let found = match get(rel.clone()).await? {
                Some(bytes) => Some((rel.clone(), bytes)),
                None if rel != full => get(full.clone()).await?.map(|b| (full, b)),
                None => None,
            };
            let (at, bytes) =
                found.with_context(|| format!("{url} has no {rel}: the mirror is incomplete"))?;
            write(&at, &bytes)?;
        }
        Ok(size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn sink(store: Arc<InMemory>, rt: &tokio::runtime::Runtime) -> ObjectSink {
        ObjectSink::with_store(store, "s3://test/log".into(), "log/", rt.handle().clone()).unwrap()
    }

    #[test]
    fn tiles_are_created_once_and_never_overwritten_with_other_bytes() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let store = Arc::new(InMemory::new());
        let sink = sink(store.clone(), &rt);
        assert!(sink.enforced, "the in-memory store refuses a second create");
        let tile = ("tile/0/000".to_string(), vec![1u8; 32], Class::Full);
        sink.write_all(std::slice::from_ref(&tile)).unwrap();
        // An idempotent retry with the same bytes is fine.
        sink.write_all(std::slice::from_ref(&tile)).unwrap();
        let other = ("tile/0/000".to_string(), vec![2u8; 32], Class::Full);
        let err = sink.write_all(&[other]).unwrap_err();
        assert!(super::super::sink::is_conflict(&err), "{err:#}");
        assert!(format!("{err:#}").contains("tile/0/000"), "{err:#}");
        assert_eq!(sink.read("tile/0/000").unwrap(), Some(vec![1u8; 32]));
        // The key is under the prefix; the checkpoint moves.
        let got = rt
            .block_on(store.get(&ObjectPath::from("log/tile/0/000")))
            .unwrap();
        assert_eq!(
            got.attributes
                .get(&Attribute::CacheControl)
                .map(|v| v.as_ref()),
            Some("public, max-age=31536000, immutable")
        );
        for note in [b"one".to_vec(), b"two".to_vec()] {
            sink.write_all(&[("checkpoint".into(), note.clone(), Class::Checkpoint)])
                .unwrap();
            assert_eq!(sink.read("checkpoint").unwrap(), Some(note));
        }
        let got = rt
            .block_on(store.get(&ObjectPath::from("log/checkpoint")))
            .unwrap();
        assert_eq!(
            got.attributes
                .get(&Attribute::CacheControl)
                .map(|v| v.as_ref()),
            Some("no-cache")
        );
        assert_eq!(sink.read("tile/0/001").unwrap(), None);
        // Nothing is deleted: superseded partials stay.
        let partial = ("tile/0/000.p/3".to_string(), vec![1u8; 96], Class::Partial);
        sink.write_all(&[partial]).unwrap();
        sink.superseded(TileId { level: 0, index: 0 }).unwrap();
        sink.sweep(1 << 20).unwrap();
        assert!(sink.read("tile/0/000.p/3").unwrap().is_some());
    }

    #[test]
    fn s3_urls_parse_and_print() {
        let url: S3Url = "s3://rootlog-mirror/logs/prod/".parse().unwrap();
        assert_eq!(url.bucket, "rootlog-mirror");
        assert_eq!(url.prefix, "logs/prod");
        assert_eq!(url.to_string(), "s3://rootlog-mirror/logs/prod");
        let root: S3Url = "s3://b".parse().unwrap();
        assert_eq!((root.bucket.as_str(), root.prefix.as_str()), ("b", ""));
        for bad in [
            "https://b/x",
            "s3://",
            "s3://B/x",
            "s3://b/../x",
            "s3://b/a//c",
            "s3://b/a b",
        ] {
            assert!(bad.parse::<S3Url>().is_err(), "{bad}");
        }
    }
}
