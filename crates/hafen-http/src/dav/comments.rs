//! Nextcloud's comments endpoint, `/remote.php/dav/comments/files/{fileid}/`: PROPFIND or
//! `REPORT oc:filter-comments` lists the comments of an item the account can see, POST of a
//! JSON body (`{"message": …}`) adds one (201, `Content-Location` of the new comment),
//! PROPPATCH of `oc:message` edits one's own, DELETE removes one.

use super::conditions::http_date_of;
use super::props::{collection_props, multistatus, write_prop, write_response, MULTISTATUS_CLOSE, MULTISTATUS_OPEN};
use super::xml::{escape_text, parse_proppatch, parse_report, PatchOp, PropName, ReportRequest};
use super::{empty, props::OC_NS};
use crate::error::{DavError, DavResult};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hafen_core::{CommentView, Core, CoreError, NodeId, User, Viewer};

pub(crate) const PREFIX: &str = "/remote.php/dav/comments/files/";

fn not_found(what: &str) -> DavError {
    DavError::Core(CoreError::NotFound(format!("{what} does not exist")))
}

/// `(file id, comment id)` of a URL below the prefix.
fn parse(rest: &str) -> DavResult<(Option<NodeId>, Option<i64>)> {
    let mut segments = rest.split('/').filter(|segment| !segment.is_empty());
    let mut number = |what: &str| -> DavResult<Option<i64>> {
        segments.next().map(|text| text.parse::<i64>().map_err(|_| not_found(&format!("{what} {text}")))).transpose()
    };
    let file = number("file")?.map(NodeId);
    let comment = number("comment")?;
    if segments.next().is_some() {
        return Err(not_found("a comment has no members"));
    }
    Ok((file, comment))
}

fn oc(local: &str) -> PropName {
    PropName { ns: OC_NS.into(), local: local.into() }
}

/// The properties of one comment, as Nextcloud names them.
fn comment_props(file: NodeId, comment: &CommentView) -> String {
    let mut found = String::new();
    let text = |value: &str| escape_text(value);
    for (name, value) in [
        ("id", comment.id.to_string()),
        ("parentId", "0".into()),
        ("topmostParentId", "0".into()),
        ("childrenCount", "0".into()),
        ("verb", "comment".into()),
        ("actorType", "users".into()),
        ("actorId", text(&comment.author)),
        ("actorDisplayName", text(&comment.author_display_name)),
        ("creationDateTime", http_date_of(comment.created_at)),
        ("latestChildDateTime", String::new()),
        ("objectType", "files".into()),
        ("objectId", file.0.to_string()),
        ("referenceId", String::new()),
        ("message", text(&comment.message)),
        ("isUnread", "false".into()),
    ] {
        write_prop(&mut found, &oc(name), &value);
    }
    let mentions: String = comment
        .mentions
        .iter()
        .map(|(name, display)| {
            format!(
                "<oc:mention><oc:mentionType>user</oc:mentionType><oc:mentionId>{}</oc:mentionId>\
                 <oc:mentionDisplayName>{}</oc:mentionDisplayName></oc:mention>",
                text(name),
                text(display)
            )
        })
        .collect();
    write_prop(&mut found, &oc("mentions"), &mentions);
    found
}

