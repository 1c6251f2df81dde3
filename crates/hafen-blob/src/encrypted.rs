//! Encryption at rest (optional, off by default): [`EncryptedBlobStore`] wraps any blob store
//! so that every block is kept as XChaCha20-Poly1305 ciphertext, and [`rotate_blocks`]
//! re-encrypts a store under the current key.
//!
//! Keys: a [`KeyRing`] holds 32-byte master keys, the first of which encrypts; the others
//! only decrypt (blocks written before a rotation). Each block has a key of its own,
//! derived with BLAKE3 from the master key and the block's hash, and a random 24-byte nonce
//! (XChaCha's nonces are long enough to draw at random for every block).
//!
//! A block at rest: `HFE1` ‖ key id (8 bytes, derived from the master key) ‖ nonce (24) ‖
//! ciphertext with its 16-byte tag. Magic, key id and the block's hash are authenticated
//! data, so a block moved to another name or relabelled with another key id fails.
//! Blocks keep their plaintext BLAKE3 names, so identical content is still stored once
//! (deduplication) and garbage collection and fsck work unchanged; the threat model in
//! `docs/encryption.md` says what this does and does not protect. Plaintext blocks (written
//! before encryption was switched on) are still read, verified by their hash, until a
//! rotation encrypts them.

use crate::*;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};

const MAGIC: &[u8; 4] = b"HFE1";
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = MAGIC.len() + KEY_ID_LEN + NONCE_LEN;
const TAG_LEN: usize = 16;

/// One master key and the id stored with the blocks it encrypts.
struct MasterKey {
    id: [u8; KEY_ID_LEN],
    secret: [u8; 32],
}

impl MasterKey {
    fn new(secret: [u8; 32]) -> MasterKey {
        let derived = blake3::derive_key("hafen 2026-12 encryption at rest: master key id", &secret);
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&derived[..KEY_ID_LEN]);
        MasterKey { id, secret }
    }

    /// The cipher for one block: its key derived from the master key and the block's hash.
    fn block_cipher(&self, hash: &BlockHash) -> XChaCha20Poly1305 {
        let mut material = [0u8; 32 + 64];
        material[..32].copy_from_slice(&self.secret);
        material[32..].copy_from_slice(hash.as_str().as_bytes());
        let key = blake3::derive_key("hafen 2026-12 encryption at rest: block key", &material);
        XChaCha20Poly1305::new(Key::from_slice(&key))
    }

    fn id_hex(&self) -> String {
        hex::encode(self.id)
    }
}

/// The master keys of an instance: the first encrypts, all decrypt.
pub struct KeyRing {
    keys: Vec<MasterKey>,
}

impl std::fmt::Debug for KeyRing {
    /// Names the key ids only: a key ring must never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("ids", &self.ids()).finish()
    }
}

impl KeyRing {
    /// Parses keys written as 64 hexadecimal digits each, separated by white space or commas;
    /// `#` starts a comment up to the end of its line. The first key is the current one.
    /// Error messages name a key by its position, never by its content.
    pub fn parse(text: &str) -> BlobResult<KeyRing> {
        let mut keys: Vec<MasterKey> = Vec::new();
        let tokens = text
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default())
            .flat_map(|line| line.split(|c: char| c.is_whitespace() || c == ','))
            .filter(|token| !token.is_empty());
        for (position, token) in tokens.enumerate() {
            let mut secret = [0u8; 32];
            hex::decode_to_slice(token, &mut secret).map_err(|_| {
                BlobError::Key(format!(
                    "encryption key {} is not 64 hexadecimal digits (32 bytes); `hafen encryption generate-key` writes one",
                    position + 1
                ))
            })?;
            let key = MasterKey::new(secret);
            if keys.iter().any(|known| known.id == key.id) {
                return Err(BlobError::Key(format!("encryption key {} is given twice", position + 1)));
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(BlobError::Key("no encryption key given".into()));
        }
        Ok(KeyRing { keys })
    }

    /// A new random key in the form `parse` reads.
    pub fn generate_key_text() -> String {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        hex::encode(secret)
    }

    /// The id of the key that encrypts (hex), as stored in each block it encrypts.
    pub fn current_id(&self) -> String {
        self.keys[0].id_hex()
    }

