//! The file browser: a folder's listing (breadcrumbs, sorting, name filter, size, date and
//! sharing state), and the form actions on it — new folder, rename, move, copy, delete of a
//! selection — plus downloads of a file and of a selection or folder as a streamed ZIP.
//! Uploads are done by `assets/upload.js` straight over WebDAV (chunked, resumable).
//!
//! After an action the browser is sent back to the folder with `done=` or `failed=` naming a
//! catalog message (only known keys are shown).

use super::{back_to, error_key, error_page, flash, percent_encode, redirect, render, web_form, web_user};
use crate::download::{attachment, Disposition};
use crate::login_flow::field;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use hafen_core::archive::ArchiveEntry;
use hafen_core::{perm, CopyOrMove, Core, CoreError, Node, TreePath, Viewer};
use minijinja::context;
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/files", get(|| async { redirect("/apps/files/") }))
        .route("/apps/files/", get(browser))
        .route("/apps/files/mkdir", post(make_folder))
        .route("/apps/files/rename", post(rename))
        .route("/apps/files/action", post(selection_action))
        .route("/apps/files/download", get(download))
        .route("/apps/files/zip", get(zip))
        .route("/apps/files/favorite", post(favorite))
        .route("/apps/files/favorites", get(favorites))
}

/// Messages an action may report back (`done=` / `failed=` of the folder URL).
const FLASH_KEYS: &[&str] = &[
    "files.done.mkdir",
    "files.done.rename",
    "files.done.move",
    "files.done.copy",
    "files.done.delete",
    "files.done.favorite_added",
    "files.done.favorite_removed",
    "files.failed.nothing_selected",
    "files.failed.name",
    "error.not_found",
    "error.forbidden",
    "error.conflict",
    "error.locked",
    "error.quota",
    "error.invalid",
    "error.too_large",
    "error.throttled",
    "error.internal",
];

/// A folder path from a form or query (`/A/B`, `A/B` or empty for the root).
pub(crate) fn parse_path(text: &str) -> Result<TreePath, CoreError> {
    TreePath::from_segments(text.split('/'))
}

/// `/A/B` for display and URLs (`/` for the root).
pub(crate) fn display_path(path: &TreePath) -> String {
    format!("/{}", path.names().join("/"))
}

pub(crate) fn folder_url(path: &TreePath) -> String {
    format!("/apps/files/?dir={}", percent_encode(&display_path(path)))
}

fn back_with(path: &TreePath, outcome: Result<&str, &str>) -> Response {
    back_to(&folder_url(path), outcome)
}