/// Handles a request below `/remote.php/dav/comments/files/`, already authenticated.
pub(crate) async fn handle(
    core: &Core,
    user: User,
    method: &Method,
    headers: &HeaderMap,
    rest: &str,
    body: bytes::Bytes,
) -> DavResult<Response> {
    let (file, comment) = parse(rest)?;
    let viewer = Viewer::Account(user.clone());
    let Some(file) = file else {
        return match method.as_str() {
            "PROPFIND" => {
                let mut out = String::from(MULTISTATUS_OPEN);
                write_response(&mut out, PREFIX, &collection_props(), "");
                out.push_str(MULTISTATUS_CLOSE);
                Ok(multistatus(out))
            }
            _ => Err(DavError::MethodNotAllowed),
        };
    };
    let path = core.view_path_of(&user, file).await?;
    let base = format!("{PREFIX}{}", file.0);
    match (method.as_str(), comment) {
        ("PROPFIND" | "REPORT", None) => {
            let (_, mut comments) = core.comments(&viewer, &path).await?;
            let depth_zero = headers.get("depth").and_then(|value| value.to_str().ok()).map(str::trim) == Some("0");
            let mut out = String::from(MULTISTATUS_OPEN);
            if method.as_str() == "REPORT" {
                let ReportRequest::FilterComments { limit, offset } = parse_report(&body)? else {
                    return Err(DavError::BadRequest("comments answer only oc:filter-comments".into()));
                };
                comments.reverse(); // newest first, as Nextcloud pages them
                for comment in comments.iter().skip(offset).take(limit) {
                    write_response(&mut out, &format!("{base}/{}", comment.id), &comment_props(file, comment), "");
                }
            } else {
                let mut found = collection_props();
                write_prop(&mut found, &oc("readMarker"), "");
                write_response(&mut out, &format!("{base}/"), &found, "");
                if !depth_zero {
                    for comment in &comments {
                        write_response(&mut out, &format!("{base}/{}", comment.id), &comment_props(file, comment), "");
                    }
                }
            }
            out.push_str(MULTISTATUS_CLOSE);
            Ok(multistatus(out))
        }
        ("PROPFIND", Some(id)) => {
            let (_, comments) = core.comments(&viewer, &path).await?;
            let comment = comments.iter().find(|comment| comment.id == id).ok_or_else(|| not_found("this comment"))?;
            let mut out = String::from(MULTISTATUS_OPEN);
            write_response(&mut out, &format!("{base}/{id}"), &comment_props(file, comment), "");
            out.push_str(MULTISTATUS_CLOSE);
            Ok(multistatus(out))
        }
        ("POST", None) => {
            let request: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|error| DavError::BadRequest(format!("a comment is a JSON object: {error}")))?;
            if request.get("verb").and_then(|verb| verb.as_str()).is_some_and(|verb| verb != "comment") {
                return Err(DavError::BadRequest("only comments (verb \"comment\") can be posted".into()));
            }
            let message = request
                .get("message")
                .and_then(|message| message.as_str())
                .ok_or_else(|| DavError::BadRequest("a comment needs a \"message\"".into()))?;
            let created = core.add_comment(&viewer, &path, message).await?;
            Ok((
                StatusCode::CREATED,
                [(header::CONTENT_LOCATION, format!("{base}/{}", created.id)), (header::CONTENT_LENGTH, "0".into())],
            )
                .into_response())
        }
        ("PROPPATCH", Some(id)) => {
            let ops = parse_proppatch(&body)?;
            let mut found = String::new();
            for op in ops {
                match op {
                    PatchOp::Set { name, value } if name == oc("message") => {
                        let message = unescaped(&value)?;
                        core.edit_comment(&viewer, &path, id, &message).await?;
                        write_prop(&mut found, &name, "");
                    }
                    PatchOp::Set { name, .. } | PatchOp::Remove { name } => {
                        return Err(DavError::Forbidden(format!(
                            "only oc:message of a comment can be changed, not {}:{}",
                            name.ns, name.local
                        )))
                    }
                }
            }
            let mut out = String::from(MULTISTATUS_OPEN);
            write_response(&mut out, &format!("{base}/{id}"), &found, "");
            out.push_str(MULTISTATUS_CLOSE);
            Ok(multistatus(out))
        }
        ("DELETE", Some(id)) => {
            core.delete_comment(&viewer, &path, id).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        _ => Err(DavError::MethodNotAllowed),
    }
}

/// The text of a property value as PROPPATCH hands it over (re-serialised XML content, so
/// escaped text).
fn unescaped(xml: &str) -> DavResult<String> {
    quick_xml::escape::unescape(xml)
        .map(|text| text.into_owned())
        .map_err(|error| DavError::BadRequest(format!("invalid oc:message: {error}")))
}
