//! Opening the stores, first-start setup and starting the listener (plain HTTP or built-in
//! TLS, see `listener` and `tls`) with graceful shutdown and certificate reload on SIGHUP.

use crate::cli::{ConnectionArgs, MaintenanceArgs};
use crate::config::Settings;
use anyhow::Context;
use hafen_blob::BlobStore;
use hafen_core::{Core, NewAccount};
use hafen_meta::MetaStore;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// Opens the stores the settings name: metadata from `--database-url` / `HAFEN_DATABASE_URL`
/// (default SQLite at `DATA/hafen.db`), blocks from `--blob-url` / `HAFEN_BLOB_URL` (default
/// local disk in `DATA`). The data directory is created either way.
pub async fn open_core(settings: &Settings) -> anyhow::Result<Arc<Core>> {
    // Administration commands print link URLs too (`guest invite`): when `HAFEN_TLS_CERT`
    // is in the environment, the server they belong to speaks HTTPS.
    let tls = std::env::var_os("HAFEN_TLS_CERT").is_some_and(|path| !path.is_empty());
    let scheme = if tls { "https" } else { "http" };
    open_core_listening(settings, &format!("{scheme}://{}", settings.listen)).await
}

/// `open_core` for a server listening at `address` (`http://ADDR` or, with built-in TLS,
/// `https://ADDR`: the base of link URLs unless `HAFEN_PUBLIC_URL` names another; with
/// `--listen …:0` the port actually bound).
async fn open_core_listening(settings: &Settings, address: &str) -> anyhow::Result<Arc<Core>> {
    let meta = open_meta(settings).await?;
    let blobs = open_blobs(settings)?;
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let mailer: Option<Arc<dyn hafen_core::Mailer>> = match env("HAFEN_SMTP_URL") {
        Some(url) => {
            let from = env("HAFEN_MAIL_FROM").unwrap_or_else(|| "Hafen <hafen@localhost>".into());
            Some(Arc::new(crate::mail::SmtpMailer::new(&url, &from)?))
        }
        None => None,
    };
    let options = hafen_core::CoreOptions {
        clock: hafen_core::Clock::from_file(env("HAFEN_CLOCK_FILE").map(std::path::PathBuf::from)),
        mailer,
        public_url: env("HAFEN_PUBLIC_URL").or_else(|| Some(address.to_string())),
        retention: hafen_core::RetentionPolicy::default(),
    };
    Ok(Core::with_options(meta, blobs, options))
}

/// Opens the metadata store the settings name, applying pending schema migrations (creates
/// the data directory, where the default SQLite database lives).
pub async fn open_meta(settings: &Settings) -> anyhow::Result<Arc<dyn MetaStore>> {
    let data = &settings.data;
    std::fs::create_dir_all(data).with_context(|| format!("cannot create data directory {}", data.display()))?;
    hafen_meta::open(&settings.database_url()).await.context("cannot open the metadata store")
}

/// The blob store the settings name (nothing remote is contacted yet), encrypting when
/// encryption at rest is configured.
pub fn open_blobs(settings: &Settings) -> anyhow::Result<Arc<dyn BlobStore>> {
    let store: Arc<dyn BlobStore> = match &settings.blob_url {
        Some(url) => hafen_blob::open(url).context("cannot open the blob store")?,
        None => Arc::new(hafen_blob::FsBlobStore::open(&settings.data).context("cannot open the blob store")?),
    };
    with_encryption(store, settings)
}

/// `store` wrapped in encryption at rest when keys are configured, else `store` itself.
pub fn with_encryption(store: Arc<dyn BlobStore>, settings: &Settings) -> anyhow::Result<Arc<dyn BlobStore>> {
    Ok(match encryption_keys(settings)? {
        Some(keys) => Arc::new(hafen_blob::EncryptedBlobStore::new(store, keys)),
        None => store,
    })
}

