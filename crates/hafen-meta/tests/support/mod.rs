//! Test databases shared by the integration tests of `hafen-meta`: a temporary SQLite file, or
//! a fresh PostgreSQL database per test (created through `HAFEN_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`, and dropped afterwards, also when the test
//! panics). PostgreSQL is part of every development and CI machine: when it is unreachable the
//! tests fail, they do not skip.
#![allow(dead_code)]

use sqlx::{Connection, Executor, PgConnection};
use std::future::Future;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A share of `node` by `sharer` with read permission and nothing else set, made at the
/// tests' fixed time.
pub fn share_of(
    sharer: hafen_meta::UserId,
    node: hafen_meta::NodeId,
    recipient: hafen_meta::ShareRecipient,
) -> hafen_meta::Share {
    hafen_meta::Share {
        id: 0,
        sharer,
        node,
        recipient,
        permissions: 1,
        token: None,
        password_hash: None,
        expires_at: None,
        download_limit: None,
        download_count: 0,
        label: String::new(),
        note: String::new(),
        hide_download: false,
        created_at: 1_700_000_000,
        space: None,
    }
}

/// An ordinary account to create in tests.
pub fn new_user(name: &str) -> hafen_meta::NewUser {
    hafen_meta::NewUser {
        name: name.into(),
        display_name: format!("{name} display"),
        email: Some(format!("{name}@example.org")),
        password_hash: "hash".into(),
        quota: None,
        is_admin: false,
        ..hafen_meta::NewUser::default()
    }
}

/// Runs `test` with the `sqlite://` url of a file in a temporary directory (not created yet).
pub async fn with_sqlite_url<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("meta.db").display());
    test(url).await;
}

/// `base` with its database name replaced by `database` (query parameters kept).
pub fn with_database(base: &str, database: &str) -> String {
    let (without_query, query) = match base.split_once('?') {
        Some((url, query)) => (url, format!("?{query}")),
        None => (base, String::new()),
    };
    let scheme_end = without_query.find("://").map_or(0, |at| at + 3);
    let server = match without_query[scheme_end..].find('/') {
        Some(slash) => &without_query[..scheme_end + slash],
        None => without_query,
    };
    format!("{server}/{database}{query}")
}

/// Runs `test` with the url of a fresh, empty PostgreSQL database, dropped afterwards.
pub async fn with_postgres_url<F, Fut>(test: F)
where
    F: FnOnce(String) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_postgres_urls(1, move |mut urls| test(urls.remove(0))).await;
}

/// Runs `test` with the urls of `count` fresh, empty PostgreSQL databases, dropped afterwards.
pub async fn with_postgres_urls<F, Fut>(count: usize, test: F)
where
    F: FnOnce(Vec<String>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let base = std::env::var("HAFEN_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
    let mut admin = match PgConnection::connect(&base).await {
        Ok(connection) => connection,
        Err(error) => panic!(
            "PostgreSQL is required by these tests but {base} is not reachable: {error}\n\
             Start PostgreSQL on 127.0.0.1:5432 with trust authentication for local connections \
             (database `test`), or point HAFEN_TEST_POSTGRES_URL at a server where the user may \
             CREATE DATABASE."
        ),
    };
    let databases: Vec<String> =
        (0..count).map(|_| format!("hafen_test_{}", hex::encode(rand::random::<[u8; 8]>()))).collect();
    for database in &databases {
        admin.execute(format!("CREATE DATABASE {database}").as_str()).await.expect("CREATE DATABASE");
    }
    let urls = databases.iter().map(|database| with_database(&base, database)).collect();
    let outcome = tokio::spawn(test(urls)).await;
    for database in &databases {
        // FORCE ends the connections the stores' pools may still hold.
        admin
            .execute(format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)").as_str())
            .await
            .expect("DROP DATABASE");
    }
    let _ = admin.close().await;
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("test task failed: {error}"),
        }
    }
}
