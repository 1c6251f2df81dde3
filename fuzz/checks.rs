//! The checks of the fuzz targets, shared by the targets (`fuzz_targets/*.rs`) and by the test
//! that replays the corpus in the normal test suite (`crates/hafen-http/tests/fuzz_corpus.rs`),
//! so both hold every input to the same properties. Each function takes one raw input and
//! panics when a parser panics or breaks a property stated in its comment.

use hafen_core::TreePath;
use hafen_http::dav::xml::PatchOp;
use hafen_http::fuzzing;

fn check_path(path: &TreePath) {
    for name in path.names() {
        assert!(!name.is_empty() && !name.contains('/') && name != "." && name != "..", "{name:?}");
    }
    assert_eq!(&TreePath::from_key(&path.to_key()), path);
}

/// Request URL paths (`/remote.php/dav/files/{user}/…`, `/remote.php/webdav/…`,
/// `/public.php/dav/files/{token}/…`), `Destination` headers and tree path validation.
/// Besides not panicking: every error is a 4xx (or 502 for a foreign Destination), and a
/// decoded path written back as an href decodes to the same path.
pub fn path_decoding(data: &[u8]) {
    if let Ok(tree) = fuzzing::tree_path(data) {
        check_path(&tree);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match fuzzing::request_path(text) {
        Ok(decoded) => {
            check_path(&decoded.path);
            let again = fuzzing::request_path(&decoded.href).unwrap_or_else(|error| {
                panic!("the href {:?} does not parse again: {error}", decoded.href);
            });
            assert_eq!(again.path, decoded.path, "href {:?}", decoded.href);
            assert_eq!(again.owner, decoded.owner, "href {:?}", decoded.href);
            assert_eq!(again.public, decoded.public);
        }
        Err(error) => assert!((400..500).contains(&fuzzing::status(&error)), "{error}"),
    }
    let (value, host) = text.split_once('\n').unwrap_or((text, "localhost"));
    for public in [false, true] {
        match fuzzing::destination(value.as_bytes(), host.as_bytes(), fuzzing::FUZZ_USER, public) {
            Ok(path) => check_path(&path),
            Err(error) => {
                let status = fuzzing::status(&error);
                assert!((400..500).contains(&status) || status == 502, "{error}");
            }
        }
    }
}

fn check_fragment(fragment: &str) {
    let document = format!(
        r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><p xmlns="urn:fuzz">{fragment}</p></D:prop></D:set></D:propertyupdate>"#
    );
    match fuzzing::parse_proppatch(document.as_bytes()) {
        Ok(ops) => match ops.as_slice() {
            [PatchOp::Set { value, .. }] => assert_eq!(value, fragment, "the kept XML changes when parsed again"),
            other => panic!("the kept XML {fragment:?} parses to {other:?}"),
        },
        Err(error) => panic!("the kept XML {fragment:?} is not well-formed: {error}"),
    }
}

fn check_error(error: &hafen_http::DavError) {
    assert!((400..500).contains(&fuzzing::status(error)), "{error}");
}

/// WebDAV request bodies: PROPFIND, PROPPATCH and LOCK. Besides not panicking: every error
/// is a 4xx, and the XML kept from a body (dead property values, the lock owner) is
/// well-formed and stable: embedded in a new PROPPATCH it parses back to itself.
pub fn dav_xml(data: &[u8]) {
    if let Err(error) = fuzzing::parse_propfind(data) {
        check_error(&error);
    }
    match fuzzing::parse_proppatch(data) {
        Ok(ops) => {
            for op in ops {
                if let PatchOp::Set { value, .. } = op {
                    check_fragment(&value);
                }
            }
        }
        Err(error) => check_error(&error),
    }
    match fuzzing::parse_lockinfo(data) {
        Ok(Some(info)) => check_fragment(&info.owner_xml),
        Ok(None) => {}
        Err(error) => check_error(&error),
    }
}

/// The WebDAV `If` header (RFC 4918 §10.4), and the resource URLs of its tagged lists.
/// Besides not panicking: every error is a 4xx and every list has a condition.
pub fn if_header(data: &[u8]) {
    // Header values reach the parser only as text (`to_str`), so only that is fuzzed.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match fuzzing::if_header(text) {
        Ok(lists) => {
            for list in lists {
                assert!(list.conditions > 0);
                if list.resource.is_none() {
                    assert!(list.resource_path.is_none());
                }
            }
        }
        Err(error) => assert!((400..500).contains(&fuzzing::status(&error)), "{error}"),
    }
}

