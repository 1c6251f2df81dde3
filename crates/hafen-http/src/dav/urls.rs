//! URLs of the WebDAV trees: parsing request paths and `Destination` headers into validated
//! tree paths, and writing hrefs. Percent-decoding happens per segment, so an encoded slash
//! stays inside its name and is refused there.

use crate::error::{DavError, DavResult};
use axum::http::HeaderMap;
use hafen_core::TreePath;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

const FILES_PREFIX: &str = "/remote.php/dav/files/";
const LEGACY_PREFIX: &str = "/remote.php/webdav";
/// Public links over WebDAV, as Nextcloud offers them: `/public.php/dav/files/{token}/…`.
pub(crate) const PUBLIC_PREFIX: &str = "/public.php/dav/files/";

/// Characters escaped in hrefs: everything but unreserved characters and a few safe ones.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'/')
    .add(b'&')
    .add(b'\'')
    .add(b'+')
    .add(b';')
    .add(b'=');

/// Where a request points.
pub(crate) struct Location {
    /// The tree owner named in the URL (`None` for the legacy alias, which means "me"); the
    /// link token for public links.
    pub owner: Option<String>,
    pub path: TreePath,
    /// A public link's tree (`owner` is then the token).
    pub public: bool,
}

impl Location {
    pub fn base(&self, user: &str) -> String {
        match (&self.owner, self.public) {
            (Some(token), true) => format!("{PUBLIC_PREFIX}{}", utf8_percent_encode(token, SEGMENT)),
            (Some(_), false) => format!("{FILES_PREFIX}{}", utf8_percent_encode(user, SEGMENT)),
            (None, _) => LEGACY_PREFIX.to_string(),
        }
    }
}

fn decode_segments(raw: &str) -> DavResult<TreePath> {
    let segments: Vec<Vec<u8>> = raw.split('/').map(|segment| percent_decode_str(segment).collect()).collect();
    Ok(TreePath::from_segments(segments)?)
}

/// Whether a raw URL path lies in one of the WebDAV file trees.
pub(crate) fn is_tree_path(raw: &str) -> bool {
    raw.starts_with(FILES_PREFIX)
        || raw.starts_with(PUBLIC_PREFIX)
        || raw == LEGACY_PREFIX
        || raw.starts_with(&format!("{LEGACY_PREFIX}/"))
}

/// Parses the path of a request URL (still percent-encoded).
pub(crate) fn parse_request_path(raw: &str) -> DavResult<Location> {
    let (prefix, public) = if raw.starts_with(PUBLIC_PREFIX) { (PUBLIC_PREFIX, true) } else { (FILES_PREFIX, false) };
    if let Some(rest) = raw.strip_prefix(prefix) {
        let (owner, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let owner = percent_decode_str(owner)
            .decode_utf8()
            .map_err(|_| DavError::BadRequest("the account name in the URL is not valid UTF-8".into()))?
            .into_owned();
        if owner.is_empty() {
            return Err(DavError::Core(hafen_core::CoreError::NotFound("no account given in the URL".into())));
        }
        return Ok(Location { owner: Some(owner), path: decode_segments(tail)?, public });
    }
    if let Some(rest) = raw.strip_prefix(LEGACY_PREFIX) {
        if rest.is_empty() || rest.starts_with('/') {
            return Ok(Location { owner: None, path: decode_segments(rest)?, public: false });
        }
    }
    Err(DavError::Core(hafen_core::CoreError::NotFound("no WebDAV tree at this URL".into())))
}

/// Parses a `Destination` header: an absolute URL on this server (or an absolute path).
/// `expected_owner` is the account name, or the token for a public link (`public`).
pub(crate) fn parse_destination(headers: &HeaderMap, expected_owner: &str, public: bool) -> DavResult<TreePath> {
    let value = headers
        .get("destination")
        .ok_or_else(|| DavError::BadRequest("COPY and MOVE need a Destination header".into()))?
        .to_str()
        .map_err(|_| DavError::BadRequest("the Destination header is not valid".into()))?;
    let path = if let Some(after_scheme) = value.strip_prefix("http://").or_else(|| value.strip_prefix("https://")) {
        let (authority, path) =
            after_scheme.split_once('/').map_or((after_scheme, "/".to_string()), |(a, p)| (a, format!("/{p}")));
        let host = headers.get("host").and_then(|host| host.to_str().ok()).unwrap_or_default();
        if !authority.eq_ignore_ascii_case(host) {
            return Err(DavError::BadGateway(format!("the Destination {value} is on another server")));
        }
        path
    } else if value.starts_with('/') {
        value.to_string()
    } else {
        return Err(DavError::BadRequest("the Destination header must be an absolute URL".into()));
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if !is_tree_path(path) {
        return Err(DavError::BadGateway("the Destination is outside the WebDAV file trees of this server".into()));
    }
    let location = parse_request_path(path)?;
    if location.public != public || (public && location.owner.is_none()) {
        return Err(DavError::Forbidden("COPY and MOVE work only within the same tree".into()));
    }
    if let Some(owner) = &location.owner {
        if owner != expected_owner {
            return Err(DavError::Forbidden("COPY and MOVE work only within your own files".into()));
        }
    }
    Ok(location.path)
}

/// The href of `path` under `base`, with a trailing slash for folders.
pub(crate) fn href(base: &str, path: &TreePath, is_dir: bool) -> String {
    let mut href = base.to_string();
    for name in path.names() {
        href.push('/');
        href.extend(utf8_percent_encode(name, SEGMENT));
    }
    if is_dir {
        href.push('/');
    }
    href
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_separators_and_dots_are_refused() {
        for bad in [
            "/remote.php/dav/files/a/x%2Fy",
            "/remote.php/dav/files/a/%2e%2e/b",
            "/remote.php/dav/files/a/x%5Cy",
            "/remote.php/dav/files/a/%00",
        ] {
            assert!(parse_request_path(bad).is_err(), "{bad}");
        }
        let location = parse_request_path("/remote.php/dav/files/a/b%20c/").unwrap();
        assert_eq!(location.path.to_key(), "/b c");
        assert_eq!(href("/remote.php/webdav", &location.path, true), "/remote.php/webdav/b%20c/");
    }
}
