//! Configuration: command-line flags over `HAFEN_*` environment variables (both handled by
//! clap) over a TOML file over built-in defaults.

use anyhow::Context;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

pub const DEFAULT_DATA: &str = "./hafen-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The TOML configuration file. Every field is optional; flags and environment win.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Data directory (metadata database and blocks).
    pub data: Option<PathBuf>,
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    pub listen: Option<SocketAddr>,
    /// Reverse proxies whose `X-Forwarded-For` header is believed.
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// Metadata database: `sqlite://PATH` or `postgres://…` (default: SQLite in the data directory).
    pub database_url: Option<String>,
    /// Blob store: `file:///PATH` or `s3://BUCKET[/PREFIX]?endpoint=…&region=…` (default: the data directory).
    pub blob_url: Option<String>,
    /// Encryption at rest: file holding the master key(s), outside the data directory.
    pub encryption_key_file: Option<PathBuf>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// The effective settings after layering.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub trusted_proxies: Vec<IpAddr>,
    /// Metadata database url; `None` means SQLite at `DATA/hafen.db`.
    pub database_url: Option<String>,
    /// Blob store url; `None` means blocks on local disk in `DATA`.
    pub blob_url: Option<String>,
    /// Encryption at rest: the file holding the master key(s) (`None`: off, unless
    /// `HAFEN_ENCRYPTION_KEY` holds the keys; see `server::encryption_keys`).
    pub encryption_key_file: Option<PathBuf>,
}

impl Settings {
    pub fn resolve(
        file: FileConfig,
        data: Option<PathBuf>,
        listen: Option<SocketAddr>,
        trusted_proxies: Vec<IpAddr>,
    ) -> anyhow::Result<Settings> {
        let default_listen: SocketAddr = DEFAULT_LISTEN.parse().context("default listen address")?;
        Ok(Settings {
            database_url: file.database_url.filter(|url| !url.is_empty()),
            blob_url: file.blob_url.filter(|url| !url.is_empty()),
            encryption_key_file: file.encryption_key_file.filter(|path| !path.as_os_str().is_empty()),
            data: data.or(file.data).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA)),
            listen: listen.or(file.listen).unwrap_or(default_listen),
            trusted_proxies: if trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                trusted_proxies
            },
        })
    }

    /// Applies `--database-url` / `--blob-url` / `--encryption-key-file` (flags or
    /// `HAFEN_DATABASE_URL` / `HAFEN_BLOB_URL` / `HAFEN_ENCRYPTION_KEY_FILE`), which win over
    /// the file's `database_url` / `blob_url` / `encryption_key_file`; empty values are ignored.
    pub fn with_stores(
        mut self,
        database_url: Option<String>,
        blob_url: Option<String>,
        encryption_key_file: Option<PathBuf>,
    ) -> Settings {
        if let Some(path) = encryption_key_file.filter(|path| !path.as_os_str().is_empty()) {
            self.encryption_key_file = Some(path);
        }
        if let Some(url) = database_url.filter(|url| !url.is_empty()) {
            self.database_url = Some(url);
        }
        if let Some(url) = blob_url.filter(|url| !url.is_empty()) {
            self.blob_url = Some(url);
        }
        self
    }

    /// The effective metadata database url.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data.join("hafen.db").display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_environment_win_over_the_file_which_wins_over_defaults() {
        let file: FileConfig = toml::from_str("data = \"/srv/file\"\nlisten = \"127.0.0.1:9000\"").unwrap();
        let settings = Settings::resolve(file, Some(PathBuf::from("/srv/flag")), None, Vec::new()).unwrap();
        assert_eq!(settings.data, PathBuf::from("/srv/flag"));
        assert_eq!(settings.listen.port(), 9000);
        let defaults = Settings::resolve(FileConfig::default(), None, None, Vec::new()).unwrap();
        assert_eq!(defaults.data, PathBuf::from(DEFAULT_DATA));
        assert_eq!(defaults.listen.to_string(), DEFAULT_LISTEN);
        assert!(toml::from_str::<FileConfig>("unknown = 1").is_err());
    }

    #[test]
    fn store_urls_layer_like_the_rest() {
        let file: FileConfig = toml::from_str(
            "database_url = \"postgres://db/hafen\"\nblob_url = \"s3://b?region=x\"\nencryption_key_file = \"/etc/k\"",
        )
        .unwrap();
        let settings = Settings::resolve(file, Some(PathBuf::from("/srv/d")), None, Vec::new()).unwrap();
        assert_eq!(settings.database_url(), "postgres://db/hafen");
        assert_eq!(settings.blob_url.as_deref(), Some("s3://b?region=x"));
        assert_eq!(settings.encryption_key_file, Some(PathBuf::from("/etc/k")));
        let settings = settings.with_stores(Some("postgres://flag/h".into()), Some(String::new()), None);
        assert_eq!(settings.database_url(), "postgres://flag/h");
        assert_eq!(settings.blob_url.as_deref(), Some("s3://b?region=x"));
        assert_eq!(settings.encryption_key_file, Some(PathBuf::from("/etc/k")));
        let settings = settings.with_stores(None, None, Some(PathBuf::from("/run/k")));
        assert_eq!(settings.encryption_key_file, Some(PathBuf::from("/run/k")));
        let defaults = Settings::resolve(FileConfig::default(), Some(PathBuf::from("/srv/d")), None, Vec::new())
            .unwrap()
            .with_stores(None, None, None);
        assert_eq!(defaults.database_url(), "sqlite:///srv/d/hafen.db");
        assert_eq!(defaults.blob_url, None);
    }
}
