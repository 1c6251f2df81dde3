//! Nextcloud's versions endpoint, `/remote.php/dav/versions/{user}/versions/{fileid}/`:
//! PROPFIND lists the older versions of one of the account's files (named by version id;
//! the current content is the file itself, as in Nextcloud), GET/HEAD read one, and COPY or
//! MOVE of a version to `/remote.php/dav/versions/{user}/restore/target` restores it.

use super::conditions::http_date_of;
use super::props::{
    collection_props, content_type, multistatus, write_prop, write_response, MULTISTATUS_CLOSE, MULTISTATUS_OPEN,
};
use super::xml::{escape_text, PropName};
use super::{empty, urls};
use crate::download::{whole_file, Disposition};
use crate::error::{DavError, DavResult};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use hafen_core::{Core, CoreError, NodeId, TreePath, User, VersionId, Viewer};
use percent_encoding::percent_decode_str;

pub(crate) const PREFIX: &str = "/remote.php/dav/versions/";

fn not_found(what: &str) -> DavError {
    DavError::Core(CoreError::NotFound(format!("{what} does not exist")))
}

/// `(file id, version id)` of a URL below the account's `versions/` folder.
fn parse(rest: &str, user: &User) -> DavResult<(Option<NodeId>, Option<VersionId>)> {
    let mut segments = rest.split('/').filter(|segment| !segment.is_empty());
    let owner = percent_decode_str(segments.next().unwrap_or_default()).decode_utf8_lossy().into_owned();
    if owner != user.name {
        return Err(DavError::Forbidden(format!("{} may only access their own versions", user.name)));
    }
    if segments.next() != Some("versions") {
        return Err(not_found("this versions folder"));
    }
    let number = |text: Option<&str>| -> DavResult<Option<i64>> {
        text.map(|text| text.parse::<i64>().map_err(|_| not_found(&format!("version entry {text}")))).transpose()
    };
    let file = number(segments.next())?.map(NodeId);
    let version = number(segments.next())?.map(VersionId);
    if segments.next().is_some() {
        return Err(not_found("a version has no members"));
    }
    Ok((file, version))
}

/// Handles a request below `/remote.php/dav/versions/`, already authenticated.
pub(crate) async fn handle(
    core: &Core,
    user: User,
    method: &Method,
    headers: &HeaderMap,
    rest: &str,
) -> DavResult<Response> {
    let (file, version) = parse(rest, &user)?;
    let base =
        urls::href(PREFIX.trim_end_matches('/'), &TreePath::from_segments([user.name.as_str(), "versions"])?, false);
    let viewer = Viewer::Account(user.clone());
    match (method.as_str(), file, version) {
        ("PROPFIND", None, None) => {
            let mut out = String::from(MULTISTATUS_OPEN);
            write_response(&mut out, &format!("{base}/"), &collection_props(), "");
            out.push_str(MULTISTATUS_CLOSE);
            Ok(multistatus(out))
        }
        ("PROPFIND", Some(file), None) => {
            let path = core.own_file_path(&user, file).await?;
            let (node, versions) = core.versions(&viewer, &path).await?;
            let depth_one = headers.get("depth").and_then(|value| value.to_str().ok()).map(str::trim) != Some("0");
            let mut out = String::from(MULTISTATUS_OPEN);
            write_response(&mut out, &format!("{base}/{}/", file.0), &collection_props(), "");
            if depth_one {
                for version in versions.iter().filter(|version| !version.is_current) {
                    let mut found = String::new();
                    write_prop(&mut found, &PropName::dav("getlastmodified"), &http_date_of(version.created_at));
                    write_prop(&mut found, &PropName::dav("getcontentlength"), &version.size.to_string());
                    write_prop(&mut found, &PropName::dav("resourcetype"), "");
                    write_prop(&mut found, &PropName::dav("getetag"), &escape_text(&format!("\"v{}\"", version.id.0)));
                    write_prop(&mut found, &PropName::dav("getcontenttype"), &escape_text(&content_type(&node.name)));
                    let href = format!("{base}/{}/{}", file.0, version.id.0);
                    write_response(&mut out, &href, &found, "");
                }
            }
            out.push_str(MULTISTATUS_CLOSE);
            Ok(multistatus(out))
        }
        ("GET" | "HEAD", Some(file), Some(version)) => {
            let path = core.own_file_path(&user, file).await?;
            let content = core.open_version(&viewer, &path, version).await?;
            let name = path.name().unwrap_or_default().to_string();
            Ok(whole_file(content, &name, Disposition::Plain, method == Method::GET).await?)
        }
        ("COPY" | "MOVE", Some(file), Some(version)) => {
            let destination = headers
                .get("destination")
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| DavError::BadRequest("COPY and MOVE need a Destination header".into()))?;
            let target = format!("{PREFIX}{}/restore/target", user.name);
            if !destination.ends_with(&target) {
                return Err(DavError::Forbidden(format!("a version can only be restored (Destination {target})")));
            }
            let path = core.own_file_path(&user, file).await?;
            core.restore_version(&viewer, &path, version).await?;
            Ok(empty(StatusCode::NO_CONTENT))
        }
        ("PROPFIND" | "GET" | "HEAD" | "COPY" | "MOVE", _, _) => Err(not_found("this version")),
        _ => Err(DavError::MethodNotAllowed),
    }
}