/// The master keys for encryption at rest: from the key file (`--encryption-key-file`,
/// `HAFEN_ENCRYPTION_KEY_FILE`, `encryption_key_file` in the config file) or from
/// `HAFEN_ENCRYPTION_KEY`; `None` when neither is given (encryption off). A key file must be
/// a regular file readable by its owner only and lie outside the data directory and a local
/// blob store: a key stored beside the data it protects protects nothing.
pub fn encryption_keys(settings: &Settings) -> anyhow::Result<Option<Arc<hafen_blob::KeyRing>>> {
    let from_environment = std::env::var("HAFEN_ENCRYPTION_KEY").ok().filter(|keys| !keys.trim().is_empty());
    let text = match (&settings.encryption_key_file, from_environment) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => anyhow::bail!(
            "the encryption key is given twice: as a file (--encryption-key-file / HAFEN_ENCRYPTION_KEY_FILE) and in HAFEN_ENCRYPTION_KEY; give one"
        ),
        (None, Some(keys)) => keys,
        (Some(path), None) => {
            check_key_file(path, settings)?;
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the encryption key file {}", path.display()))?
        }
    };
    let keys = hafen_blob::KeyRing::parse(&text).context("unusable encryption key")?;
    Ok(Some(Arc::new(keys)))
}

fn check_key_file(path: &std::path::Path, settings: &Settings) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let metadata = std::fs::metadata(path).with_context(|| format!("cannot read the encryption key file {shown}"))?;
    anyhow::ensure!(metadata.is_file(), "the encryption key file {shown} is not a regular file");
    let mode = metadata.permissions().mode() & 0o777;
    anyhow::ensure!(
        mode & 0o077 == 0,
        "the encryption key file {shown} is readable by others (mode {mode:o}): chmod 600 it"
    );
    let key = path.canonicalize().with_context(|| format!("cannot resolve {shown}"))?;
    let mut protected = vec![settings.data.clone()];
    if let Some(root) = settings.blob_url.as_deref().and_then(|url| url.strip_prefix("file://")) {
        protected.push(std::path::PathBuf::from(root));
    }
    for directory in protected {
        if let Ok(directory) = directory.canonicalize() {
            anyhow::ensure!(
                !key.starts_with(&directory),
                "the encryption key file {shown} lies inside {}, beside the data it protects: keep it elsewhere",
                directory.display()
            );
        }
    }
    Ok(())
}

/// Creates the `admin` account when there is none yet.
async fn ensure_admin(core: &Core) -> anyhow::Result<()> {
    if core.count_accounts().await? > 0 {
        return Ok(());
    }
    let (password, generated) = match std::env::var("HAFEN_ADMIN_PASSWORD") {
        Ok(password) if !password.is_empty() => (password, false),
        _ => (hafen_core::random_secret(20), true),
    };
    let created = core
        .create_account(NewAccount {
            name: "admin".into(),
            password: password.clone(),
            is_admin: true,
            ..NewAccount::default()
        })
        .await;
    match created {
        Ok(_) => {}
        // Another node sharing the database created it first.
        Err(hafen_core::CoreError::Conflict(_)) => return Ok(()),
        Err(error) => return Err(error.into()),
    }
    if generated {
        println!("created account admin with one-time password: {password}");
    } else {
        println!("created account admin with the password from HAFEN_ADMIN_PASSWORD");
    }
    Ok(())
}