async fn browser(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let web = match web_user(&state, &uri, &headers).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let lang = web.lang;
    let dir = match parse_path(query.get("dir").map_or("", String::as_str)) {
        Ok(dir) => dir,
        Err(error) => return error_page(lang, &error),
    };
    let viewer = Viewer::Account(web.user.clone());
    let listing = match state.core.listing(&viewer, &dir, true).await {
        Ok(listing) => listing,
        Err(error) => return error_page(lang, &error),
    };
    let mut entries = listing.entries.into_iter();
    let Some(folder) = entries.next() else { return error_page(lang, &CoreError::NotFound("folder".into())) };
    if !folder.node.is_dir {
        return redirect(&format!("/apps/files/download?path={}", percent_encode(&display_path(&dir))));
    }
    let filter = query.get("filter").map(|text| text.trim().to_lowercase()).unwrap_or_default();
    let sort = match query.get("sort").map(String::as_str) {
        Some("size") => "size",
        Some("mtime") => "mtime",
        _ => "name",
    };
    let descending = query.get("order").is_some_and(|order| order == "desc");
    let mut rows: Vec<_> =
        entries.filter(|entry| filter.is_empty() || entry.node.name.to_lowercase().contains(&filter)).collect();
    rows.sort_by(|a, b| {
        // Folders first, as every file manager does; then the chosen column.
        let by_column = match sort {
            "size" => a.node.size.cmp(&b.node.size),
            "mtime" => a.node.mtime.cmp(&b.node.mtime),
            _ => a.node.name.to_lowercase().cmp(&b.node.name.to_lowercase()),
        };
        b.node.is_dir.cmp(&a.node.is_dir).then(if descending { by_column.reverse() } else { by_column })
    });
    let rename = query.get("rename").filter(|name| rows.iter().any(|entry| &entry.node.name == *name)).cloned();
    let favorite_ids = match state.core.favorites(&web.user).await {
        Ok(ids) => ids,
        Err(error) => return error_page(lang, &error),
    };
    let node_ids: Vec<_> = rows.iter().map(|entry| entry.node.id).collect();
    let comment_counts = match state.core.comment_counts(&node_ids).await {
        Ok(counts) => counts,
        Err(error) => return error_page(lang, &error),
    };
    let rows: Vec<_> = rows
        .iter()
        .map(|entry| {
            let path = display_path(&entry.path);
            context! {
                path => path,
                favorite => favorite_ids.contains(&entry.node.id),
                comments => comment_counts.get(&entry.node.id).copied().unwrap_or(0),
                details_href => format!("/apps/files/comments?path={}", percent_encode(&path)),
                name => entry.node.name,
                is_dir => entry.node.is_dir,
                size => entry.node.size,
                mtime => entry.node.mtime,
                href => if entry.node.is_dir { folder_url(&entry.path) } else { format!("/apps/files/download?path={}", percent_encode(&path)) },
                rename_href => format!("{}&rename={}", folder_url(&dir), percent_encode(&entry.node.name)),
                versions_href => format!("/apps/files/versions?path={}", percent_encode(&path)),
                share_href => format!("/apps/files/share?path={}", percent_encode(&path)),
                shared_by_me => !entry.share_types.is_empty(),
                shared_with_me => entry.shared_with_me && !entry.in_space,
                in_space => entry.in_space,
                may_rename => entry.perms & perm::UPDATE != 0 || folder.perms & perm::DELETE != 0,
                may_share => entry.perms & perm::SHARE != 0,
            }
        })
        .collect();
    let mut crumbs = vec![context! { name => "", href => folder_url(&TreePath::root()) }];
    let mut walked = TreePath::root();
    for name in dir.names() {
        walked = walked.join(name);
        crumbs.push(context! { name => name, href => folder_url(&walked) });
    }
    let sort_link = |column: &str| {
        let order = if sort == column && !descending { "desc" } else { "asc" };
        let mut href = format!("{}&sort={column}&order={order}", folder_url(&dir));
        if !filter.is_empty() {
            href.push_str(&format!("&filter={}", percent_encode(&filter)));
        }
        let aria = if sort != column {
            "none"
        } else if descending {
            "descending"
        } else {
            "ascending"
        };
        context! { href => href, aria => aria }
    };
    let flash = flash(&query, FLASH_KEYS);
    let base = web.base_context(&uri);
    render(
        StatusCode::OK,
        "files.html",
        context! {
            section => "files",
            dir => display_path(&dir),
            here => folder_url(&dir),
            folder_name => dir.name().unwrap_or_default(),
            crumbs => crumbs,
            rows => rows,
            filter => filter,
            sort_name => sort_link("name"),
            sort_size => sort_link("size"),
            sort_mtime => sort_link("mtime"),
            sort => sort,
            order => if descending { "desc" } else { "asc" },
            may_create => folder.perms & perm::CREATE != 0,
            may_delete => folder.perms & perm::DELETE != 0,
            rename => rename,
            flash => flash,
            quota_used => listing.quota.used,
            quota_limit => listing.quota.limit,
            zip_href => format!("/apps/files/zip?dir={}", percent_encode(&display_path(&dir))),
            ..base
        },
    )
}

async fn make_folder(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(dir) = parse_path(field(&form, "dir")) else { return redirect("/apps/files/?failed=error.invalid") };
    let name = field(&form, "name").trim();
    let Ok(path) = parse_path(name).map(|name| (name.names().len() == 1).then(|| dir.join(&name.names()[0]))) else {
        return back_with(&dir, Err("files.failed.name"));
    };
    let Some(path) = path else { return back_with(&dir, Err("files.failed.name")) };
    match state.core.make_folder(&Viewer::Account(web.user), &path, &[]).await {
        Ok(_) => back_with(&dir, Ok("files.done.mkdir")),
        Err(CoreError::NotAllowed(_)) => back_with(&dir, Err("error.conflict")),
        Err(error) => back_with(&dir, Err(error_key(&error))),
    }
}

/// One name of the folder `dir`, validated (no `/`, not `.` or `..`).
fn member(dir: &TreePath, name: &str) -> Option<TreePath> {
    let parsed = parse_path(name).ok()?;
    (parsed.names().len() == 1 && !name.contains('/')).then(|| dir.join(&parsed.names()[0]))
}

