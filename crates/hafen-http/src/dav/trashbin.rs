//! Nextcloud's trash bin endpoint, `/remote.php/dav/trashbin/{user}/trash/`: PROPFIND lists
//! the account's trashed items (with `nc:trashbin-filename`, `-original-location` and
//! `-deletion-time`), GET reads a trashed file, MOVE of an item to
//! `/remote.php/dav/trashbin/{user}/restore/{name}` restores it to its original place,
//! DELETE of an item deletes it for good and DELETE of `trash/` empties the trash.

use super::conditions::http_date_of;
use super::props::{
    collection_props, content_type, multistatus, write_prop, write_response, MULTISTATUS_CLOSE, MULTISTATUS_OPEN,
    NC_NS, OC_NS,
};
use super::xml::{escape_text, PropName};
use super::{empty, urls};
use crate::download::{whole_file, Disposition};
use crate::error::{DavError, DavResult};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use hafen_core::{Core, CoreError, TrashItem, TreePath, User};
use percent_encoding::percent_decode_str;

pub(crate) const PREFIX: &str = "/remote.php/dav/trashbin/";

fn prop_name(ns: &str, local: &str) -> PropName {
    PropName { ns: ns.to_string(), local: local.to_string() }
}

fn not_found(what: &str) -> DavError {
    DavError::Core(CoreError::NotFound(format!("{what} does not exist")))
}

/// The item named below the account's `trash/` folder (`None` for the folder itself).
fn parse(rest: &str, user: &User) -> DavResult<Option<String>> {
    let mut segments = rest.split('/').filter(|segment| !segment.is_empty());
    let owner = percent_decode_str(segments.next().unwrap_or_default()).decode_utf8_lossy().into_owned();
    if owner != user.name {
        return Err(DavError::Forbidden(format!("{} may only access their own trash", user.name)));
    }
    if segments.next() != Some("trash") {
        return Err(not_found("this trash folder"));
    }
    let item = segments.next().map(|segment| percent_decode_str(segment).decode_utf8_lossy().into_owned());
    if segments.next().is_some() {
        // What lies inside a trashed folder is restored with it, not on its own.
        return Err(not_found("an item inside a trashed folder"));
    }
    Ok(item)
}

fn item_props(item: &TrashItem) -> String {
    let mut found = String::new();
    let node = &item.node;
    write_prop(&mut found, &prop_name(NC_NS, "trashbin-filename"), &escape_text(&item.name));
    write_prop(
        &mut found,
        &prop_name(NC_NS, "trashbin-original-location"),
        &escape_text(item.original_path.to_key().trim_start_matches('/')),
    );
    write_prop(&mut found, &prop_name(NC_NS, "trashbin-deletion-time"), &item.deleted_at.to_string());
    write_prop(&mut found, &PropName::dav("getlastmodified"), &http_date_of(node.mtime));
    write_prop(&mut found, &PropName::dav("getetag"), &escape_text(&format!("\"{}\"", node.etag)));
    write_prop(&mut found, &prop_name(OC_NS, "fileid"), &node.id.0.to_string());
    write_prop(&mut found, &prop_name(OC_NS, "size"), &node.size.to_string());
    if node.is_dir {
        write_prop(&mut found, &PropName::dav("resourcetype"), "<d:collection/>");
    } else {
        write_prop(&mut found, &PropName::dav("resourcetype"), "");
        write_prop(&mut found, &PropName::dav("getcontentlength"), &node.size.to_string());
        write_prop(&mut found, &PropName::dav("getcontenttype"), &escape_text(&content_type(&item.name)));
    }
    found
}

/// Handles a request below `/remote.php/dav/trashbin/`, already authenticated.
pub(crate) async fn handle(
    core: &Core,
    user: User,
    method: &Method,
    headers: &HeaderMap,
    rest: &str,
) -> DavResult<Response> {
    if let Some(restore) = rest.strip_prefix(&format!("{}/restore", user.name)) {
        // The restore folder exists only as a MOVE target; listing it shows nothing.
        return match method.as_str() {
            "PROPFIND" if restore.trim_matches('/').is_empty() => {
                let base = urls::href(
                    PREFIX.trim_end_matches('/'),
                    &TreePath::from_segments([user.name.as_str(), "restore"])?,
                    true,
                );
                let mut out = String::from(MULTISTATUS_OPEN);
                write_response(&mut out, &base, &collection_props(), "");
                out.push_str(MULTISTATUS_CLOSE);
                Ok(multistatus(out))
            }
            _ => Err(not_found("this restore target")),
        };
    }
    let item = parse(rest, &user)?;
    let base =
        urls::href(PREFIX.trim_end_matches('/'), &TreePath::from_segments([user.name.as_str(), "trash"])?, false);
    match (method.as_str(), item) {
        ("PROPFIND", None) => {
            let depth_one = headers.get("depth").and_then(|value| value.to_str().ok()).map(str::trim) != Some("0");
            let mut out = String::from(MULTISTATUS_OPEN);
            write_response(&mut out, &format!("{base}/"), &collection_props(), "");
            if depth_one {
                for item in core.trash(&user).await? {
                    let href = urls::href(&base, &TreePath::from_segments([item.id.as_str()])?, item.node.is_dir);
                    write_response(&mut out, &href, &item_props(&item), "");
                }
            }
            out.push_str(MULTISTATUS_CLOSE);
            Ok(multistatus(out))
        }
        ("PROPFIND", Some(id)) => {
            let item = core.trash(&user).await?.into_iter().find(|item| item.id == id).ok_or_else(|| not_found(&id))?;
            let mut out = String::from(MULTISTATUS_OPEN);
            let href = urls::href(&base, &TreePath::from_segments([item.id.as_str()])?, item.node.is_dir);
            write_response(&mut out, &href, &item_props(&item), "");
            out.push_str(MULTISTATUS_CLOSE);
            Ok(multistatus(out))
        }
        ("GET" | "HEAD", Some(id)) => {
            let item = core.trash(&user).await?.into_iter().find(|item| item.id == id).ok_or_else(|| not_found(&id))?;
            let content = core.open_file(item.node.clone()).await?;
            Ok(whole_file(content, &item.name, Disposition::Plain, method == Method::GET).await?)
        }
        ("MOVE", Some(id)) => {
            let destination = headers
                .get("destination")
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| DavError::BadRequest("MOVE needs a Destination header".into()))?;
            let target = format!("{PREFIX}{}/restore/", user.name);
            if !destination.contains(&target) {
                return Err(DavError::Forbidden(format!(
                    "a trashed item can only be restored (Destination {target}…)"
                )));
            }
            core.restore_from_trash(&user, &id).await?;
            Ok(empty(StatusCode::CREATED))
        }
        ("DELETE", Some(id)) => {
            core.delete_from_trash(&user, &id).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        ("DELETE", None) => {
            core.empty_trash(&user).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        ("GET" | "HEAD" | "MOVE", None) => Err(not_found("this item")),
        _ => Err(DavError::MethodNotAllowed),
    }
}
