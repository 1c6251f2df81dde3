//! Validated paths inside a user's tree. Every name is checked here, once, so that no
//! layer below ever sees `..`, separators, control characters or over-long names.

use crate::{CoreError, CoreResult};
use unicode_normalization::UnicodeNormalization;

/// Longest name accepted, in bytes (as most filesystems and clients allow).
const MAX_NAME_BYTES: usize = 255;

/// A path of validated, NFC-normalised names below a tree's root. The empty path is the root.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TreePath {
    names: Vec<String>,
}

impl TreePath {
    pub fn root() -> TreePath {
        TreePath::default()
    }

    /// Builds a path from already percent-decoded segments. Empty segments (from `//` or a
    /// trailing slash) are skipped; anything else that is not a plain name is refused.
    pub fn from_segments<I, S>(segments: I) -> CoreResult<TreePath>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut names = Vec::new();
        for segment in segments {
            let segment = segment.as_ref();
            if segment.is_empty() {
                continue;
            }
            names.push(validate_name(segment)?);
        }
        Ok(TreePath { names })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
    pub fn is_root(&self) -> bool {
        self.names.is_empty()
    }
    /// The last name, `None` for the root.
    pub fn name(&self) -> Option<&str> {
        self.names.last().map(String::as_str)
    }
    pub fn parent(&self) -> Option<TreePath> {
        (!self.is_root()).then(|| TreePath { names: self.names[..self.names.len() - 1].to_vec() })
    }
    pub fn join(&self, name: &str) -> TreePath {
        let mut names = self.names.clone();
        names.push(name.to_string());
        TreePath { names }
    }
    /// Whether `self` equals `other` or lies below it.
    pub fn is_within(&self, other: &TreePath) -> bool {
        self.names.len() >= other.names.len() && self.names[..other.names.len()] == other.names[..]
    }
    /// The canonical text form: `/` for the root, `/a/b` otherwise.
    pub fn to_key(&self) -> String {
        if self.is_root() {
            "/".to_string()
        } else {
            self.names.iter().map(|name| format!("/{name}")).collect()
        }
    }
    /// Parses `to_key` output back (trusted input from the store).
    pub fn from_key(key: &str) -> TreePath {
        TreePath { names: key.split('/').filter(|name| !name.is_empty()).map(str::to_string).collect() }
    }
}

/// Checks one name and returns it NFC-normalised.
pub fn validate_name(raw: &[u8]) -> CoreResult<String> {
    let text =
        std::str::from_utf8(raw).map_err(|_| CoreError::InvalidInput("file names must be valid UTF-8".into()))?;
    if text == "." || text == ".." {
        return Err(CoreError::InvalidInput("'.' and '..' are not allowed in paths".into()));
    }
    if text.contains(['/', '\\']) {
        return Err(CoreError::InvalidInput("file names must not contain '/' or '\\'".into()));
    }
    if text.chars().any(char::is_control) {
        return Err(CoreError::InvalidInput("file names must not contain control characters".into()));
    }
    let normalized: String = text.nfc().collect();
    if normalized.len() > MAX_NAME_BYTES {
        return Err(CoreError::InvalidInput(format!("file names must not be longer than {MAX_NAME_BYTES} bytes")));
    }
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_could_escape_or_confuse() {
        for bad in [&b".."[..], b".", b"a/b", b"a\\b", b"a\0b", b"a\x01b", b"\xff\xfe", &[b'x'; 256]] {
            assert!(validate_name(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(validate_name("e\u{301}".as_bytes()).unwrap(), "\u{e9}");
        let path = TreePath::from_segments(["a", "", "b"]).unwrap();
        assert_eq!(path.to_key(), "/a/b");
        assert!(path.is_within(&TreePath::from_key("/a")));
        assert!(!TreePath::from_key("/ab").is_within(&TreePath::from_key("/a")));
    }
}