async fn rename(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(dir) = parse_path(field(&form, "dir")) else { return redirect("/apps/files/?failed=error.invalid") };
    let (Some(from), Some(to)) = (member(&dir, field(&form, "from")), member(&dir, field(&form, "to").trim())) else {
        return back_with(&dir, Err("files.failed.name"));
    };
    if from == to {
        return back_with(&dir, Ok("files.done.rename"));
    }
    let mode = CopyOrMove { is_move: true, recursive: true, overwrite: false };
    match state.core.copy_or_move(&Viewer::Account(web.user), &from, &to, mode, &[]).await {
        Ok(_) => back_with(&dir, Ok("files.done.rename")),
        Err(error) => back_with(&dir, Err(error_key(&error))),
    }
}

async fn selection_action(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(dir) = parse_path(field(&form, "dir")) else { return redirect("/apps/files/?failed=error.invalid") };
    let selected: Vec<TreePath> =
        form.iter().filter(|(key, _)| key == "selected").filter_map(|(_, name)| member(&dir, name)).collect();
    if selected.is_empty() {
        return back_with(&dir, Err("files.failed.nothing_selected"));
    }
    let lang = web.lang;
    let viewer = Viewer::Account(web.user);
    let op = field(&form, "op");
    if op == "zip" {
        let names = selected.iter().filter_map(|path| path.name().map(str::to_string)).collect();
        return zip_of(&state, lang, &viewer, &dir, Some(names)).await;
    }
    let outcome = match op {
        "delete" => delete_all(&state.core, &viewer, &selected).await.map(|()| "files.done.delete"),
        "move" | "copy" => match parse_path(field(&form, "target")) {
            Ok(target) => {
                let is_move = op == "move";
                let mode = CopyOrMove { is_move, recursive: true, overwrite: false };
                let mut result = Ok(if is_move { "files.done.move" } else { "files.done.copy" });
                for from in &selected {
                    let to = target.join(from.name().unwrap_or_default());
                    if let Err(error) = state.core.copy_or_move(&viewer, from, &to, mode, &[]).await {
                        result = Err(error);
                        break;
                    }
                }
                result
            }
            Err(error) => Err(error),
        },
        _ => Err(CoreError::InvalidInput(format!("unknown action {op}"))),
    };
    match outcome {
        Ok(key) => back_with(&dir, Ok(key)),
        Err(error) => back_with(&dir, Err(error_key(&error))),
    }
}

async fn delete_all(core: &Core, viewer: &Viewer, paths: &[TreePath]) -> Result<(), CoreError> {
    for path in paths {
        core.delete(viewer, path, &[]).await?;
    }
    Ok(())
}

/// The whole content of `node` as a download.
pub(crate) async fn file_attachment(core: &Core, node: Node) -> Result<Response, CoreError> {
    let name = node.name.clone();
    let content = core.open_file(node).await?;
    crate::download::whole_file(content, &name, Disposition::Attachment, true).await
}

