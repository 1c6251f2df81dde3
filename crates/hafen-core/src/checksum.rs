//! Checksums declared by clients (`OC-Checksum: SHA1:…`). Nextcloud only stores them; Hafen
//! verifies SHA1 and MD5 while the body streams (no second pass) and refuses a mismatch, and
//! stores other types as declared.

use crate::{CoreError, CoreResult};
use md5::{Digest, Md5};
use sha1::Sha1;

/// A running verification of one declared checksum.
pub(crate) enum ChecksumCheck {
    Sha1(Sha1, String),
    Md5(Md5, String),
    /// A type we store without verifying (e.g. ADLER32).
    Unverified,
}

/// Parses a declared checksum into its normalised form (`TYPE:lowercase-hex`); the first of
/// several space-separated entries counts.
pub(crate) fn normalize(declared: &str) -> CoreResult<String> {
    let first = declared.split_whitespace().next().unwrap_or_default();
    let (kind, value) = first
        .split_once(':')
        .ok_or_else(|| CoreError::InvalidInput("OC-Checksum must look like TYPE:hex, e.g. SHA1:…".into()))?;
    let kind = kind.to_ascii_uppercase();
    if kind.is_empty() || value.is_empty() || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CoreError::InvalidInput("OC-Checksum must look like TYPE:hex, e.g. SHA1:…".into()));
    }
    Ok(format!("{kind}:{}", value.to_ascii_lowercase()))
}

impl ChecksumCheck {
    pub(crate) fn for_declared(normalized: &str) -> ChecksumCheck {
        match normalized.split_once(':') {
            Some(("SHA1", hex)) => ChecksumCheck::Sha1(Sha1::new(), hex.to_string()),
            Some(("MD5", hex)) => ChecksumCheck::Md5(Md5::new(), hex.to_string()),
            _ => ChecksumCheck::Unverified,
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            ChecksumCheck::Sha1(hasher, _) => hasher.update(data),
            ChecksumCheck::Md5(hasher, _) => hasher.update(data),
            ChecksumCheck::Unverified => {}
        }
    }

    pub(crate) fn verify(self) -> CoreResult<()> {
        let matches = match self {
            ChecksumCheck::Sha1(hasher, expected) => hex::encode(hasher.finalize()) == expected,
            ChecksumCheck::Md5(hasher, expected) => hex::encode(hasher.finalize()) == expected,
            ChecksumCheck::Unverified => true,
        };
        if matches {
            Ok(())
        } else {
            Err(CoreError::InvalidInput("the uploaded content does not match its OC-Checksum".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_sha1_and_refuses_a_mismatch() {
        let declared = normalize("sha1:A9993E364706816ABA3E25717850C26C9CD0D89D").unwrap();
        assert_eq!(declared, "SHA1:a9993e364706816aba3e25717850c26c9cd0d89d");
        let mut check = ChecksumCheck::for_declared(&declared);
        check.update(b"abc");
        assert!(check.verify().is_ok());
        let mut wrong = ChecksumCheck::for_declared(&declared);
        wrong.update(b"abd");
        assert!(wrong.verify().is_err());
        assert!(normalize("garbage").is_err());
    }
}
