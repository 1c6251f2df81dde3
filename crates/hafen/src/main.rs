//! The `hafen` binary: command line, configuration and process lifecycle. It wires the stores
//! to the core and the core to the HTTP layer; it holds no domain logic.

mod cli;
mod config;
mod listener;
mod mail;
mod server;
mod tls;

use clap::Parser;

/// mimalloc instead of glibc malloc: transfers allocate and free 4 MiB blocks on many threads,
/// and glibc keeps such memory in per-thread arenas long after use (measured: RSS stayed at
/// several hundred MB after a burst of downloads); mimalloc returns it to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("HAFEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // HAFEN_LOG_FORMAT=json: one JSON object per line, for log collectors.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("HAFEN_LOG_FORMAT").is_ok_and(|format| format == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Blocking work is block I/O and hashing of up to 4 MiB at a time: a few threads keep
        // the disk busy, and fewer threads mean fewer malloc arenas holding freed buffers.
        .max_blocking_threads(16)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
