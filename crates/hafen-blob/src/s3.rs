//! S3-compatible blob store (AWS S3, Ceph RGW, MinIO, Garage, …) through `opendal`.
//!
//! A block is the object `[PREFIX/]blocks/ab/cd/<hash>` in the bucket, holding exactly the
//! block's bytes (blocks are at most 4 MiB, so each is one PUT; an S3 PUT is atomic, so there
//! are no temporary objects to clean up). Every read verifies the BLAKE3 hash. Storing a block
//! that already exists writes it again: the bytes are the same (content addressing) and the
//! fresh `Last-Modified` protects it from a concurrent garbage collection, like the disk
//! store's mtime refresh.
//!
//! Requests are retried with exponential back-off on transient errors (connection failures,
//! 5xx, throttling) a bounded number of times, each attempt under a timeout, so an unreachable
//! endpoint fails within a few seconds with a message naming the endpoint and bucket (never
//! the credentials). Credentials come from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! optionally `AWS_SESSION_TOKEN`; without them requests are sent unsigned (anonymous).
//! Addressing is path-style (`ENDPOINT/BUCKET/KEY`), which MinIO, Ceph and Garage expect;
//! `virtual_host=true` switches to virtual-hosted style.

use crate::*;
use opendal::layers::{RetryLayer, TimeoutLayer};
use opendal::{ErrorKind, HttpTransporter, OperationContext, Operator};
use std::time::Duration;

/// Where and how to reach an S3 bucket; parsed from an `s3://` URL by [`S3Config::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing `/`), empty for the bucket root.
    pub prefix: String,
    /// `http://HOST:PORT` or `https://…`; `None` means AWS for the region.
    pub endpoint: Option<String>,
    pub region: String,
    pub virtual_host_style: bool,
    /// Attempts per request (first try included).
    pub attempts: usize,
    /// Limit for one attempt of a request.
    pub request_timeout: Duration,
}

impl S3Config {
    /// Parses `s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=REGION` (both query
    /// parameters optional; `region` defaults to `us-east-1`; also `virtual_host=true`,
    /// `attempts=N`, `timeout_seconds=N`). Values may be percent-encoded.
    pub fn parse(url: &str) -> BlobResult<S3Config> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| BlobError::InvalidUrl("an S3 blob store url starts with s3://".into()))?;
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        if bucket.is_empty() || bucket.contains('@') || bucket.contains(':') {
            return Err(BlobError::InvalidUrl(
                "s3://BUCKET[/PREFIX]?endpoint=…&region=… needs a bucket name (credentials belong in \
                 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, not in the url)"
                    .into(),
            ));
        }
        let mut config = S3Config {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            endpoint: None,
            region: "us-east-1".to_string(),
            virtual_host_style: false,
            attempts: 4,
            request_timeout: Duration::from_secs(30),
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| BlobError::InvalidUrl(format!("s3 url parameter {key} is not UTF-8")))?
                .into_owned();
            match key {
                "endpoint" => {
                    if !(value.starts_with("http://") || value.starts_with("https://")) {
                        return Err(BlobError::InvalidUrl("s3 endpoint must start with http:// or https://".into()));
                    }
                    config.endpoint = Some(value.trim_end_matches('/').to_string());
                }
                "region" if !value.is_empty() => config.region = value,
                "virtual_host" => config.virtual_host_style = matches!(value.as_str(), "true" | "1" | "yes"),
                "attempts" => {
                    config.attempts = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=20).contains(n))
                        .ok_or_else(|| BlobError::InvalidUrl("s3 attempts must be 1 to 20".into()))?
                }
                "timeout_seconds" => {
                    config.request_timeout = Duration::from_secs(
                        value
                            .parse::<u64>()
                            .ok()
                            .filter(|n| *n > 0)
                            .ok_or_else(|| BlobError::InvalidUrl("s3 timeout_seconds must be positive".into()))?,
                    )
                }
                other => {
                    return Err(BlobError::InvalidUrl(format!(
                        "unknown s3 url parameter {other:?} (known: endpoint, region, virtual_host, attempts, \
                         timeout_seconds)"
                    )))
                }
            }
        }
        Ok(config)
    }

    /// `endpoint/bucket/prefix` for messages (no credentials).
    fn location(&self) -> String {
        let endpoint = self.endpoint.clone().unwrap_or_else(|| format!("aws:{}", self.region));
        if self.prefix.is_empty() {
            format!("{endpoint} bucket {}", self.bucket)
        } else {
            format!("{endpoint} bucket {} prefix {}", self.bucket, self.prefix)
        }
    }
}

pub struct S3BlobStore {
    op: Operator,
    location: String,
}

