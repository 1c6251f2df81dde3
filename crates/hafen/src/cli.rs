//! Command-line interface: `serve`, account administration (`user …`), `fsck`, schema
//! migrations (`migrate`) and moving data between storage backends (`store …`: blocks only,
//! or a whole instance). Account commands work on the same data directory while the server
//! runs (SQLite in WAL mode) and take the same store options as `serve`.

use crate::config::{FileConfig, Settings};
use crate::server;
use anyhow::Context;
use clap::{Parser, Subcommand};
use hafen_core::{Core, NewAccount};
use std::io::{BufRead, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(name = "hafen", version, about = "Hafen: sovereign file exchange server")]
pub struct Cli {
    /// Data directory (metadata database and content blocks) [default: ./hafen-data]
    #[arg(long, env = "HAFEN_DATA", global = true)]
    pub data: Option<PathBuf>,
    /// TOML configuration file
    #[arg(long, env = "HAFEN_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Metadata database: sqlite://PATH or postgres://USER@HOST:PORT/DB [default: sqlite://DATA/hafen.db]
    #[arg(long, env = "HAFEN_DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Blob store: file:///PATH or s3://BUCKET[/PREFIX]?endpoint=http://HOST:PORT&region=REGION
    /// (S3 credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) [default: the data directory]
    #[arg(long, env = "HAFEN_BLOB_URL", global = true)]
    pub blob_url: Option<String>,
    /// Encryption at rest: file holding the master key (64 hex digits; more lines: the first
    /// encrypts, the others only decrypt), outside the data directory, mode 0600. The keys may
    /// instead be given in HAFEN_ENCRYPTION_KEY. Off when neither is set
    #[arg(long, env = "HAFEN_ENCRYPTION_KEY_FILE", global = true)]
    pub encryption_key_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, env = "HAFEN_LISTEN")]
        listen: Option<SocketAddr>,
        /// Reverse proxy whose X-Forwarded-For is trusted (repeatable)
        #[arg(long = "trusted-proxy", env = "HAFEN_TRUSTED_PROXIES", value_delimiter = ',')]
        trusted_proxies: Vec<IpAddr>,
        #[command(flatten)]
        maintenance: MaintenanceArgs,
        #[command(flatten)]
        connections: ConnectionArgs,
    },
    /// Manage accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Manage organisations (ministries, offices, municipalities)
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage groups (of an organisation, or project groups across organisations)
    #[command(subcommand)]
    Group(GroupCommand),
    /// Invite guests (third parties who see only what is shared with them)
    #[command(subcommand)]
    Guest(GuestCommand),
    /// Manage project spaces (folders owned by an organisation or a project group)
    #[command(subcommand)]
    Space(SpaceCommand),
    /// Check the content store: verify every referenced block, remove unreferenced ones
    Fsck {
        /// Only remove unreferenced blocks older than this (protects uploads in flight)
        #[arg(long, default_value_t = 900)]
        grace_seconds: u64,
    },
    /// Apply pending schema migrations to the metadata database and print the schema version
    /// before and after (`serve` applies them at start too)
    Migrate,
    /// Move data between storage backends (SQLite ↔ PostgreSQL, disk ↔ S3)
    #[command(subcommand)]
    Store(StoreCommand),
    /// Back up the instance while it serves: a consistent snapshot of all metadata (one read
    /// transaction) into DIR/hafen.db and every block it references into DIR/blocks, verified
    /// on the way, with DIR/MANIFEST.tsv listing the blocks. DIR is itself a data directory.
    /// Exit status 1 when blocks were missing or corrupt (listed).
    Backup {
        /// New (or empty) directory for the backup
        #[arg(long)]
        to: std::path::PathBuf,
        /// Blocks copied at the same time
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Restore a backup made by `hafen backup` into new, empty stores (after checking that
    /// every block of its manifest is there).
    Restore {
        /// The backup directory
        #[arg(long)]
        from: std::path::PathBuf,
        /// Target metadata database (sqlite://PATH or postgres://…); must hold no account
        #[arg(long)]
        to_database: String,
        /// Target blob store (file:///PATH or s3://BUCKET[/PREFIX]?endpoint=…&region=…)
        #[arg(long)]
        to_blobs: String,
        /// Blocks copied at the same time
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Check or export the audit log (logins, sharing, link access, administration)
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Encryption at rest: create master keys, re-encrypt stored blocks under the current key
    #[command(subcommand)]
    Encryption(EncryptionCommand),
}

#[derive(Debug, Subcommand)]
pub enum EncryptionCommand {
    /// Write a new random master key to a new file (mode 0600). With --keep-previous, into an
    /// existing key file before the keys there, which stay to decrypt older blocks (rotation:
    /// add a key, restart the server, `hafen encryption rotate`, then drop the old key)
    GenerateKey {
        /// The key file (keep it outside the data directory and its backups)
        #[arg(long)]
        to: PathBuf,
        /// Keep the keys already in the file, after the new one
        #[arg(long)]
        keep_previous: bool,
    },
    /// Re-encrypt under the current key every block that is not (older keys, or plaintext
    /// from before encryption was switched on), in the blob store and the small blocks in the
    /// metadata store; online while the server runs with the same keys; idempotent. Exit
    /// status 1 when blocks could not be read (listed)
    Rotate {
        /// Blocks re-encrypted at the same time
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every entry's hash, every link of the chain and that no id is missing, from the
    /// retention anchor on. Exit status 1 naming the first bad entry when the log was tampered with
    Verify,
    /// Print the entries, oldest first
    Export {
        /// Only entries at or after this time: RFC 3339 (2026-01-31T08:00:00Z, or with an
        /// offset such as +01:00) or seconds since the epoch
        #[arg(long)]
        since: Option<String>,
        /// Output format: jsonl (one JSON object per line)
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy every block of one blob store into another, verifying each block's hash on the way.
    /// Blocks the target already has are skipped, so an interrupted copy can simply be rerun.
    /// Exit status 1 when source blocks were missing or corrupt (they are listed, not copied).
    CopyBlobs {
        /// Source blob store url (file:///PATH or s3://BUCKET[/PREFIX]?endpoint=…&region=…)
        #[arg(long)]
        from: String,
        /// Target blob store url (same forms)
        #[arg(long)]
        to: String,
        /// Blocks copied at the same time
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Copy a whole instance into new, empty stores: the blocks its files and uploads use (each
    /// read through the verifying read), then all metadata in one transaction, keeping file
    /// ids, ETags, versions, app passwords, dead properties and locks. Stop the source first.
    /// Exit status 1 when source blocks were missing or corrupt (listed; the rest is copied).
    Copy {
        /// Source metadata database [default: the instance's, from --database-url / --data]
        #[arg(long)]
        from_database: Option<String>,
        /// Source blob store [default: the instance's, from --blob-url / --data]
        #[arg(long)]
        from_blobs: Option<String>,
        /// Target metadata database (sqlite://PATH or postgres://…); must hold no account
        #[arg(long)]
        to_database: String,
        /// Target blob store (file:///PATH or s3://BUCKET[/PREFIX]?endpoint=…&region=…)
        #[arg(long)]
        to_blobs: String,
        /// Blocks copied at the same time
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
}

/// Timing of the background maintenance (upload expiry, garbage collection).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct MaintenanceArgs {
    /// Chunked uploads untouched this long are dropped
    #[arg(long, env = "HAFEN_UPLOAD_EXPIRY_SECONDS", default_value_t = 86_400)]
    pub upload_expiry_seconds: u64,
    /// Unreferenced blocks are removed only when older than this (protects uploads in flight)
    #[arg(long, env = "HAFEN_GC_GRACE_SECONDS", default_value_t = 3_600)]
    pub gc_grace_seconds: u64,
    /// How often the maintenance runs
    #[arg(long, env = "HAFEN_MAINTENANCE_INTERVAL_SECONDS", default_value_t = 600)]
    pub maintenance_interval_seconds: u64,
    /// Items stay in the trash this long before they are deleted for good
    #[arg(long, env = "HAFEN_TRASH_RETENTION_SECONDS", default_value_t = 30 * 86_400)]
    pub trash_retention_seconds: u64,
    /// Notification e-mails are collected this long into one digest per account (accounts
    /// that chose a daily digest get one a day)
    #[arg(long, env = "HAFEN_MAIL_DIGEST_SECONDS", default_value_t = 900)]
    pub mail_digest_seconds: u64,
    /// How often due digests are looked for
    #[arg(long, env = "HAFEN_MAIL_DIGEST_CHECK_SECONDS", default_value_t = 30)]
    pub mail_digest_check_seconds: u64,
    /// Audit log entries are kept this many days (the oldest are then removed; the log stays verifiable)
    #[arg(long, env = "HAFEN_AUDIT_RETENTION_DAYS", default_value_t = hafen_core::AUDIT_RETENTION_DEFAULT_DAYS)]
    pub audit_retention_days: i64,
}

/// Built-in TLS and connection deadlines of `serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Serve HTTPS (only) with this PEM certificate chain; needs --tls-key. SIGHUP re-reads both files
    #[arg(long, env = "HAFEN_TLS_CERT", value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert
    #[arg(long, env = "HAFEN_TLS_KEY", value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
    /// Clients must send a request's complete header within this time (slow-loris protection)
    #[arg(long, env = "HAFEN_HEADER_TIMEOUT_SECONDS", default_value_t = 30)]
    pub header_timeout_seconds: u64,
    /// Connections served at the same time; further clients wait in the listen backlog until
    /// one closes (keeps descriptors and memory bounded under a flood)
    #[arg(long, env = "HAFEN_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,
}

impl ConnectionArgs {
    /// The TLS files, when both are given; an error when only one is (empty values count as
    /// not given, like an unset variable).
    pub fn tls_files(&self) -> anyhow::Result<Option<crate::tls::TlsFiles>> {
        let given = |path: &Option<PathBuf>| path.clone().filter(|path| !path.as_os_str().is_empty());
        match (given(&self.tls_cert), given(&self.tls_key)) {
            (Some(cert), Some(key)) => Ok(Some(crate::tls::TlsFiles { cert, key })),
            (None, None) => Ok(None),
            (Some(_), None) => anyhow::bail!("--tls-cert (HAFEN_TLS_CERT) needs --tls-key (HAFEN_TLS_KEY) too"),
            (None, Some(_)) => anyhow::bail!("--tls-key (HAFEN_TLS_KEY) needs --tls-cert (HAFEN_TLS_CERT) too"),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (prints a generated password unless --password-stdin is given)
    Add {
        name: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Storage quota in bytes
        #[arg(long)]
        quota: Option<u64>,
        #[arg(long)]
        admin: bool,
        /// Organisation the account belongs to
        #[arg(long)]
        org: Option<String>,
        /// Administrator of its organisation
        #[arg(long, requires = "org")]
        org_admin: bool,
    },
    /// List accounts
    List,
    /// Create many accounts at once from a file of tab-separated lines `name<TAB>display
    /// name<TAB>e-mail` (one transaction; the accounts have no password until one is set)
    Import {
        file: std::path::PathBuf,
        #[arg(long)]
        org: Option<String>,
    },
    /// Move an account into an organisation (or out of any with no --org)
    SetOrg {
        name: String,
        #[arg(long)]
        org: Option<String>,
        #[arg(long, requires = "org")]
        org_admin: bool,
    },
    /// Set an account's password (read from standard input)
    Passwd {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Delete an account and its files
    Del { name: String },
    /// Create an app password and print its token
    AppPassword {
        name: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// List an account's app passwords (id, label, creation time)
    AppPasswords { name: String },
    /// Revoke one of an account's app passwords by its id
    RevokeAppPassword { name: String, id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation
    Add {
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Storage quota of all its accounts together, in bytes
        #[arg(long)]
        quota: Option<u64>,
    },
    /// List organisations (name, display name, quota, bytes used)
    List,
    /// Set the public-link policy of an organisation's members
    Policy {
        name: String,
        /// Public links must have a password
        #[arg(long)]
        link_password_required: bool,
        /// Public links must expire within this many days
        #[arg(long)]
        link_max_expiry_days: Option<i64>,
    },
    /// Set how long older file versions of an organisation's members are kept
    Retention {
        name: String,
        /// Keep the newest version of each day for this many days (then one per week)
        #[arg(long)]
        daily_days: Option<i64>,
        /// Older versions of a file take at most this percentage of the owner's quota
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..=100))]
        quota_percent: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group; without --org it is a project group spanning organisations
    Add {
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        org: Option<String>,
    },
    /// List groups
    List,
    /// Add a member (or change their group-admin flag)
    AddMember {
        group: String,
        user: String,
        #[arg(long)]
        admin: bool,
    },
    /// Remove a member
    RemoveMember { group: String, user: String },
    /// List a group's members
    Members { group: String },
    /// Delete a group
    Del { name: String },
}

#[derive(Debug, Subcommand)]
pub enum SpaceCommand {
    /// Create a project space owned by an organisation (--org) or a project group (--group)
    Add {
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        org: Option<String>,
        #[arg(long)]
        group: Option<String>,
        /// Storage quota in bytes
        #[arg(long)]
        quota: Option<u64>,
    },
    /// List spaces (name, display name, owner, quota, used bytes)
    List,
    /// Set a space's quota in bytes (no value: unlimited)
    Quota { name: String, bytes: Option<u64> },
    /// Rename a space (its folder in every member's tree follows)
    Rename { name: String, display_name: String },
    /// Add members or change their role: `user:NAME`, `group:NAME` or `org:NAME`
    AddMember {
        space: String,
        #[arg(required = true)]
        members: Vec<String>,
        /// viewer, editor or manager
        #[arg(long, default_value = "editor")]
        role: String,
    },
    /// Remove a member (`user:NAME`, `group:NAME` or `org:NAME`)
    RemoveMember { space: String, member: String },
    /// List a space's members with their roles
    Members { space: String },
    /// Delete a space and all its data
    Del { name: String },
}

#[derive(Debug, Subcommand)]
pub enum GuestCommand {
    /// Invite a guest by e-mail (on behalf of an account); prints the invitation link when
    /// no SMTP server is configured
    Invite {
        email: String,
        /// The inviting account
        #[arg(long)]
        by: String,
        #[arg(long)]
        display_name: Option<String>,
    },
}

fn read_password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    anyhow::ensure!(!password.is_empty(), "the password read from standard input is empty");
    Ok(password)
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(cli.config.as_deref())?;
    let Cli { data, database_url, blob_url, encryption_key_file, command, .. } = cli;
    // The effective settings (one command runs, so this is called once).
    let resolve = move |listen: Option<SocketAddr>, trusted_proxies: Vec<IpAddr>| -> anyhow::Result<Settings> {
        Ok(Settings::resolve(file, data, listen, trusted_proxies)?.with_stores(
            database_url,
            blob_url,
            encryption_key_file,
        ))
    };
    match command {
        Command::Serve { listen, trusted_proxies, maintenance, connections } => {
            let settings = resolve(listen, trusted_proxies)?;
            server::serve(settings, maintenance, connections).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User(command) => {
            let settings = resolve(None, Vec::new())?;
            let core = server::open_core(&settings).await?;
            user_command(&core, command).await
        }
        Command::Org(command) => {
            let settings = resolve(None, Vec::new())?;
            let core = server::open_core(&settings).await?;
            org_command(&core, command).await
        }
        Command::Group(command) => {
            let settings = resolve(None, Vec::new())?;
            let core = server::open_core(&settings).await?;
            group_command(&core, command).await
        }
        Command::Space(command) => {
            let settings = resolve(None, Vec::new())?;
            let core = server::open_core(&settings).await?;
            space_command(&core, command).await
        }
        Command::Guest(GuestCommand::Invite { email, by, display_name }) => {
            let settings = resolve(None, Vec::new())?;
            let core = server::open_core(&settings).await?;
            let inviter = core.account(&by).await?;
            let invitation = core.invite_guest(&inviter, &email, display_name.as_deref()).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "invited guest {}", invitation.guest.name)?;
            if !invitation.mailed {
                writeln!(out, "invitation link: {}/invite/{}", core.public_url(), invitation.token)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backup { to, concurrency } => {
            let settings = resolve(None, Vec::new())?;
            backup(&settings, &to, concurrency).await
        }
        Command::Restore { from, to_database, to_blobs, concurrency } => {
            let settings = resolve(None, Vec::new())?;
            restore(&settings, &from, &to_database, &to_blobs, concurrency).await
        }
        Command::Encryption(EncryptionCommand::GenerateKey { to, keep_previous }) => generate_key(&to, keep_previous),
        Command::Encryption(EncryptionCommand::Rotate { concurrency }) => {
            let settings = resolve(None, Vec::new())?;
            anyhow::ensure!(
                server::encryption_keys(&settings)?.is_some(),
                "encryption at rest is not configured: give --encryption-key-file (HAFEN_ENCRYPTION_KEY_FILE) or HAFEN_ENCRYPTION_KEY"
            );
            let core = server::open_core(&settings).await?;
            rotate_encryption(&core, concurrency).await
        }
        Command::Fsck { grace_seconds } => {
            let settings = resolve(None, Vec::new())?;
            let core = server::open_core(&settings).await?;
            fsck(&core, Duration::from_secs(grace_seconds)).await
        }
        Command::Migrate => {
            let settings = resolve(None, Vec::new())?;
            migrate(&settings).await
        }
        Command::Audit(command) => {
            let settings = resolve(None, Vec::new())?;
            let core = server::open_core(&settings).await?;
            audit_command(&core, command).await
        }
        Command::Store(StoreCommand::CopyBlobs { from, to, concurrency }) => {
            let settings = resolve(None, Vec::new())?;
            copy_blobs(&settings, &from, &to, concurrency).await
        }
        Command::Store(StoreCommand::Copy { from_database, from_blobs, to_database, to_blobs, concurrency }) => {
            let settings = resolve(None, Vec::new())?;
            let from_database = from_database.unwrap_or_else(|| settings.database_url());
            let source_blobs = match &from_blobs {
                Some(url) => server::with_encryption(
                    hafen_blob::open(url).context("cannot open the source blob store (--from-blobs)")?,
                    &settings,
                )?,
                None => server::open_blobs(&settings).context("cannot open the source blob store")?,
            };
            copy_instance(&from_database, source_blobs, &to_database, &to_blobs, concurrency).await
        }
    }
}

/// `sqlite://…/hafen.db` and `file://…` of a backup directory.
fn backup_urls(dir: &std::path::Path) -> (String, String) {
    (format!("sqlite://{}", dir.join("hafen.db").display()), format!("file://{}", dir.display()))
}

/// `hafen backup --to DIR` (see the command's help).
async fn backup(settings: &Settings, to: &std::path::Path, concurrency: usize) -> anyhow::Result<ExitCode> {
    if to.exists() {
        let mut entries = std::fs::read_dir(to).with_context(|| format!("cannot read {}", to.display()))?;
        anyhow::ensure!(entries.next().is_none(), "{} is not empty; back up into a new directory", to.display());
    }
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let dir = to.canonicalize().with_context(|| format!("cannot resolve {}", to.display()))?;
    let (database, blobs) = backup_urls(&dir);
    let source_blobs = server::open_blobs(settings).context("cannot open the instance's blob store")?;
    let status = copy_instance(&settings.database_url(), source_blobs, &database, &blobs, concurrency).await?;
    // The manifest lists what the backup holds, from the backup itself.
    let copied = hafen_meta::open(&database).await.context("cannot open the backup's metadata")?;
    let snapshot = copied.export_snapshot().await.context("cannot read the backup's metadata")?;
    let mut manifest = String::from("# hafen backup manifest: block hash, length in bytes\n");
    for block in snapshot.blob_blocks() {
        manifest.push_str(&format!("{}\t{}\n", block.hash, block.len));
    }
    std::fs::write(dir.join("MANIFEST.tsv"), manifest).context("cannot write MANIFEST.tsv")?;
    println!("backup written to {}", dir.display());
    Ok(status)
}

/// `hafen restore --from DIR …` (see the command's help).
async fn restore(
    settings: &Settings,
    from: &std::path::Path,
    to_database: &str,
    to_blobs: &str,
    concurrency: usize,
) -> anyhow::Result<ExitCode> {
    let dir = from.canonicalize().with_context(|| format!("cannot find the backup {}", from.display()))?;
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv"))
        .with_context(|| format!("{} holds no MANIFEST.tsv: not a complete backup", dir.display()))?;
    // The backup's blocks are as encrypted as the instance's were: the keys verify them.
    let blobs = server::with_encryption(
        Arc::new(hafen_blob::FsBlobStore::open(&dir).context("cannot open the backup's blocks")?),
        settings,
    )?;
    let stored: std::collections::HashSet<String> = blobs
        .list()
        .await
        .context("cannot list the backup's blocks")?
        .into_iter()
        .map(|block| block.hash.to_string())
        .collect();
    let missing: Vec<String> = manifest
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| line.split('\t').next().unwrap_or_default().to_string())
        .filter(|hash| !stored.contains(hash))
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "the backup lacks {} blocks of its manifest, e.g. {}",
        missing.len(),
        missing[0]
    );
    let (database, _) = backup_urls(&dir);
    copy_instance(&database, blobs, to_database, to_blobs, concurrency).await
}

/// `hafen encryption generate-key` (see the command's help). The file is written next to its
/// final place with mode 0600 and renamed over it, so a crash leaves the old file or the new.
fn generate_key(to: &std::path::Path, keep_previous: bool) -> anyhow::Result<ExitCode> {
    use std::os::unix::fs::OpenOptionsExt;
    const HEADER: &str = "# hafen encryption at rest: the first key encrypts, the others only decrypt";
    let previous = if keep_previous {
        let text = std::fs::read_to_string(to).with_context(|| format!("cannot read the key file {}", to.display()))?;
        hafen_blob::KeyRing::parse(&text).with_context(|| format!("{} holds no usable keys", to.display()))?;
        text.lines().filter(|line| *line != HEADER).map(|line| format!("{line}\n")).collect()
    } else {
        anyhow::ensure!(
            !to.exists(),
            "{} exists: give --keep-previous to add a key before the ones there, or a new path",
            to.display()
        );
        String::new()
    };
    let key = hafen_blob::KeyRing::generate_key_text();
    let id = hafen_blob::KeyRing::parse(&key)?.current_id();
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let content = format!("{HEADER}\n# key {id}, created {created}\n{key}\n{previous}");
    let file_name = to.file_name().context("the key file needs a file name")?.to_string_lossy();
    let temporary = to.with_file_name(format!(".{file_name}.new"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("cannot create {}", temporary.display()))?;
    file.write_all(content.as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, to).with_context(|| format!("cannot write {}", to.display()))?;
    let kept = if keep_previous { " (the keys there before are kept after it)" } else { "" };
    println!("wrote new key {id} to {}{kept}", to.display());
    Ok(ExitCode::SUCCESS)
}

/// `hafen encryption rotate`: progress on standard error, blocks that could not be
/// re-encrypted and the summary on standard output.
async fn rotate_encryption(core: &Arc<Core>, concurrency: usize) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let mut last_line = started;
    let summary = core
        .rotate_encryption(concurrency, |progress| {
            let done = progress.current + progress.rotated + progress.vanished + progress.damaged;
            if last_line.elapsed() >= Duration::from_secs(2) || done == progress.total {
                last_line = std::time::Instant::now();
                eprintln!("rotate: {done}/{} blocks ({} re-encrypted)", progress.total, progress.rotated);
            }
        })
        .await?;
    let mut out = std::io::stdout().lock();
    for damage in &summary.blocks.damaged {
        writeln!(out, "not re-encrypted: {damage}")?;
    }
    for damage in &summary.inline_damaged {
        writeln!(out, "not re-encrypted: {damage}")?;
    }
    let blocks = &summary.blocks.progress;
    writeln!(
        out,
        "re-encrypted {} of {} blocks ({} already under the current key, {} deleted meanwhile) and {} of {} small \
         blocks in the metadata store; {} damaged; {:.1} s",
        blocks.rotated,
        blocks.total,
        blocks.current,
        blocks.vanished,
        summary.inline_rotated,
        summary.inline_total,
        blocks.damaged + summary.inline_damaged.len(),
        started.elapsed().as_secs_f64()
    )?;
    let damaged = blocks.damaged + summary.inline_damaged.len();
    Ok(if damaged == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `hafen audit …`.
async fn audit_command(core: &Arc<Core>, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify => {
            let report = core.verify_audit().await?;
            let from = report.anchor.map(|id| format!(" after expired entry {id}")).unwrap_or_default();
            match report.problem {
                None => {
                    println!("audit log intact: {} entries{from}", report.entries);
                    Ok(ExitCode::SUCCESS)
                }
                Some(problem) => {
                    println!(
                        "audit log damaged: entry {} {}: {} ({} entries intact before it)",
                        problem.id,
                        problem.damage.as_str(),
                        problem.explanation,
                        report.entries
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        AuditCommand::Export { since, format } => {
            anyhow::ensure!(format == "jsonl", "unknown format {format:?}: use jsonl");
            let since = since.as_deref().map(parse_time).transpose()?;
            let mut out = std::io::BufWriter::new(std::io::stdout());
            core.export_audit(since, &mut |entry| {
                let line = serde_json::json!({
                    "id": entry.id,
                    "at": rfc3339(entry.at),
                    "actor": entry.actor,
                    "ip": entry.ip,
                    "action": entry.action,
                    "object": entry.object,
                    // The stored text is JSON; shown as such (a damaged one as a string).
                    "detail": serde_json::from_str::<serde_json::Value>(&entry.detail)
                        .unwrap_or_else(|_| serde_json::Value::String(entry.detail.clone())),
                    "hash": entry.hash,
                });
                writeln!(out, "{line}")
            })
            .await?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Seconds since the epoch as RFC 3339 in UTC.
fn rfc3339(at: i64) -> String {
    let time = if at >= 0 {
        std::time::UNIX_EPOCH + Duration::from_secs(at as u64)
    } else {
        std::time::UNIX_EPOCH - Duration::from_secs(at.unsigned_abs())
    };
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Seconds since the epoch, or RFC 3339 with `Z` or a `±HH:MM` offset.
fn parse_time(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    let invalid = || anyhow::anyhow!("{text:?} is neither RFC 3339 (2026-01-31T08:00:00Z) nor seconds since the epoch");
    // humantime reads UTC only: take an offset off and apply it ourselves.
    let (local, offset_secs) = match text.len().checked_sub(6).and_then(|at| text.get(at..).map(|tail| (at, tail))) {
        Some((at, tail))
            if tail.is_ascii() && (tail.starts_with('+') || tail.starts_with('-')) && tail.as_bytes()[3] == b':' =>
        {
            let hours: i64 = tail[1..3].parse().map_err(|_| invalid())?;
            let minutes: i64 = tail[4..6].parse().map_err(|_| invalid())?;
            let sign = if tail.starts_with('-') { -1 } else { 1 };
            (format!("{}Z", &text[..at]), sign * (hours * 3600 + minutes * 60))
        }
        _ => (text.to_string(), 0),
    };
    let time = humantime::parse_rfc3339_weak(&local).map_err(|_| invalid())?;
    let seconds = match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => after.as_secs() as i64,
        Err(before) => -(before.duration().as_secs() as i64),
    };
    Ok(seconds - offset_secs)
}

/// `hafen migrate`: the schema version before and after applying pending migrations.
async fn migrate(settings: &Settings) -> anyhow::Result<ExitCode> {
    let url = settings.database_url();
    let latest = hafen_meta::latest_schema_version(&url)?;
    let before = hafen_meta::stored_schema_version(&url).await.context("cannot read the schema version")?;
    anyhow::ensure!(
        before <= latest,
        "the database has schema version {before}, newer than {latest} of this build: run a newer hafen"
    );
    let meta = server::open_meta(settings).await?;
    let after = meta.schema_version().await.context("cannot read the schema version")?;
    let mut out = std::io::stdout().lock();
    if after == before {
        writeln!(out, "schema version {after}: up to date")?;
    } else {
        writeln!(out, "schema version {before} -> {after}: applied {} migrations", after - before)?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn user_command(core: &Arc<Core>, command: UserCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match command {
        UserCommand::Add { name, password_stdin, display_name, email, quota, admin, org, org_admin } => {
            let (password, generated) = if password_stdin {
                (read_password_from_stdin()?, false)
            } else {
                (hafen_core::random_secret(20), true)
            };
            let quota = quota.map(i64::try_from).transpose().context("quota too large")?;
            let account = NewAccount {
                name: name.clone(),
                password: password.clone(),
                display_name,
                email,
                quota,
                is_admin: admin,
                org,
                org_admin,
            };
            core.create_account(account).await?;
            writeln!(out, "created account {name}")?;
            if generated {
                writeln!(out, "password: {password}")?;
            }
        }
        UserCommand::List => {
            for user in core.list_accounts().await? {
                let quota = user.quota.map_or("unlimited".to_string(), |bytes| bytes.to_string());
                let role = if user.is_admin { "admin" } else { "user" };
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{role}",
                    user.name,
                    user.display_name,
                    user.email.unwrap_or_default(),
                    quota
                )?;
            }
        }
        UserCommand::Import { file, org } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let rows: Vec<_> = text
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(|line| {
                    let mut fields = line.split('\t').map(str::trim);
                    let name = fields.next().unwrap_or_default().to_string();
                    let display = fields.next().unwrap_or_default().to_string();
                    let email = fields.next().map(str::to_string);
                    (name, display, email)
                })
                .collect();
            let created = core.import_accounts(&Core::operator(), org.as_deref(), &rows).await?;
            writeln!(out, "created {} accounts", created.len())?;
        }
        UserCommand::SetOrg { name, org, org_admin } => {
            core.set_account_org(&Core::operator(), &name, org.as_deref(), org_admin).await?;
            writeln!(out, "{name}: organisation {}", org.as_deref().unwrap_or("none"))?;
        }
        UserCommand::Passwd { name, .. } => {
            let password = read_password_from_stdin()?;
            core.set_password(&name, &password).await?;
            writeln!(out, "password of {name} changed")?;
        }
        UserCommand::Del { name } => {
            core.delete_account(&name).await?;
            writeln!(out, "deleted account {name}")?;
        }
        UserCommand::AppPassword { name, label } => {
            let token = core.create_app_password_by("operator", &name, &label).await?;
            writeln!(out, "{token}")?;
        }
        UserCommand::AppPasswords { name } => {
            let user = core.account(&name).await?;
            for password in core.list_app_passwords(&user).await? {
                writeln!(out, "{}\t{}\t{}", password.id, password.label, utc_timestamp(password.created_at))?;
            }
        }
        UserCommand::RevokeAppPassword { name, id } => {
            let user = core.account(&name).await?;
            core.revoke_app_password_by("operator", &user, id).await?;
            writeln!(out, "revoked app password {id} of {name}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The CLI acts as the server's operator: a server administrator.
async fn org_command(core: &Arc<Core>, command: OrgCommand) -> anyhow::Result<ExitCode> {
    let operator = Core::operator();
    let mut out = std::io::stdout().lock();
    match command {
        OrgCommand::Add { name, display_name, quota } => {
            let quota = quota.map(i64::try_from).transpose().context("quota too large")?;
            core.create_org(&operator, &name, display_name.as_deref().unwrap_or_default(), quota).await?;
            writeln!(out, "created organisation {name}")?;
        }
        OrgCommand::List => {
            for org in core.list_orgs(&operator).await? {
                let used = core.org_used_bytes(&org).await?;
                let quota = org.quota.map_or("unlimited".to_string(), |bytes| bytes.to_string());
                writeln!(out, "{}\t{}\t{quota}\t{used}", org.name, org.display_name)?;
            }
        }
        OrgCommand::Policy { name, link_password_required, link_max_expiry_days } => {
            let mut org = core.org_named(&name).await?;
            org.link_password_required = link_password_required;
            org.link_max_expiry_days = link_max_expiry_days;
            core.update_org(&operator, org).await?;
            writeln!(out, "link policy of {name} updated")?;
        }
        OrgCommand::Retention { name, daily_days, quota_percent } => {
            let mut org = core.org_named(&name).await?;
            if daily_days.is_some_and(|days| days < 1) {
                anyhow::bail!("--daily-days must be at least 1");
            }
            org.version_daily_days = daily_days;
            org.version_quota_percent = quota_percent;
            core.update_org(&operator, org).await?;
            writeln!(out, "version retention of {name} updated")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn group_command(core: &Arc<Core>, command: GroupCommand) -> anyhow::Result<ExitCode> {
    let operator = Core::operator();
    let mut out = std::io::stdout().lock();
    match command {
        GroupCommand::Add { name, display_name, org } => {
            core.create_group(&operator, &name, display_name.as_deref().unwrap_or_default(), org.as_deref()).await?;
            writeln!(out, "created group {name}")?;
        }
        GroupCommand::List => {
            for group in core.list_groups(&operator).await? {
                writeln!(out, "{}\t{}", group.name, group.display_name)?;
            }
        }
        GroupCommand::AddMember { group, user, admin } => {
            core.set_group_member(&operator, &group, &user, admin).await?;
            writeln!(out, "{user} is a member of {group}")?;
        }
        GroupCommand::RemoveMember { group, user } => {
            core.remove_group_member(&operator, &group, &user).await?;
            writeln!(out, "{user} left {group}")?;
        }
        GroupCommand::Members { group } => {
            for (user, admin) in core.group_members(&operator, &group).await? {
                writeln!(out, "{}\t{}", user.name, if admin { "admin" } else { "member" })?;
            }
        }
        GroupCommand::Del { name } => {
            core.delete_group(&operator, &name).await?;
            writeln!(out, "deleted group {name}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `user:NAME`, `group:NAME` or `org:NAME` (a bare name is an account).
fn member_arg(text: &str) -> anyhow::Result<hafen_core::RecipientName> {
    use hafen_core::RecipientName;
    Ok(match text.split_once(':') {
        Some(("user", name)) => RecipientName::User(name.to_string()),
        Some(("group", name)) => RecipientName::Group(name.to_string()),
        Some(("org", name)) => RecipientName::Org(name.to_string()),
        Some((kind, _)) => anyhow::bail!("unknown member type {kind:?}: use user:, group: or org:"),
        None => RecipientName::User(text.to_string()),
    })
}

async fn space_command(core: &Arc<Core>, command: SpaceCommand) -> anyhow::Result<ExitCode> {
    use hafen_core::{SpaceOwner, SpaceRole};
    let operator = Core::operator();
    let mut out = std::io::stdout().lock();
    match command {
        SpaceCommand::Add { name, display_name, org, group, quota } => {
            let owner = match (org, group) {
                (Some(org), _) => SpaceOwner::Org(org),
                (None, Some(group)) => SpaceOwner::Group(group),
                (None, None) => anyhow::bail!("give --org or --group"),
            };
            let quota = quota.map(i64::try_from).transpose().context("quota too large")?;
            core.create_space(&operator, &name, display_name.as_deref().unwrap_or_default(), &owner, quota).await?;
            writeln!(out, "created space {name}")?;
        }
        SpaceCommand::List => {
            for view in core.list_spaces(&operator).await? {
                let quota = view.quota.limit.map_or("unlimited".to_string(), |bytes| bytes.to_string());
                writeln!(
                    out,
                    "{}\t{}\t{}\t{quota}\t{}",
                    view.space.name, view.space.display_name, view.owner_name, view.quota.used
                )?;
            }
        }
        SpaceCommand::Quota { name, bytes } => {
            let quota = bytes.map(i64::try_from).transpose().context("quota too large")?;
            core.update_space(&operator, &name, None, Some(quota)).await?;
            writeln!(out, "quota of {name} updated")?;
        }
        SpaceCommand::Rename { name, display_name } => {
            core.update_space(&operator, &name, Some(display_name), None).await?;
            writeln!(out, "space {name} renamed")?;
        }
        SpaceCommand::AddMember { space, members, role } => {
            let role = SpaceRole::parse(&role)?;
            let members =
                members.iter().map(|member| Ok((member_arg(member)?, role))).collect::<anyhow::Result<Vec<_>>>()?;
            let changed = core.set_space_members(&operator, &space, &members).await?;
            writeln!(out, "{changed} memberships of {space} added or changed")?;
        }
        SpaceCommand::RemoveMember { space, member } => {
            core.remove_space_member(&operator, &space, &member_arg(&member)?).await?;
            writeln!(out, "{member} removed from {space}")?;
        }
        SpaceCommand::Members { space } => {
            for member in core.space_members(&operator, &space).await? {
                let kind = match member.recipient {
                    hafen_core::ShareRecipient::User(_) => "user",
                    hafen_core::ShareRecipient::Group(_) => "group",
                    hafen_core::ShareRecipient::Org(_) => "org",
                    hafen_core::ShareRecipient::Link => "link",
                };
                writeln!(out, "{kind}:{}\t{}", member.name, member.role.as_str())?;
            }
        }
        SpaceCommand::Del { name } => {
            core.delete_space(&operator, &name).await?;
            writeln!(out, "deleted space {name}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM-DD HH:MM:SS UTC` for seconds since the epoch (proleptic Gregorian calendar).
fn utc_timestamp(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

async fn fsck(core: &Arc<Core>, grace: Duration) -> anyhow::Result<ExitCode> {
    let report = core.fsck(grace).await?;
    let mut out = std::io::stdout().lock();
    for damage in &report.damage {
        let kind = match damage.kind {
            hafen_core::DamageKind::Missing => "missing",
            hafen_core::DamageKind::Corrupt => "corrupt",
        };
        writeln!(out, "{kind}: {} (block {})", damage.path, damage.block)?;
    }
    writeln!(
        out,
        "checked {} blocks; removed {} unreferenced blocks and {} temporary files; {} damaged files",
        report.blocks_checked,
        report.orphans_removed,
        report.temporary_removed,
        report.damage.len()
    )?;
    Ok(if report.damage.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `hafen store copy-blobs`: progress on standard error (at most every two seconds), damaged
/// source blocks and the summary on standard output.
/// Encrypted blocks are copied as they are; the configured keys (if any) verify them.
async fn copy_blobs(settings: &Settings, from: &str, to: &str, concurrency: usize) -> anyhow::Result<ExitCode> {
    let source = server::with_encryption(
        hafen_blob::open(from).context("cannot open the source blob store (--from)")?,
        settings,
    )?;
    let target = hafen_blob::open(to).context("cannot open the target blob store (--to)")?;
    source.check().await.context("cannot reach the source blob store (--from)")?;
    target.check().await.context("cannot reach the target blob store (--to)")?;
    let started = std::time::Instant::now();
    let mut last_line = started;
    let report = hafen_blob::copy_blocks(source, target, concurrency, |progress| {
        let done = progress.skipped + progress.copied + progress.damaged;
        if last_line.elapsed() >= Duration::from_secs(2) || done == progress.total {
            last_line = std::time::Instant::now();
            eprintln!(
                "copy-blobs: {done}/{} blocks ({} copied, {} already present, {} damaged), {:.1} MB written",
                progress.total,
                progress.copied,
                progress.skipped,
                progress.damaged,
                progress.bytes as f64 / 1e6
            );
        }
    })
    .await
    .context("copying blocks failed")?;
    let mut out = std::io::stdout().lock();
    for damage in &report.damaged {
        writeln!(out, "not copied: {damage}")?;
    }
    let progress = &report.progress;
    writeln!(
        out,
        "copied {} blocks ({} bytes), {} already present, {} damaged, of {} in the source; {:.1} s",
        progress.copied,
        progress.bytes,
        progress.skipped,
        progress.damaged,
        progress.total,
        started.elapsed().as_secs_f64()
    )?;
    Ok(if report.damaged.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// `hafen store copy`: blocks first (so that an interrupted copy can be rerun: present blocks
/// are skipped and the target metadata is still empty), then the metadata in one transaction.
async fn copy_instance(
    from_database: &str,
    source_blobs: Arc<dyn hafen_blob::BlobStore>,
    to_database: &str,
    to_blobs: &str,
    concurrency: usize,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(from_database != to_database, "source and target metadata database are the same");
    let target_blobs = hafen_blob::open(to_blobs).context("cannot open the target blob store (--to-blobs)")?;
    source_blobs.check().await.context("cannot reach the source blob store")?;
    target_blobs.check().await.context("cannot reach the target blob store (--to-blobs)")?;
    if let Some(path) = to_database.strip_prefix("sqlite://") {
        if let Some(parent) = std::path::Path::new(path).parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create the directory of {}", parent.display()))?;
        }
    }
    let source = hafen_meta::open(from_database).await.context("cannot open the source metadata store")?;
    let target =
        hafen_meta::open(to_database).await.context("cannot open the target metadata store (--to-database)")?;
    let accounts = target.count_users().await.context("cannot read the target metadata store")?;
    anyhow::ensure!(accounts == 0, "the target metadata store is not empty ({accounts} accounts); give a new database");

    let started = std::time::Instant::now();
    let snapshot = source.export_snapshot().await.context("cannot read the source metadata")?;
    let blocks = snapshot.blob_blocks();
    let mut damaged: Vec<String> = Vec::new();
    let mut hashes = Vec::with_capacity(blocks.len());
    for block in &blocks {
        match hafen_blob::BlockHash::parse(&block.hash) {
            Some(hash) => hashes.push(hash),
            None => damaged.push(format!("invalid block name {:?} in the metadata", block.hash)),
        }
    }
    let mut last_line = started;
    let report = hafen_blob::copy_listed_blocks(source_blobs, target_blobs, hashes, concurrency, |progress| {
        let done = progress.skipped + progress.copied + progress.damaged;
        if last_line.elapsed() >= Duration::from_secs(2) || done == progress.total {
            last_line = std::time::Instant::now();
            eprintln!(
                "store copy: {done}/{} blocks ({} copied, {} already present, {} damaged), {:.1} MB written",
                progress.total,
                progress.copied,
                progress.skipped,
                progress.damaged,
                progress.bytes as f64 / 1e6
            );
        }
    })
    .await
    .context("copying blocks failed")?;
    damaged.extend(report.damaged.iter().map(ToString::to_string));
    target.import_snapshot(&snapshot).await.context("cannot write the metadata into the target")?;
    let mut out = std::io::stdout().lock();
    for damage in &damaged {
        writeln!(out, "not copied: {damage}")?;
    }
    writeln!(
        out,
        "copied metadata: {} accounts, {} files and folders, {} versions, {} inline blocks, {} app passwords",
        snapshot.users.len(),
        snapshot.nodes.len(),
        snapshot.versions.len(),
        snapshot.inline_blocks.len(),
        snapshot.app_passwords.len()
    )?;
    writeln!(
        out,
        "copied {} blocks ({} bytes), {} already present, {} damaged, of {} referenced; {:.1} s",
        report.progress.copied,
        report.progress.bytes,
        report.progress.skipped,
        damaged.len(),
        report.progress.total,
        started.elapsed().as_secs_f64()
    )?;
    Ok(if damaged.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
mod tests {
    use super::utc_timestamp;

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_timestamp(1_795_423_459), "2026-11-23 08:44:19 UTC");
    }
}
