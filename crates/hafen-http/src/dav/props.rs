//! WebDAV properties: the live properties computed from a node (DAV:, RFC 4331 quota,
//! ownCloud/Nextcloud extensions) and the XML of a multistatus response.

use super::conditions::{etag_header, http_date_of, rfc3339_of};
use super::urls;
use super::xml::{escape, escape_text, PropName, DAV_NS};
use hafen_core::{lock_covers, perm, DeadProp, Entry, Lock, Quota, TreePath};

pub(crate) const OC_NS: &str = "http://owncloud.org/ns";
pub(crate) const NC_NS: &str = "http://nextcloud.org/ns";
pub(crate) const OCS_NS: &str = "http://open-collaboration-services.org/ns";

/// Nextcloud's permission letters (`oc:permissions`): S shared with me, R may reshare, M a
/// share's top, G readable, D deletable, N/V renamable/movable, W writable file, C/K may add
/// files/folders. The top of a received share can always be left (D) and renamed (N, V); a
/// project space's top can be renamed but not left.
pub(crate) fn permission_letters(entry: &Entry) -> String {
    let bits = entry.perms;
    let mut letters = String::with_capacity(10);
    if entry.shared_with_me {
        letters.push('S');
    }
    if bits & perm::SHARE != 0 {
        letters.push('R');
    }
    if entry.mount_root {
        letters.push('M');
    }
    if bits & perm::READ != 0 {
        letters.push('G');
    }
    if (entry.mount_root && !entry.in_space) || (!entry.mount_root && bits & perm::DELETE != 0) {
        letters.push('D');
    }
    if entry.mount_root || bits & perm::UPDATE != 0 {
        letters.push_str("NV");
    }
    if entry.node.is_dir {
        if bits & perm::CREATE != 0 {
            letters.push_str("CK");
        }
    } else if bits & perm::UPDATE != 0 {
        letters.push('W');
    }
    letters
}

/// Live DAV: properties returned for allprop (quota properties are only sent on request, as
/// RFC 4331 says).
pub(crate) const ALLPROP_LIVE: &[&str] = &[
    "resourcetype",
    "getcontentlength",
    "getlastmodified",
    "getetag",
    "getcontenttype",
    "creationdate",
    "displayname",
    "supportedlock",
    "lockdiscovery",
];

/// DAV: properties a client cannot set.
pub(crate) const PROTECTED: &[&str] = &[
    "resourcetype",
    "getcontentlength",
    "getlastmodified",
    "getetag",
    "getcontenttype",
    "creationdate",
    "supportedlock",
    "lockdiscovery",
    "quota-used-bytes",
    "quota-available-bytes",
];

/// Per-request facts shared by all resources of one multistatus.
pub(crate) struct PropContext<'a> {
    pub base: &'a str,
    /// Account name and display name of the tree's owner.
    pub owner: &'a str,
    pub owner_display_name: &'a str,
    pub quota: Quota,
    pub locks: &'a [Lock],
    /// The viewing account's favourites (loaded only when `oc:favorite` is asked for).
    pub favorites: &'a std::collections::HashSet<hafen_core::NodeId>,
    /// Comments per entry (loaded only when `oc:comments-count` is asked for).
    pub comment_counts: &'a std::collections::HashMap<hafen_core::NodeId, i64>,
    /// Tags per entry and the viewing account (loaded only when `nc:system-tags` is asked for).
    pub tags: &'a std::collections::HashMap<hafen_core::NodeId, Vec<hafen_core::Tag>>,
    pub viewer: Option<&'a hafen_core::User>,
}

/// The live properties whose values need more than the listing (loaded per request only
/// when asked for).
pub(crate) fn asks_for(names: &[PropName], ns: &str, local: &str) -> bool {
    names.iter().any(|name| name.ns == ns && name.local == local)
}

/// `nc:system-tags`: the tags of an entry, as Nextcloud 28+ writes them.
fn system_tags(tags: &[hafen_core::Tag], viewer: Option<&hafen_core::User>) -> String {
    tags.iter()
        .map(|tag| {
            let can_assign = viewer.is_some_and(|user| hafen_core::Core::can_assign_tag(user, tag));
            format!(
                "<nc:system-tag oc:id=\"{}\" nc:can-assign=\"{can_assign}\" oc:user-visible=\"{}\" oc:user-assignable=\"{}\">{}</nc:system-tag>",
                tag.id,
                tag.user_visible,
                tag.user_assignable,
                escape_text(&tag.name)
            )
        })
        .collect()
}