pub async fn serve(
    settings: Settings,
    maintenance: MaintenanceArgs,
    connections: ConnectionArgs,
) -> anyhow::Result<()> {
    // Unusable TLS files stop the start, before anything listens.
    let tls = match connections.tls_files()? {
        Some(files) => Some(Arc::new(crate::tls::Tls::load(files)?)),
        None => None,
    };
    // Fail at start, with a clear message, when the blob store cannot be reached.
    open_blobs(&settings)?.check().await.context("cannot reach the blob store")?;
    if let Some(keys) = encryption_keys(&settings)? {
        tracing::info!(current_key = %keys.current_id(), keys = keys.ids().len(), "encryption at rest is on");
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let core = open_core_listening(&settings, &format!("{scheme}://{address}")).await?;
    ensure_admin(&core).await?;
    tokio::spawn(run_mail_digests(
        core.clone(),
        maintenance.mail_digest_seconds,
        maintenance.mail_digest_check_seconds,
    ));
    tokio::spawn(run_maintenance(core.clone(), maintenance));
    let accessibility_contact = std::env::var("HAFEN_ACCESSIBILITY_CONTACT").ok().filter(|value| !value.is_empty());
    let config = hafen_http::HttpConfig {
        trusted_proxies: settings.trusted_proxies.clone(),
        accessibility_contact: accessibility_contact.unwrap_or_else(|| "barrierefreiheit@localhost".into()),
        tls: tls.is_some(),
        admin_reauth_secs: std::env::var("HAFEN_ADMIN_REAUTH_SECONDS").ok().and_then(|value| value.parse().ok()),
    };
    let app = hafen_http::router(core, config);
    if let Some(tls) = &tls {
        // Before the startup line: whoever waits for it may send SIGHUP right away, and the
        // default action of SIGHUP is to end the process.
        reload_on_hangup(tls.clone())?;
    }
    let options = crate::listener::Options {
        tls: tls.as_ref().map(|tls| tls.acceptor()),
        header_timeout: Duration::from_secs(connections.header_timeout_seconds.max(1)),
        max_connections: connections.max_connections.max(1),
    };
    println!("hafen listening on {scheme}://{address}");
    std::io::stdout().flush()?;
    tracing::info!(%address, data = %settings.data.display(), tls = tls.is_some(), "serving");
    crate::listener::serve(listener, app, options, shutdown_signal()).await;
    Ok(())
}

/// Re-reads the certificate and key on every SIGHUP (e.g. after a renewal). A failed reload
/// keeps the certificate in use: a typo in the new files must not take the server down.
#[cfg(unix)]
fn reload_on_hangup(tls: Arc<crate::tls::Tls>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            // A few kilobytes of PEM: reading them on the runtime thread is harmless.
            match tls.reload() {
                Ok(()) => tracing::info!("SIGHUP: reloaded the TLS certificate and key"),
                Err(error) => {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "SIGHUP: TLS reload failed, keeping the current certificate"
                    )
                }
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_hangup(_tls: Arc<crate::tls::Tls>) -> anyhow::Result<()> {
    Ok(())
}

/// Sends the notification e-mail digests that are due, forever (a task of its own: the
/// maintenance may take long on a big instance, digests should not wait for it).
async fn run_mail_digests(core: Arc<Core>, window_seconds: u64, check_seconds: u64) {
    let mut ticker = tokio::time::interval(Duration::from_secs(check_seconds.max(1)));
    loop {
        ticker.tick().await;
        match core.send_mail_digests(window_seconds as i64).await {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "sent notification digests"),
            Err(error) => tracing::error!(%error, "sending notification digests failed"),
        }
    }
}

/// Expires abandoned chunked uploads and collects garbage blocks, forever.
async fn run_maintenance(core: Arc<Core>, timing: MaintenanceArgs) {
    let mut ticker = tokio::time::interval(Duration::from_secs(timing.maintenance_interval_seconds.max(1)));
    loop {
        ticker.tick().await;
        match core.expire_uploads(Duration::from_secs(timing.upload_expiry_seconds)).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "expired abandoned uploads"),
            Err(error) => tracing::error!(%error, "expiring uploads failed"),
        }
        match core.expire_activities().await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "expired activity entries"),
            Err(error) => tracing::error!(%error, "expiring activities failed"),
        }
        // Retention of the audit log (the store keeps an anchor, so it still verifies).
        if let Err(error) = core.expire_audit(timing.audit_retention_days).await {
            tracing::error!(%error, "expiring audit log entries failed");
        }
        match core.expire_trash(timing.trash_retention_seconds as i64).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "expired items of trash bins"),
            Err(error) => tracing::error!(%error, "expiring trash bins failed"),
        }
        match core.collect_garbage(Duration::from_secs(timing.gc_grace_seconds)).await {
            Ok(report) if report.orphans_removed + report.temporary_removed > 0 => {
                tracing::info!(
                    blocks = report.orphans_removed,
                    temporary = report.temporary_removed,
                    "collected garbage"
                )
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "garbage collection failed"),
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