/// A streamed ZIP of `entries` named `name.zip`.
pub(crate) fn zip_attachment(core: std::sync::Arc<Core>, entries: Vec<ArchiveEntry>, name: &str) -> Response {
    let mut response = Response::new(crate::zip_download::folder_zip(core, entries));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    let name = if name.is_empty() { "download" } else { name };
    if let Some(value) = attachment(&format!("{name}.zip")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn download(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let web = match web_user(&state, &uri, &headers).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let lang = web.lang;
    let path = match parse_path(query.get("path").map_or("", String::as_str)) {
        Ok(path) => path,
        Err(error) => return error_page(lang, &error),
    };
    let viewer = Viewer::Account(web.user);
    let node = match state.core.stat(&viewer, &path).await {
        Ok(node) => node,
        Err(error) => return error_page(lang, &error),
    };
    if node.is_dir {
        return zip_of(&state, lang, &viewer, &path, None).await;
    }
    file_attachment(&state.core, node).await.unwrap_or_else(|error| error_page(lang, &error))
}

/// `GET /apps/files/zip?dir=…[&selected=…]*`: the selection (or the whole folder) as a ZIP.
async fn zip(State(state): State<AppState>, RawQuery(raw): RawQuery, uri: Uri, headers: HeaderMap) -> Response {
    let web = match web_user(&state, &uri, &headers).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let lang = web.lang;
    let pairs = crate::login_flow::parse_form(raw.unwrap_or_default().as_bytes());
    let dir = match parse_path(field(&pairs, "dir")) {
        Ok(dir) => dir,
        Err(error) => return error_page(lang, &error),
    };
    let selected: Vec<String> =
        pairs.iter().filter(|(key, _)| key == "selected").map(|(_, name)| name.clone()).collect();
    let viewer = Viewer::Account(web.user);
    zip_of(&state, lang, &viewer, &dir, (!selected.is_empty()).then_some(selected)).await
}

async fn zip_of(
    state: &AppState,
    lang: crate::i18n::Lang,
    viewer: &Viewer,
    dir: &TreePath,
    selected: Option<Vec<String>>,
) -> Response {
    let collected = match &selected {
        None => state.core.folder_files(viewer, dir).await,
        Some(names) => selection_entries(&state.core, viewer, dir, names).await,
    };
    match collected {
        Ok(entries) => {
            let name = match (&selected, dir.name()) {
                (Some(names), _) if names.len() == 1 => names[0].clone(),
                (_, Some(folder)) => folder.to_string(),
                (_, None) => "Hafen".to_string(),
            };
            zip_attachment(state.core.clone(), entries, &name)
        }
        Err(error) => error_page(lang, &error),
    }
}

/// The archive entries of some members of `dir`: files as they are, folders with everything
/// below them under their name.
async fn selection_entries(
    core: &Core,
    viewer: &Viewer,
    dir: &TreePath,
    names: &[String],
) -> Result<Vec<ArchiveEntry>, CoreError> {
    let mut entries = Vec::new();
    for name in names {
        let path = member(dir, name).ok_or_else(|| CoreError::InvalidInput(format!("{name} is not a name")))?;
        let node = core.stat(viewer, &path).await?;
        if node.is_dir {
            let below = core.folder_files(viewer, &path).await?;
            entries.push(ArchiveEntry { name: format!("{}/", node.name), node: node.clone() });
            entries.extend(
                below.into_iter().map(|entry| ArchiveEntry { name: format!("{}/{}", node.name, entry.name), ..entry }),
            );
        } else {
            entries.push(ArchiveEntry { name: node.name.clone(), node });
        }
    }
    if entries.len() > hafen_core::archive::MAX_ARCHIVE_ENTRIES {
        return Err(CoreError::PayloadTooLarge("too many files for one archive".into()));
    }
    Ok(entries)
}

/// `POST /apps/files/favorite` (`path`, `on` = `1` | `0`, `back` = `favorites` to return to
/// the favourites view): marks or unmarks one item as the account's favourite.
async fn favorite(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let Ok(path) = parse_path(field(&form, "path")) else { return redirect("/apps/files/?failed=error.invalid") };
    let on = field(&form, "on") == "1";
    let back = if field(&form, "back") == "favorites" {
        FAVORITES_PAGE.to_string()
    } else {
        folder_url(&path.parent().unwrap_or_else(TreePath::root))
    };
    match state.core.set_favorite(&Viewer::Account(web.user), &path, on).await {
        Ok(()) => back_to(&back, Ok(if on { "files.done.favorite_added" } else { "files.done.favorite_removed" })),
        Err(error) => back_to(&back, Err(error_key(&error))),
    }
}

const FAVORITES_PAGE: &str = "/apps/files/favorites";

/// `GET /apps/files/favorites`: the account's favourites, each linked to itself (a folder)
/// or to its folder and download (a file), with the button removing it.
async fn favorites(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let web = match web_user(&state, &uri, &headers).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let lang = web.lang;
    let paths = match state.core.favorite_paths(&web.user).await {
        Ok(paths) => paths,
        Err(error) => return error_page(lang, &error),
    };
    let viewer = Viewer::Account(web.user.clone());
    let mut items = Vec::with_capacity(paths.len());
    for path in paths {
        // An item that is gone or no longer reachable is simply not listed.
        let Ok(node) = state.core.stat(&viewer, &path).await else { continue };
        let shown = display_path(&path);
        let parent = path.parent().unwrap_or_else(TreePath::root);
        items.push(context! {
            name => node.name,
            is_dir => node.is_dir,
            path => shown,
            href => if node.is_dir { folder_url(&path) } else { format!("/apps/files/download?path={}", percent_encode(&shown)) },
            folder => display_path(&parent),
            folder_href => folder_url(&parent),
            details_href => format!("/apps/files/comments?path={}", percent_encode(&shown)),
        });
    }
    let base = web.base_context(&uri);
    render(
        StatusCode::OK,
        "favorites.html",
        context! { section => "favorites", items => items, flash => flash(&query, FLASH_KEYS), ..base },
    )
}