/// The namespace prefix declared on the multistatus root for the common namespaces.
fn prefix_of(ns: &str) -> Option<&'static str> {
    match ns {
        DAV_NS => Some("d"),
        OC_NS => Some("oc"),
        NC_NS => Some("nc"),
        _ => None,
    }
}

/// Writes `<name>value</name>` (or an empty element). Appends in place: a Depth-1 listing
/// writes this for every property of every entry.
pub(crate) fn write_prop(out: &mut String, name: &PropName, value: &str) {
    out.push('<');
    let prefix = prefix_of(&name.ns);
    if let Some(prefix) = prefix {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(&name.local);
    if prefix.is_none() {
        out.push_str(" xmlns=\"");
        out.push_str(&escape(&name.ns));
        out.push('"');
    }
    if value.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    out.push_str(value);
    out.push_str("</");
    if let Some(prefix) = prefix {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(&name.local);
    out.push('>');
}

pub(crate) fn content_type(name: &str) -> String {
    mime_guess::from_path(name).first_raw().unwrap_or("application/octet-stream").to_string()
}

fn active_lock_xml(lock: &Lock, base: &str) -> String {
    let scope = if lock.exclusive { "exclusive" } else { "shared" };
    let depth = if lock.depth_infinite { "infinity" } else { "0" };
    let root = urls::href(base, &TreePath::from_key(&lock.path), false);
    format!(
        "<d:activelock><d:locktype><d:write/></d:locktype><d:lockscope><d:{scope}/></d:lockscope><d:depth>{depth}</d:depth>\
         <d:owner>{}</d:owner><d:timeout>Second-{}</d:timeout><d:locktoken><d:href>{}</d:href></d:locktoken>\
         <d:lockroot><d:href>{}</d:href></d:lockroot></d:activelock>",
        lock.owner_xml,
        lock.timeout_secs,
        escape(&lock.token),
        escape(&root)
    )
}

/// The `<d:lockdiscovery>` content for a path.
pub(crate) fn lockdiscovery(locks: &[Lock], path: &TreePath, base: &str) -> String {
    locks.iter().filter(|lock| lock_covers(lock, path)).map(|lock| active_lock_xml(lock, base)).collect()
}

const SUPPORTED_LOCK: &str =
    "<d:lockentry><d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/></d:locktype></d:lockentry>\
<d:lockentry><d:lockscope><d:shared/></d:lockscope><d:locktype><d:write/></d:locktype></d:lockentry>";

/// The value of a live property, `None` when the resource has no such property.
pub(crate) fn live_value(name: &PropName, entry: &Entry, context: &PropContext<'_>) -> Option<String> {
    let (node, path) = (&entry.node, &entry.path);
    let file = !node.is_dir;
    match (name.ns.as_str(), name.local.as_str()) {
        (DAV_NS, "resourcetype") => Some(if node.is_dir { "<d:collection/>".into() } else { String::new() }),
        (DAV_NS, "getcontentlength") if file => Some(node.size.to_string()),
        (DAV_NS, "getlastmodified") => Some(http_date_of(node.mtime)),
        (DAV_NS, "getetag") => Some(escape_text(&etag_header(node))),
        (DAV_NS, "getcontenttype") if file => Some(escape_text(&content_type(&node.name))),
        (DAV_NS, "creationdate") => Some(rfc3339_of(node.ctime)),
        (DAV_NS, "displayname") => Some(escape_text(path.name().unwrap_or_default())),
        (DAV_NS, "supportedlock") => Some(SUPPORTED_LOCK.into()),
        (DAV_NS, "lockdiscovery") => Some(lockdiscovery(context.locks, path, context.base)),
        (DAV_NS, "quota-used-bytes") if node.is_dir => Some(node.size.to_string()),
        // -3 is how Nextcloud says "unlimited"; its clients expect it.
        (DAV_NS, "quota-available-bytes") if node.is_dir => Some(context.quota.available().unwrap_or(-3).to_string()),
        (OC_NS, "fileid") => Some(node.id.0.to_string()),
        (OC_NS, "id") => Some(super::conditions::oc_id(node)),
        (OC_NS, "size") => Some(node.size.to_string()),
        (OC_NS, "permissions") => Some(permission_letters(entry)),
        (OCS_NS, "share-permissions") => Some(entry.perms.to_string()),
        (OC_NS, "checksums") if file => Some(
            node.checksum
                .as_deref()
                .map_or(String::new(), |sum| format!("<oc:checksum>{}</oc:checksum>", escape_text(sum))),
        ),
        (OC_NS, "share-types") => {
            Some(entry.share_types.iter().map(|kind| format!("<oc:share-type>{kind}</oc:share-type>")).collect())
        }
        // Empty and constant: a change would make clients assume a restore from backup.
        (OC_NS, "data-fingerprint") if path.is_root() => Some(String::new()),
        (OC_NS, "owner-id") => Some(escape_text(context.owner)),
        (OC_NS, "owner-display-name") => Some(escape_text(context.owner_display_name)),
        (OC_NS, "favorite") => Some(if context.favorites.contains(&node.id) { "1" } else { "0" }.into()),
        (OC_NS, "comments-count") => Some(context.comment_counts.get(&node.id).copied().unwrap_or(0).to_string()),
        (OC_NS, "comments-unread") => Some("0".into()),
        (OC_NS, "comments-href") => Some(format!("/remote.php/dav/comments/files/{}", node.id.0)),
        // Personal (non-collaborative) tags do not exist here: always none.
        (OC_NS, "tags") => Some(String::new()),
        (NC_NS, "system-tags") => {
            Some(system_tags(context.tags.get(&node.id).map_or(&[][..], Vec::as_slice), context.viewer))
        }
        (NC_NS, "is-encrypted") => Some("0".into()),
        (NC_NS, "has-preview") => Some("false".into()),
        (NC_NS, "mount-type") => Some(
            if entry.in_space {
                "group"
            } else if entry.shared_with_me {
                "shared"
            } else {
                ""
            }
            .into(),
        ),
        (NC_NS, "is-mount-root") => Some(entry.mount_root.to_string()),
        _ => None,
    }
}

/// Whether a property is one of ours (live), as opposed to a client's dead property.
pub(crate) fn is_live(name: &PropName) -> bool {
    (name.ns == DAV_NS && (ALLPROP_LIVE.contains(&name.local.as_str()) || PROTECTED.contains(&name.local.as_str())))
        || (name.ns == OC_NS
            && matches!(
                name.local.as_str(),
                "fileid"
                    | "id"
                    | "size"
                    | "permissions"
                    | "checksums"
                    | "share-types"
                    | "data-fingerprint"
                    | "owner-id"
                    | "owner-display-name"
                    | "favorite"
                    | "comments-count"
                    | "comments-unread"
                    | "comments-href"
                    | "tags"
                    | "downloadURL"
                    | "dDC"
            ))
        || (name.ns == NC_NS
            && matches!(
                name.local.as_str(),
                "is-encrypted" | "has-preview" | "mount-type" | "is-mount-root" | "system-tags"
            ))
        || (name.ns == OCS_NS && name.local == "share-permissions")
}

/// Looks a dead property up by name.
pub(crate) fn find_dead<'a>(dead: &'a [DeadProp], name: &PropName) -> Option<&'a DeadProp> {
    dead.iter().find(|prop| prop.ns == name.ns && prop.name == name.local)
}