    /// The ids of all keys, current first.
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(MasterKey::id_hex).collect()
    }

    fn current(&self) -> &MasterKey {
        &self.keys[0]
    }

    fn find(&self, id: &[u8]) -> Option<&MasterKey> {
        self.keys.iter().find(|key| key.id == id)
    }

    /// Encrypts a block's content under the current key.
    fn seal(&self, hash: &BlockHash, data: &[u8]) -> BlobResult<Bytes> {
        let key = self.current();
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
        let mut header = Vec::with_capacity(HEADER_LEN + data.len() + TAG_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&key.id);
        header.extend_from_slice(&nonce);
        let aad = associated_data(&key.id, hash);
        let ciphertext = key
            .block_cipher(hash)
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: data, aad: &aad })
            .map_err(|_| BlobError::Key(format!("cannot encrypt block {hash}")))?;
        header.extend_from_slice(&ciphertext);
        Ok(Bytes::from(header))
    }

    /// The verified content of a block at rest: decrypted when encrypted, else (a block from
    /// before encryption) checked by its hash.
    fn open(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<Bytes> {
        if let Some((id, nonce, ciphertext)) = split_encrypted(&stored) {
            match self.find(id) {
                Some(key) => {
                    let aad = associated_data(&key.id, hash);
                    let opened = key
                        .block_cipher(hash)
                        .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad });
                    if let Ok(plain) = opened {
                        // Authenticated already; the hash check keeps "every read verifies
                        // the content" true whatever wrote the block.
                        return if BlockHash::of(&plain) == *hash {
                            Ok(Bytes::from(plain))
                        } else {
                            Err(BlobError::Corrupt(hash.clone()))
                        };
                    }
                }
                None if BlockHash::of(&stored) != *hash => {
                    return Err(BlobError::Key(format!(
                        "block {hash} is encrypted under key {}, which is not among the configured keys ({})",
                        hex::encode(id),
                        self.ids().join(", ")
                    )));
                }
                None => {}
            }
        }
        // Plaintext (or content that merely starts like an encrypted block).
        if BlockHash::of(&stored) == *hash {
            Ok(stored)
        } else {
            Err(BlobError::Corrupt(hash.clone()))
        }
    }

    /// Whether a block at rest is encrypted under the current key.
    fn is_current(&self, stored: &[u8]) -> bool {
        split_encrypted(stored).is_some_and(|(id, _, _)| id == self.current().id)
    }
}

/// Whether a block at rest has the encrypted format.
pub(crate) fn looks_encrypted(stored: &[u8]) -> bool {
    split_encrypted(stored).is_some()
}

/// Key id, nonce and ciphertext of a block at rest in the encrypted format.
fn split_encrypted(stored: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    if stored.len() < HEADER_LEN + TAG_LEN || !stored.starts_with(MAGIC) {
        return None;
    }
    let (id, rest) = stored[MAGIC.len()..].split_at(KEY_ID_LEN);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    Some((id, nonce, ciphertext))
}

fn associated_data(key_id: &[u8], hash: &BlockHash) -> Vec<u8> {
    let mut aad = Vec::with_capacity(MAGIC.len() + KEY_ID_LEN + 64);
    aad.extend_from_slice(MAGIC);
    aad.extend_from_slice(key_id);
    aad.extend_from_slice(hash.as_str().as_bytes());
    aad
}

/// A blob store whose blocks are encrypted at rest (see the module documentation).
pub struct EncryptedBlobStore {
    inner: Arc<dyn BlobStore>,
    keys: Arc<KeyRing>,
}

impl EncryptedBlobStore {
    pub fn new(inner: Arc<dyn BlobStore>, keys: Arc<KeyRing>) -> EncryptedBlobStore {
        EncryptedBlobStore { inner, keys }
    }
}

#[async_trait]
impl BlobStore for EncryptedBlobStore {
    async fn put(&self, hash: &BlockHash, data: Bytes) -> BlobResult<()> {
        let (keys, name) = (self.keys.clone(), hash.clone());
        let sealed = blocking(move || keys.seal(&name, &data)).await?;
        self.inner.put_stored(hash, sealed).await
    }

    async fn get(&self, hash: &BlockHash) -> BlobResult<Bytes> {
        let stored = self.inner.get_stored(hash).await?;
        let (keys, name) = (self.keys.clone(), hash.clone());
        blocking(move || keys.open(&name, stored)).await
    }

    fn seal(&self, hash: &BlockHash, data: Bytes) -> BlobResult<Bytes> {
        self.keys.seal(hash, &data)
    }

