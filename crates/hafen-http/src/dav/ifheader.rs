//! The WebDAV `If` header (RFC 4918 §10.4): parsing its lists of state tokens and entity
//! tags, and evaluating them against locks and ETags. The header as a whole must be true for
//! the request to proceed (else 412); the lock tokens it names are what later lets the
//! request modify locked resources.

use super::{urls, DavRequest};
use crate::error::{DavError, DavResult};
use hafen_core::{lock_covers, CoreError, TreePath};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Condition {
    Token(String),
    ETag(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct List {
    /// The resource the list is about (a tagged list), or the request URL when `None`.
    pub(crate) resource: Option<String>,
    pub(crate) conditions: Vec<(bool, Condition)>,
}

fn malformed() -> DavError {
    DavError::BadRequest("malformed If header".into())
}

pub(crate) fn parse(value: &str) -> DavResult<Vec<List>> {
    let mut lists = Vec::new();
    let mut resource = None;
    let mut rest = value.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').ok_or_else(malformed)?;
            resource = Some(after[..end].to_string());
            rest = after[end + 1..].trim_start();
        } else if let Some(after) = rest.strip_prefix('(') {
            let end = after.find(')').ok_or_else(malformed)?;
            let mut inner = after[..end].trim();
            let mut conditions = Vec::new();
            while !inner.is_empty() {
                let mut positive = true;
                if let Some(after_not) = inner.strip_prefix("Not") {
                    positive = false;
                    inner = after_not.trim_start();
                }
                if let Some(token) = inner.strip_prefix('<') {
                    let close = token.find('>').ok_or_else(malformed)?;
                    conditions.push((positive, Condition::Token(token[..close].to_string())));
                    inner = token[close + 1..].trim_start();
                } else if let Some(tag) = inner.strip_prefix('[') {
                    let close = tag.find(']').ok_or_else(malformed)?;
                    conditions.push((
                        positive,
                        Condition::ETag(tag[..close].trim_start_matches("W/").trim_matches('"').to_string()),
                    ));
                    inner = tag[close + 1..].trim_start();
                } else {
                    return Err(malformed());
                }
            }
            if conditions.is_empty() {
                return Err(malformed());
            }
            lists.push(List { resource: resource.clone(), conditions });
            rest = after[end + 1..].trim_start();
        } else {
            return Err(malformed());
        }
    }
    Ok(lists)
}

/// Evaluates the `If` header of the request, if any, and returns the lock tokens it submits.
pub(crate) async fn evaluate(request: &DavRequest) -> DavResult<Vec<String>> {
    let Some(value) = request.headers.get("if") else {
        return Ok(Vec::new());
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let lists = parse(value)?;
    let locks = request.core.active_locks(&request.viewer, &request.path).await?;
    let mut any_true = false;
    for list in &lists {
        let path = match &list.resource {
            None => request.path.clone(),
            Some(url) => resource_path(url).unwrap_or_else(|| request.path.clone()),
        };
        let node = request.core.resolve(&request.viewer, &path).await?;
        let all = list.conditions.iter().all(|(positive, condition)| {
            let holds = match condition {
                Condition::Token(token) => locks.iter().any(|lock| &lock.token == token && lock_covers(lock, &path)),
                Condition::ETag(tag) => node.as_ref().is_some_and(|node| &node.etag == tag),
            };
            holds == *positive
        });
        any_true |= all;
    }
    if !any_true {
        return Err(DavError::Core(CoreError::PreconditionFailed(
            "the If header does not match the resource's locks or ETags".into(),
        )));
    }
    Ok(lists
        .iter()
        .flat_map(|list| list.conditions.iter())
        .filter_map(|(positive, condition)| match (positive, condition) {
            (true, Condition::Token(token)) => Some(token.clone()),
            _ => None,
        })
        .collect())
}

/// The tree path of a tagged list's resource URL (absolute URL or path).
pub(crate) fn resource_path(url: &str) -> Option<TreePath> {
    let path = match url.find("://") {
        Some(index) => {
            let after = &url[index + 3..];
            &after[after.find('/')?..]
        }
        None => url,
    };
    urls::parse_request_path(path).ok().map(|location| location.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tagged_and_untagged_lists() {
        let lists = parse(r#"(<opaquelocktoken:a> ["x"]) (Not <DAV:no-lock> ["x"])"#).unwrap();
        assert_eq!(lists.len(), 2);
        assert_eq!(lists[1].conditions[0], (false, Condition::Token("DAV:no-lock".into())));
        let tagged = parse("<http://h/remote.php/webdav/a> (<t>)").unwrap();
        assert_eq!(tagged[0].resource.as_deref(), Some("http://h/remote.php/webdav/a"));
        assert!(parse("(<unterminated").is_err());
        assert!(parse("garbage").is_err());
    }
}