/// Appends one `<d:response>` with a propstat per status.
pub(crate) fn write_response(out: &mut String, href: &str, found: &str, missing: &str) {
    out.push_str("<d:response><d:href>");
    out.push_str(&escape_text(href));
    out.push_str("</d:href>");
    if !found.is_empty() || missing.is_empty() {
        out.push_str("<d:propstat><d:prop>");
        out.push_str(found);
        out.push_str("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>");
    }
    if !missing.is_empty() {
        out.push_str("<d:propstat><d:prop>");
        out.push_str(missing);
        out.push_str("</d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>");
    }
    out.push_str("</d:response>");
}

pub(crate) const MULTISTATUS_OPEN: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:multistatus xmlns:d=\"DAV:\" xmlns:oc=\"http://owncloud.org/ns\" xmlns:nc=\"http://nextcloud.org/ns\" xmlns:s=\"http://sabredav.org/ns\">";
pub(crate) const MULTISTATUS_CLOSE: &str = "</d:multistatus>\n";

/// `resourcetype` of a collection, as a found property (virtual folders of the endpoints).
pub(crate) fn collection_props() -> String {
    let mut found = String::new();
    write_prop(&mut found, &PropName::dav("resourcetype"), "<d:collection/>");
    found
}

/// A finished multistatus body as the response.
pub(crate) fn multistatus(body: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    (axum::http::StatusCode::MULTI_STATUS, [(axum::http::header::CONTENT_TYPE, "application/xml; charset=utf-8")], body)
        .into_response()
}