    fn open_stored(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<Bytes> {
        self.keys.open(hash, stored)
    }

    fn reseal(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<Option<Bytes>> {
        if self.keys.is_current(&stored) {
            return Ok(None);
        }
        let plain = self.keys.open(hash, stored)?;
        self.keys.seal(hash, &plain).map(Some)
    }

    async fn put_stored(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<()> {
        self.inner.put_stored(hash, stored).await
    }

    async fn get_stored(&self, hash: &BlockHash) -> BlobResult<Bytes> {
        self.inner.get_stored(hash).await
    }

    async fn replace_stored(&self, hash: &BlockHash, stored: Bytes) -> BlobResult<()> {
        self.inner.replace_stored(hash, stored).await
    }

    async fn delete(&self, hash: &BlockHash) -> BlobResult<()> {
        self.inner.delete(hash).await
    }

    async fn delete_if_older(&self, hash: &BlockHash, cutoff: SystemTime) -> BlobResult<bool> {
        self.inner.delete_if_older(hash, cutoff).await
    }

    async fn list(&self) -> BlobResult<Vec<StoredBlock>> {
        self.inner.list().await
    }

    async fn clean_temporary(&self, older_than: SystemTime) -> BlobResult<usize> {
        self.inner.clean_temporary(older_than).await
    }

    async fn check(&self) -> BlobResult<()> {
        self.inner.check().await
    }
}

/// Counters reported while rotating.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationProgress {
    /// Blocks the store lists.
    pub total: usize,
    /// Blocks already encrypted under the current key (left alone).
    pub current: usize,
    /// Blocks re-encrypted (or encrypted for the first time) under the current key.
    pub rotated: usize,
    /// Blocks deleted (garbage collection) between listing and reading.
    pub vanished: usize,
    /// Blocks that failed verification or are under a key not configured (left alone).
    pub damaged: usize,
}

/// The outcome of [`rotate_blocks`].
#[derive(Debug, Default)]
pub struct RotationReport {
    pub progress: RotationProgress,
    pub damaged: Vec<BlobError>,
}

/// Re-encrypts every block of `store` that is not yet under its current key (`reseal`),
/// with up to `concurrency` blocks in flight, while the store serves: each block is replaced
/// atomically by a verified new form of the same content. Idempotent; interrupted, it is
/// simply run again. A failing store aborts it; damaged blocks are reported, not touched.
pub async fn rotate_blocks(
    store: Arc<dyn BlobStore>,
    concurrency: usize,
    mut on_progress: impl FnMut(&RotationProgress),
) -> BlobResult<RotationReport> {
    let listed = store.list().await?;
    let mut report = RotationReport {
        progress: RotationProgress { total: listed.len(), ..RotationProgress::default() },
        damaged: Vec::new(),
    };
    on_progress(&report.progress);
    let rotate_one = |hash: BlockHash| {
        let store = store.clone();
        async move {
            let stored = store.get_stored(&hash).await?;
            let resealed = {
                let (store, hash) = (store.clone(), hash.clone());
                blocking(move || store.reseal(&hash, stored)).await?
            };
            match resealed {
                Some(new_form) => {
                    store.replace_stored(&hash, new_form).await?;
                    Ok(true)
                }
                None => Ok(false),
            }
        }
    };
    for_each_block(listed.into_iter().map(|block| block.hash), concurrency, rotate_one, |outcome| {
        match outcome {
            Ok(true) => report.progress.rotated += 1,
            Ok(false) => report.progress.current += 1,
            Err(BlobError::Missing(_)) => report.progress.vanished += 1,
            Err(error @ (BlobError::Corrupt(_) | BlobError::Key(_))) => {
                report.progress.damaged += 1;
                report.damaged.push(error);
            }
            Err(error) => return Err(error),
        }
        on_progress(&report.progress);
        Ok(())
    })
    .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    const KEY_B: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    fn stores(keys: &str) -> (tempfile::TempDir, Arc<FsBlobStore>, Arc<EncryptedBlobStore>) {
        let dir = tempfile::tempdir().unwrap();
        let plain = Arc::new(FsBlobStore::open(dir.path()).unwrap());
        let encrypted = Arc::new(EncryptedBlobStore::new(plain.clone(), Arc::new(KeyRing::parse(keys).unwrap())));
        (dir, plain, encrypted)
    }

    #[tokio::test]
    async fn blocks_are_ciphertext_at_rest_and_read_back_verified() {
        let (_dir, plain, encrypted) = stores(KEY_A);
        let content = Bytes::from(b"Vertraulicher Bescheid an Frau Muster, Aktenzeichen 42/2026".repeat(100));
        let hash = BlockHash::of(&content);
        encrypted.put(&hash, content.clone()).await.unwrap();
        let at_rest = plain.get_stored(&hash).await.unwrap();
        assert!(at_rest.starts_with(MAGIC));
        assert_eq!(at_rest.len(), content.len() + HEADER_LEN + TAG_LEN);
        assert!(!at_rest.windows(12).any(|window| window == b"Aktenzeichen"), "plaintext leaked");
        let blind = plain.get(&hash).await.unwrap_err().to_string();
        assert!(blind.contains("no encryption key is configured"), "the raw store sees no content: {blind}");
        assert_eq!(encrypted.get(&hash).await.unwrap(), content);
        // Deduplication: the same content is one block, stored once.
        encrypted.put(&hash, content.clone()).await.unwrap();
        assert_eq!(plain.list().await.unwrap().len(), 1);
        assert_eq!(plain.get_stored(&hash).await.unwrap(), at_rest, "an existing block is not rewritten");
        // Two encryptions of the same content differ (random nonce).
        assert_ne!(encrypted.seal(&hash, content.clone()).unwrap(), at_rest);
    }

    #[tokio::test]
    async fn tampering_a_wrong_key_and_a_moved_block_are_detected() {
        let (_dir, plain, encrypted) = stores(KEY_A);
        let content = Bytes::from_static(b"block content");
        let hash = BlockHash::of(&content);
        let other_hash = BlockHash::of(b"another block");
        encrypted.put(&hash, content.clone()).await.unwrap();
        let at_rest = plain.get_stored(&hash).await.unwrap();
        for position in [0, 5, HEADER_LEN - 1, HEADER_LEN, at_rest.len() - 1] {
            let mut changed = at_rest.to_vec();
            changed[position] ^= 0x40;
            plain.replace_stored(&hash, Bytes::from(changed)).await.unwrap();
            assert!(
                matches!(encrypted.get(&hash).await, Err(BlobError::Corrupt(_) | BlobError::Key(_))),
                "byte {position} changed and still read"
            );
        }
        // The right ciphertext under another block's name fails too (hash is authenticated).
        plain.put_stored(&other_hash, at_rest.clone()).await.unwrap();
        assert!(matches!(encrypted.get(&other_hash).await, Err(BlobError::Corrupt(_))));
        // Another key ring cannot read it and says which key is missing.
        plain.replace_stored(&hash, at_rest).await.unwrap();
        let stranger = EncryptedBlobStore::new(plain.clone(), Arc::new(KeyRing::parse(KEY_B).unwrap()));
        let message = stranger.get(&hash).await.unwrap_err().to_string();
        let id_a = KeyRing::parse(KEY_A).unwrap().current_id();
        assert!(message.contains(&id_a) && !message.contains(KEY_A) && !message.contains(KEY_B), "{message}");
    }

    #[tokio::test]
    async fn rotation_reencrypts_old_and_plaintext_blocks_and_is_idempotent() {
        let (dir, plain, old) = stores(KEY_A);
        let legacy = Bytes::from_static(b"written before encryption was switched on");
        plain.put(&BlockHash::of(&legacy), legacy.clone()).await.unwrap();
        let under_old = Bytes::from_static(b"written under the old key");
        old.put(&BlockHash::of(&under_old), under_old.clone()).await.unwrap();
        let broken = BlockHash::of(b"broken");
        plain.put_stored(&broken, Bytes::from_static(b"not what the name says")).await.unwrap();

        let ring = KeyRing::parse(&format!("{KEY_B}\n# the previous key\n{KEY_A}\n")).unwrap();
        let new_id = ring.current_id();
        let rotated = Arc::new(EncryptedBlobStore::new(plain.clone(), Arc::new(ring)));
        // Readable before the rotation through the previous key.
        assert_eq!(rotated.get(&BlockHash::of(&under_old)).await.unwrap(), under_old);
        let report = rotate_blocks(rotated.clone(), 4, |_| {}).await.unwrap();
        assert_eq!((report.progress.total, report.progress.rotated, report.progress.damaged), (3, 2, 1));
        assert!(matches!(report.damaged[0], BlobError::Corrupt(ref hash) if *hash == broken));
        for content in [&legacy, &under_old] {
            let hash = BlockHash::of(content);
            let at_rest = plain.get_stored(&hash).await.unwrap();
            assert_eq!(hex::encode(&at_rest[4..12]), new_id);
            assert_eq!(&rotated.get(&hash).await.unwrap(), content);
        }
        // The old key is no longer needed.
        let new_only = EncryptedBlobStore::new(plain.clone(), Arc::new(KeyRing::parse(KEY_B).unwrap()));
        assert_eq!(new_only.get(&BlockHash::of(&under_old)).await.unwrap(), under_old);
        let again = rotate_blocks(rotated, 4, |_| {}).await.unwrap();
        assert_eq!((again.progress.current, again.progress.rotated), (2, 0));
        drop(dir);
    }

    #[test]
    fn key_rings_parse_strictly_and_never_echo_keys() {
        assert_eq!(KeyRing::parse(&format!("  {KEY_A} , {KEY_B} # two keys\n")).unwrap().ids().len(), 2);
        for bad in
            ["", "# only a comment", "abc", &KEY_A[..62], &format!("{KEY_A}{KEY_A}"), &format!("{KEY_A} {KEY_A}")]
        {
            let message = KeyRing::parse(bad).unwrap_err().to_string();
            assert!(!message.contains("0011223344"), "{message}");
        }
        let generated = KeyRing::generate_key_text();
        assert_eq!(generated.len(), 64);
        assert_ne!(generated, KeyRing::generate_key_text());
        let debug = format!("{:?}", KeyRing::parse(KEY_A).unwrap());
        assert!(!debug.contains("0011223344"), "{debug}");
    }
}
