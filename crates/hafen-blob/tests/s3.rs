//! Blob store conformance: the same suite against the local-disk store and the S3 store (moto
//! on loopback), plus S3-specific behaviour: corruption written through the S3 API is detected,
//! key prefixes, paginated listing, bounded retries against an unreachable endpoint, and
//! copying blocks disk → S3 → disk. The encrypting wrapper passes the same suite on both, and
//! over S3 its objects are ciphertext.

#[path = "support/moto.rs"]
mod moto;

use bytes::Bytes;
use hafen_blob::{BlobError, BlobStore, BlockHash};
use moto::Moto;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

fn block(text: &str) -> (BlockHash, Bytes) {
    let data = Bytes::from(text.as_bytes().to_vec());
    (BlockHash::of(&data), data)
}

fn key_of(hash: &BlockHash) -> String {
    let text = hash.as_str();
    format!("blocks/{}/{}/{}", &text[..2], &text[2..4], text)
}

/// What every `BlobStore` must do.
async fn conformance(store: Arc<dyn BlobStore>) {
    store.check().await.expect("check");
    assert!(store.list().await.unwrap().is_empty());
    let (hash, data) = block("hello block");
    let before = SystemTime::now() - Duration::from_secs(5);
    store.put(&hash, data.clone()).await.unwrap();
    // Deduplication: storing again is fine and keeps one block.
    store.put(&hash, data.clone()).await.unwrap();
    assert_eq!(store.get(&hash).await.unwrap(), data);
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].hash, hash);
    assert!(listed[0].modified >= before, "modified time is plausible");
    // A 4 MiB block (the largest the core writes) round-trips.
    let big = Bytes::from((0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let big_hash = BlockHash::of(&big);
    store.put(&big_hash, big.clone()).await.unwrap();
    assert_eq!(store.get(&big_hash).await.unwrap(), big);
    assert_eq!(store.list().await.unwrap().len(), 2);
    store.delete(&hash).await.unwrap();
    store.delete(&hash).await.unwrap();
    assert!(matches!(store.get(&hash).await, Err(BlobError::Missing(ref h)) if *h == hash));
    let (absent, _) = block("never stored");
    assert!(matches!(store.get(&absent).await, Err(BlobError::Missing(_))));
    assert_eq!(store.list().await.unwrap().len(), 1);
    assert_eq!(store.clean_temporary(SystemTime::now()).await.unwrap(), 0);
    // The form at rest: read back as stored, replaced atomically, verified by `open_stored`.
    let stored = store.get_stored(&big_hash).await.unwrap();
    assert_eq!(store.open_stored(&big_hash, stored.clone()).unwrap(), big);
    store.replace_stored(&big_hash, store.seal(&big_hash, big.clone()).unwrap()).await.unwrap();
    assert_eq!(store.get(&big_hash).await.unwrap(), big);
    assert!(matches!(store.open_stored(&big_hash, Bytes::from_static(b"other")), Err(BlobError::Corrupt(_))));
}

fn encrypted(inner: Arc<dyn BlobStore>) -> Arc<dyn BlobStore> {
    let keys = hafen_blob::KeyRing::parse(&hafen_blob::KeyRing::generate_key_text()).unwrap();
    Arc::new(hafen_blob::EncryptedBlobStore::new(inner, Arc::new(keys)))
}

#[tokio::test]
async fn disk_store_conformance() {
    let dir = tempfile::tempdir().unwrap();
    conformance(hafen_blob::open(&format!("file://{}", dir.path().display())).unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    conformance(encrypted(hafen_blob::open(&format!("file://{}", dir.path().display())).unwrap())).await;
}

#[tokio::test]
async fn s3_store_conformance_corruption_and_prefix() {
    let moto = Moto::start();
    moto.create_bucket("conformance");
    conformance(hafen_blob::open(&moto.url("conformance")).unwrap()).await;
    moto.create_bucket("encrypted");
    conformance(encrypted(hafen_blob::open(&moto.url("encrypted")).unwrap())).await;
    let sealed = encrypted(hafen_blob::open(&moto.url("encrypted")).unwrap());
    let (hash, data) = block("Bescheid: vertraulich");
    sealed.put(&hash, data.clone()).await.unwrap();
    let object = moto.get_object("encrypted", &key_of(&hash)).expect("object");
    assert!(object.starts_with(b"HFE1") && !object.windows(11).any(|w| w == b"vertraulich"), "ciphertext in S3");
    assert_eq!(sealed.get(&hash).await.unwrap(), data);

    // Corruption written behind the store's back through the S3 API is detected.
    moto.create_bucket("tamper");
    let store = hafen_blob::open(&moto.url("tamper")).unwrap();
    let (hash, data) = block("precious bytes");
    store.put(&hash, data.clone()).await.unwrap();
    assert_eq!(moto.get_object("tamper", &key_of(&hash)).as_deref(), Some(&data[..]));
    moto.put_object("tamper", &key_of(&hash), b"precious bytez");
    assert!(matches!(store.get(&hash).await, Err(BlobError::Corrupt(ref h)) if *h == hash));
    // An object that is not a block (wrong place or name) is not listed.
    moto.put_object("tamper", "blocks/zz/not-a-block", b"x");
    moto.put_object("tamper", &format!("blocks/00/00/{}", hash.as_str()), b"misplaced");
    assert_eq!(store.list().await.unwrap().len(), 1);

    // A key prefix puts the blocks below it.
    moto.create_bucket("shared");
    let url = format!("s3://shared/hafen/node-set-1?endpoint={}&region=us-east-1", moto.endpoint);
    let prefixed = hafen_blob::open(&url).unwrap();
    prefixed.put(&hash, data.clone()).await.unwrap();
    assert!(moto.get_object("shared", &format!("hafen/node-set-1/{}", key_of(&hash))).is_some());
    assert!(moto.get_object("shared", &key_of(&hash)).is_none());
    assert_eq!(prefixed.list().await.unwrap().len(), 1);
    assert_eq!(hafen_blob::open(&moto.url("shared")).unwrap().list().await.unwrap().len(), 0);
}

#[tokio::test]
async fn s3_listing_is_paginated() {
    let moto = Moto::start();
    moto.create_bucket("many");
    let store = hafen_blob::open(&moto.url("many")).unwrap();
    // More than one ListObjectsV2 page (1,000 keys).
    let count = 1_234;
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in 0..8u32 {
        let store = store.clone();
        tasks.spawn(async move {
            for index in (chunk..count).step_by(8) {
                let (hash, data) = block(&format!("block {index}"));
                store.put(&hash, data).await.unwrap();
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap();
    }
    let listed = store.list().await.unwrap();
    assert_eq!(listed.len(), count as usize);
    let unique: std::collections::HashSet<_> = listed.into_iter().map(|block| block.hash).collect();
    assert_eq!(unique.len(), count as usize);
}

#[tokio::test]
async fn unreachable_endpoint_fails_quickly_with_a_clear_message() {
    std::env::set_var("AWS_ACCESS_KEY_ID", "hafen-test-key");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "hafen-test-secret");
    // Nothing listens on port 1.
    let store = hafen_blob::open("s3://nowhere?endpoint=http://127.0.0.1:1&region=us-east-1").unwrap();
    let (hash, data) = block("lost");
    let started = Instant::now();
    let error = store.put(&hash, data).await.expect_err("unreachable");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(15), "bounded retries, took {elapsed:?}");
    let message = error.to_string();
    assert!(matches!(error, BlobError::Backend(_)), "{message}");
    assert!(message.contains("127.0.0.1:1") && message.contains("nowhere"), "{message}");
    assert!(message.contains("PUT"), "{message}");
    assert!(!message.contains("hafen-test-secret"), "{message}");
    assert!(store.check().await.is_err());
    assert!(matches!(store.get(&hash).await, Err(BlobError::Backend(_))));
}

#[tokio::test]
async fn copies_blocks_from_disk_to_s3_and_back() {
    let moto = Moto::start();
    moto.create_bucket("migrate");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let disk = hafen_blob::open(&format!("file://{}", a.path().display())).unwrap();
    let s3 = hafen_blob::open(&moto.url("migrate")).unwrap();
    let back = hafen_blob::open(&format!("file://{}", b.path().display())).unwrap();
    let mut hashes = Vec::new();
    for index in 0..50 {
        let (hash, data) = block(&format!("migrated block {index}"));
        disk.put(&hash, data).await.unwrap();
        hashes.push(hash);
    }
    let mut updates = 0;
    let report = hafen_blob::copy_blocks(disk.clone(), s3.clone(), 8, |_| updates += 1).await.unwrap();
    assert_eq!((report.progress.total, report.progress.copied, report.progress.damaged), (50, 50, 0));
    assert!(updates >= 50);
    let again = hafen_blob::copy_blocks(disk, s3.clone(), 8, |_| {}).await.unwrap();
    assert_eq!((again.progress.skipped, again.progress.copied), (50, 0));
    // A block corrupted in S3 is not copied back.
    moto.put_object("migrate", &key_of(&hashes[7]), b"garbage");
    let report = hafen_blob::copy_blocks(s3, back.clone(), 8, |_| {}).await.unwrap();
    assert_eq!((report.progress.copied, report.progress.damaged), (49, 1));
    assert!(matches!(back.get(&hashes[7]).await, Err(BlobError::Missing(_))));
    assert_eq!(back.get(&hashes[0]).await.unwrap(), Bytes::from_static(b"migrated block 0"));
}