/// `Range` / `If-Range` of GET, and the conditional headers (If-Match, If-None-Match,
/// If-Modified-Since, If-Unmodified-Since). Input: one flags byte, eight bytes of file size
/// (little-endian), then the header values separated by newlines in that order. Besides not
/// panicking: a range lies within the file and is not empty; errors are 4xx.
pub fn range(data: &[u8]) {
    let (flags, rest) = data.split_first().map_or((0, data), |(flags, rest)| (*flags, rest));
    let mut size = [0u8; 8];
    let taken = rest.len().min(8);
    size[..taken].copy_from_slice(&rest[..taken]);
    // Small sizes are the interesting ones most of the time; bit 2 keeps the full range.
    let size = u64::from_le_bytes(size);
    let size = if flags & 4 == 0 { size % 100_000 } else { size };
    let mut fields = rest[taken..].split(|byte| *byte == b'\n');
    let mut next = || fields.next().unwrap_or_default();
    let (range, if_range) = (next(), next());
    let mut headers: Vec<(&str, &[u8])> = vec![("range", range)];
    if flags & 8 != 0 {
        headers.push(("if-range", if_range));
    }
    match fuzzing::range(&headers, size) {
        Ok(Some((start, end))) => assert!(start < end && end <= size, "{start}-{end} of {size}"),
        Ok(None) => {}
        Err(error) => assert_eq!(fuzzing::status(&error), 416, "{error}"),
    }
    let conditions: Vec<(&str, &[u8])> = vec![
        ("if-match", next()),
        ("if-none-match", next()),
        ("if-modified-since", next()),
        ("if-unmodified-since", next()),
    ];
    let present: Vec<(&str, &[u8])> = conditions
        .into_iter()
        .enumerate()
        .filter(|(index, _)| flags & (16 << index) != 0)
        .map(|(_, pair)| pair)
        .collect();
    if let Err(error) = fuzzing::conditional(&present, flags & 1 != 0, flags & 2 != 0) {
        assert_eq!(fuzzing::status(&error), 412, "{error}");
    }
}

/// URLs of chunked uploads (`/remote.php/dav/uploads/{user}/{transfer}/{chunk}`) and the
/// name checks for new transfers and chunks. Besides not panicking: every error is a 4xx and
/// accepted names are plain names.
pub fn chunk_names(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match fuzzing::upload_path(text) {
        Ok(upload) => {
            assert!(upload.chunk.is_none() || upload.transfer.is_some());
            for name in upload.transfer.iter().chain(upload.chunk.iter()) {
                assert!(!name.is_empty() && !name.contains(['/', '\\']) && name != "." && name != "..", "{name:?}");
            }
        }
        Err(error) => assert!((400..500).contains(&fuzzing::status(&error)), "{error}"),
    }
}

/// OCS request parameters (query string plus a form or JSON body) and the share fields read
/// from them: path, shareType, permissions, downloadLimit, expireDate, publicUpload. Input:
/// one flags byte (bit 0: JSON body, bit 1: a query string is present), then the query
/// string, a newline and the body. Besides not panicking: errors are 4xx, and an accepted
/// expiry date is shown back as `YYYY-MM-DD 00:00:00`.
pub fn ocs_params(data: &[u8]) {
    let (flags, rest) = data.split_first().map_or((0, data), |(flags, rest)| (*flags, rest));
    let (query, body) = match rest.iter().position(|byte| *byte == b'\n') {
        Some(index) => (&rest[..index], &rest[index + 1..]),
        None => (rest, &[][..]),
    };
    // A URI's query is ASCII text; anything else cannot reach the handler.
    let query = if flags & 2 != 0 { std::str::from_utf8(query).ok() } else { None };
    match fuzzing::ocs_params(query, flags & 1 != 0, body) {
        Ok(params) => {
            if params.expires_at.is_some() {
                let shown = params.expiration.unwrap_or_default();
                assert_eq!(shown.len(), 19, "{shown:?}");
                assert!(shown.ends_with(" 00:00:00"), "{shown:?}");
            }
        }
        Err(error) => assert!((400..500).contains(&fuzzing::status(&error)), "{error}"),
    }
}
