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
            data: data.or(file.data).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA)),
            listen: listen.or(file.listen).unwrap_or(default_listen),
            trusted_proxies: if trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                trusted_proxies
            },
        })
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
}