impl S3BlobStore {
    /// Builds the client; nothing is sent yet (use [`BlobStore::check`] to probe the bucket).
    pub fn open(config: &S3Config) -> BlobResult<S3BlobStore> {
        // reqwest's rustls needs a process-wide crypto provider; the first install wins.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let invalid = |what: &str, error: &dyn std::fmt::Display| {
            BlobError::Backend(format!("cannot set up the S3 store at {}: {what}: {error}", config.location()))
        };
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| invalid("http client", &error))?;
        let mut builder = opendal::services::S3::default()
            .bucket(&config.bucket)
            .region(&config.region)
            .root(&format!("/{}", config.prefix))
            // Only the environment variables below; no profile files, no instance metadata probe.
            .disable_config_load()
            .disable_ec2_metadata();
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint(endpoint);
        }
        if config.virtual_host_style {
            builder = builder.enable_virtual_host_style();
        }
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        match (variable("AWS_ACCESS_KEY_ID"), variable("AWS_SECRET_ACCESS_KEY")) {
            (Some(key), Some(secret)) => {
                builder = builder.access_key_id(&key).secret_access_key(&secret);
                if let Some(token) = variable("AWS_SESSION_TOKEN") {
                    builder = builder.session_token(&token);
                }
            }
            _ => builder = builder.skip_signature(),
        }
        let transport = HttpTransporter::new(opendal_http_transport_reqwest::ReqwestTransport::new(client));
        let op = Operator::new(builder)
            .map_err(|error| invalid("configuration", &error.message()))?
            .with_context(OperationContext::new().with_http_transport(transport))
            .layer(TimeoutLayer::new().with_timeout(config.request_timeout).with_io_timeout(config.request_timeout))
            .layer(
                RetryLayer::new()
                    .with_max_times(config.attempts.saturating_sub(1))
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_delay(Duration::from_secs(2))
                    .with_factor(2.0)
                    .with_jitter(),
            );
        Ok(S3BlobStore { op, location: config.location() })
    }

    fn key_of(hash: &BlockHash) -> String {
        let text = hash.as_str();
        format!("blocks/{}/{}/{}", &text[0..2], &text[2..4], text)
    }

    /// A readable error without credentials: operation, key, store location, kind and causes.
    fn error(&self, operation: &str, key: &str, error: opendal::Error) -> BlobError {
        let mut message = format!("S3 {operation} of {key} at {} failed: {}", self.location, error.kind());
        if !error.message().is_empty() {
            message.push_str(": ");
            message.push_str(error.message());
        }
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        if error.kind() == ErrorKind::Unexpected && error.message() == "send http request" {
            message.push_str(" (is the endpoint reachable?)");
        }
        BlobError::Backend(message)
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    /// An S3 PUT replaces an existing object atomically: both writes are the same request.
    async fn put_stored(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<()> {
        let key = Self::key_of(hash);
        self.op.write(&key, stored).await.map_err(|error| self.error("PUT", &key, error))?;
        Ok(())
    }

    async fn replace_stored(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<()> {
        self.put_stored(hash, stored).await
    }

    async fn get_stored(&self, hash: &BlockHash) -> BlobResult<Bytes> {
        let key = Self::key_of(hash);
        match self.op.read(&key).await {
            Ok(buffer) => Ok(buffer.to_bytes()),
            Err(error) if error.kind() == ErrorKind::NotFound => Err(BlobError::Missing(hash.clone())),
            Err(error) => Err(self.error("GET", &key, error)),
        }
    }

    async fn delete(&self, hash: &BlockHash) -> BlobResult<()> {
        let key = Self::key_of(hash);
        match self.op.delete(&key).await {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(error) => Err(self.error("DELETE", &key, error)),
        }
    }

    async fn delete_if_older(&self, hash: &BlockHash, cutoff: SystemTime) -> BlobResult<bool> {
        let key = Self::key_of(hash);
        let modified = match self.op.stat(&key).await {
            Ok(meta) => meta.last_modified().map(SystemTime::from).unwrap_or_else(SystemTime::now),
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(self.error("HEAD", &key, error)),
        };
        if modified > cutoff {
            return Ok(false);
        }
        self.delete(hash).await?;
        Ok(true)
    }

    async fn list(&self) -> BlobResult<Vec<StoredBlock>> {
        // ListObjectsV2 without delimiter; opendal follows the continuation tokens.
        let entries = match self.op.list_with("blocks/").recursive(true).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(self.error("LIST", "blocks/", error)),
        };
        let mut found = Vec::with_capacity(entries.len());
        for entry in entries {
            if !entry.metadata().is_file() {
                continue;
            }
            let Some(hash) = entry.name().rsplit('/').next().and_then(BlockHash::parse) else {
                continue;
            };
            if entry.path() != Self::key_of(&hash) {
                continue;
            }
            let modified = match entry.metadata().last_modified() {
                Some(time) => SystemTime::from(time),
                None => {
                    let meta =
                        self.op.stat(entry.path()).await.map_err(|error| self.error("HEAD", entry.path(), error))?;
                    meta.last_modified().map(SystemTime::from).unwrap_or_else(SystemTime::now)
                }
            };
            found.push(StoredBlock { hash, modified });
        }
        Ok(found)
    }

    async fn clean_temporary(&self, _older_than: SystemTime) -> BlobResult<usize> {
        // A PUT is atomic: an interrupted write leaves nothing behind.
        Ok(0)
    }

    async fn check(&self) -> BlobResult<()> {
        match self.op.list_with("blocks/").limit(1).await {
            Ok(_) => Ok(()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(error) => Err(self.error("LIST", "blocks/", error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let config =
            S3Config::parse("s3://hafen/prod/eu?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=garage").unwrap();
        assert_eq!(config.bucket, "hafen");
        assert_eq!(config.prefix, "prod/eu");
        assert_eq!(config.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(config.region, "garage");
        assert!(!config.virtual_host_style);
        let plain = S3Config::parse("s3://b?endpoint=http://127.0.0.1:9000/").unwrap();
        assert_eq!(plain.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(plain.prefix, "");
        assert_eq!(plain.region, "us-east-1");
        assert!(S3Config::parse("s3://").is_err());
        assert!(S3Config::parse("s3://key:secret@bucket").is_err());
        assert!(S3Config::parse("s3://b?endpoint=ftp://x").is_err());
        assert!(S3Config::parse("s3://b?bogus=1").is_err());
        let hash = BlockHash::of(b"x");
        let key = S3BlobStore::key_of(&hash);
        assert_eq!(key, format!("blocks/{}/{}/{}", &hash.as_str()[..2], &hash.as_str()[2..4], hash));
    }
}
