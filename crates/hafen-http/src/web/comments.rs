//! The details page of a file or folder: its comments (listed oldest first; added, edited by
//! their authors, deleted by their authors and the item's owner; `@name` mentions shown as
//! such) and its collaborative tags (removed, assigned from the organisation's tags, or
//! created and assigned in one step).
//!
//! After an action the browser is sent back to the page with `done=` or `failed=` naming a
//! catalog message (only known keys are shown); what the core refuses is reported the same way.

use super::files::{display_path, folder_url, parse_path};
use super::{back_to, error_key, error_page, flash, percent_encode, render, web_form, web_user};
use crate::login_flow::field;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use hafen_core::{Core, CoreError, TreePath, Viewer};
use minijinja::{context, Value};
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/files/comments", get(page))
        .route("/apps/files/comments/add", post(add))
        .route("/apps/files/comments/edit", post(edit))
        .route("/apps/files/comments/delete", post(delete))
        .route("/apps/files/tags/assign", post(assign_tag))
        .route("/apps/files/tags/remove", post(remove_tag))
        .route("/apps/files/tags/create", post(create_tag))
}

const FLASH_KEYS: &[&str] = &[
    "comments.done.added",
    "comments.done.edited",
    "comments.done.deleted",
    "comments.failed.empty",
    "tags.done.assigned",
    "tags.done.removed",
    "tags.done.created",
    "tags.failed.name",
    "error.not_found",
    "error.forbidden",
    "error.conflict",
    "error.invalid",
    "error.throttled",
    "error.internal",
];

pub(crate) fn page_url(path: &TreePath) -> String {
    format!("/apps/files/comments?path={}", percent_encode(&display_path(path)))
}

/// One piece of a comment's text: plain, or a mention of an existing account.
fn segment(text: &str, mention: Option<&str>) -> Value {
    context! { text => text, mention => mention }
}

/// The message cut into plain text and mentions (`@name` or `@"name"` of an account the core
/// recognised), so the page can mark the mentions; the same rules as
/// `hafen_core::mentioned_names`.
fn segments(message: &str, mentions: &[(String, String)]) -> Vec<Value> {
    let display_of = |name: &str| {
        mentions.iter().find(|(account, _)| account.eq_ignore_ascii_case(name)).map(|(account, display)| {
            if display.is_empty() {
                account.clone()
            } else {
                display.clone()
            }
        })
    };
    let chars: Vec<(usize, char)> = message.char_indices().collect();
    let mut pieces = Vec::new();
    let mut plain_from = 0;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let starts_word = i == 0 || !(chars[i - 1].1.is_alphanumeric() || chars[i - 1].1 == '@');
        if c != '@' || !starts_word {
            i += 1;
            continue;
        }
        let (name, end) = if chars.get(i + 1).map(|(_, c)| *c) == Some('"') {
            let open = chars.get(i + 2).map_or(message.len(), |(offset, _)| *offset);
            match message[open..].find('"') {
                Some(close) => (&message[open..open + close], open + close + 1),
                None => {
                    i += 1;
                    continue;
                }
            }
        } else {
            let start = at + 1;
            let taken = message[start..]
                .find(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
                .map_or(message.len(), |len| start + len);
            let name = message[start..taken].trim_end_matches('.');
            (name, start + name.len())
        };
        if let Some(display) = display_of(name).filter(|_| !name.is_empty()) {
            if plain_from < at {
                pieces.push(segment(&message[plain_from..at], None));
            }
            pieces.push(segment(&message[at..end], Some(&display)));
            plain_from = end;
        }
        // Continue after what was read (a character index again).
        i = chars.iter().position(|(offset, _)| *offset >= end.max(at + 1)).unwrap_or(chars.len());
    }
    if plain_from < message.len() {
        pieces.push(segment(&message[plain_from..], None));
    }
    pieces
}

async fn page(
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
    if path.is_root() {
        return error_page(lang, &CoreError::InvalidInput("the root folder has no comments".into()));
    }
    let viewer = Viewer::Account(web.user.clone());
    let (node, comments) = match state.core.comments(&viewer, &path).await {
        Ok(found) => found,
        Err(error) => return error_page(lang, &error),
    };
    let (_, assigned) = match state.core.item_tags(&viewer, &path).await {
        Ok(found) => found,
        Err(error) => return error_page(lang, &error),
    };
    let all_tags = match state.core.tags(&web.user).await {
        Ok(tags) => tags,
        Err(error) => return error_page(lang, &error),
    };
    let editing = query.get("edit").and_then(|id| id.parse::<i64>().ok());
    let owns_item = node.owner == web.user.id;
    let rows: Vec<Value> = comments
        .iter()
        .map(|comment| {
            let mentioned: Vec<String> = comment
                .mentions
                .iter()
                .map(|(name, display)| if display.is_empty() || display == name { name.clone() } else { format!("{display} ({name})") })
                .collect();
            context! {
                id => comment.id,
                author => comment.author,
                author_name => if comment.author_display_name.is_empty() { &comment.author } else { &comment.author_display_name },
                message => comment.message,
                segments => segments(&comment.message, &comment.mentions),
                mentioned => mentioned.join(", "),
                created_at => comment.created_at,
                edited_at => comment.edited_at,
                own => comment.own,
                may_delete => comment.own || owns_item,
                editing => comment.own && editing == Some(comment.id),
            }
        })
        .collect();
    let tags: Vec<Value> = assigned
        .iter()
        .map(|tag| context! { id => tag.id, name => tag.name, may_remove => Core::can_assign_tag(&web.user, tag) })
        .collect();
    let assignable: Vec<Value> = all_tags
        .iter()
        .filter(|tag| Core::can_assign_tag(&web.user, tag) && !assigned.iter().any(|other| other.id == tag.id))
        .map(|tag| context! { id => tag.id, name => tag.name })
        .collect();
    let shown = display_path(&path);
    let base = web.base_context(&uri);
    render(
        StatusCode::OK,
        "comments.html",
        context! {
            section => "files",
            name => node.name,
            is_dir => node.is_dir,
            path => shown,
            here => page_url(&path),
            back_href => folder_url(&path.parent().unwrap_or_else(TreePath::root)),
            versions_href => (!node.is_dir).then(|| format!("/apps/files/versions?path={}", percent_encode(&shown))),
            comments => rows,
            tags => tags,
            assignable => assignable,
            may_create_tag => !web.user.is_guest,
            max_chars => hafen_core::COMMENT_MAX_CHARS,
            tag_max_chars => hafen_core::TAG_NAME_MAX_CHARS,
            flash => flash(&query, FLASH_KEYS),
            ..base
        },
    )
}

/// The item of a form (`path`), or the error page for a malformed one.
fn form_path(form: &[(String, String)]) -> Result<TreePath, CoreError> {
    let path = parse_path(field(form, "path"))?;
    if path.is_root() {
        return Err(CoreError::InvalidInput("the root folder has no comments or tags".into()));
    }
    Ok(path)
}

/// The catalog key of a failed comment action.
fn comment_failure(error: &CoreError) -> &'static str {
    match error {
        CoreError::InvalidInput(_) => "comments.failed.empty",
        other => error_key(other),
    }
}

/// `POST /apps/files/comments/add` (`path`, `message`).
async fn add(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let path = match form_path(&form) {
        Ok(path) => path,
        Err(error) => return error_page(web.lang, &error),
    };
    match state.core.add_comment(&Viewer::Account(web.user), &path, field(&form, "message")).await {
        Ok(_) => back_to(&page_url(&path), Ok("comments.done.added")),
        Err(error) => back_to(&page_url(&path), Err(comment_failure(&error))),
    }
}

/// `POST /apps/files/comments/edit` (`path`, `id`, `message`).
async fn edit(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let path = match form_path(&form) {
        Ok(path) => path,
        Err(error) => return error_page(web.lang, &error),
    };
    let Ok(id) = field(&form, "id").parse::<i64>() else { return back_to(&page_url(&path), Err("error.not_found")) };
    match state.core.edit_comment(&Viewer::Account(web.user), &path, id, field(&form, "message")).await {
        Ok(_) => back_to(&page_url(&path), Ok("comments.done.edited")),
        Err(error) => back_to(&page_url(&path), Err(comment_failure(&error))),
    }
}

/// `POST /apps/files/comments/delete` (`path`, `id`).
async fn delete(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let path = match form_path(&form) {
        Ok(path) => path,
        Err(error) => return error_page(web.lang, &error),
    };
    let Ok(id) = field(&form, "id").parse::<i64>() else { return back_to(&page_url(&path), Err("error.not_found")) };
    match state.core.delete_comment(&Viewer::Account(web.user), &path, id).await {
        Ok(()) => back_to(&page_url(&path), Ok("comments.done.deleted")),
        Err(error) => back_to(&page_url(&path), Err(error_key(&error))),
    }
}

/// Assigns or removes the tag of the form's `tag` field on the form's item.
async fn set_tag(state: &AppState, uri: &Uri, headers: &HeaderMap, body: &Bytes, assigned: bool) -> Response {
    let (web, form) = match web_form(state, uri, headers, body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let path = match form_path(&form) {
        Ok(path) => path,
        Err(error) => return error_page(web.lang, &error),
    };
    let Ok(id) = field(&form, "tag").parse::<i64>() else { return back_to(&page_url(&path), Err("error.not_found")) };
    let done = if assigned { "tags.done.assigned" } else { "tags.done.removed" };
    match state.core.set_item_tag(&Viewer::Account(web.user), &path, id, assigned).await {
        Ok(_) => back_to(&page_url(&path), Ok(done)),
        Err(error) => back_to(&page_url(&path), Err(error_key(&error))),
    }
}

/// `POST /apps/files/tags/assign` (`path`, `tag`).
async fn assign_tag(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    set_tag(&state, &uri, &headers, &body, true).await
}

/// `POST /apps/files/tags/remove` (`path`, `tag`).
async fn remove_tag(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    set_tag(&state, &uri, &headers, &body, false).await
}

/// `POST /apps/files/tags/create` (`path`, `name`): creates a tag visible to and assignable
/// by everyone of the organisation and assigns it to the item; a name that exists already
/// assigns that tag.
async fn create_tag(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let path = match form_path(&form) {
        Ok(path) => path,
        Err(error) => return error_page(web.lang, &error),
    };
    let back = page_url(&path);
    let name = field(&form, "name").trim();
    let created = match state.core.create_tag(&web.user, name, true, true).await {
        Ok(tag) => Ok(tag),
        Err(CoreError::Conflict(_)) => match state.core.tags(&web.user).await {
            Ok(tags) => tags
                .into_iter()
                .find(|tag| tag.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| CoreError::Conflict(format!("the tag {name} exists already"))),
            Err(error) => Err(error),
        },
        Err(error) => Err(error),
    };
    let tag = match created {
        Ok(tag) => tag,
        Err(CoreError::InvalidInput(_)) => return back_to(&back, Err("tags.failed.name")),
        Err(error) => return back_to(&back, Err(error_key(&error))),
    };
    match state.core.set_item_tag(&Viewer::Account(web.user), &path, tag.id, true).await {
        Ok(_) => back_to(&back, Ok("tags.done.created")),
        Err(error) => back_to(&back, Err(error_key(&error))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(message: &str, mentions: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
        let mentions: Vec<(String, String)> =
            mentions.iter().map(|(name, display)| (name.to_string(), display.to_string())).collect();
        segments(message, &mentions)
            .iter()
            .map(|piece| {
                let text = piece.get_attr("text").expect("text").to_string();
                let mention = piece.get_attr("mention").expect("mention");
                (text, (!mention.is_none()).then(|| mention.to_string()))
            })
            .collect()
    }

    #[test]
    fn mentions_are_cut_out_of_the_message() {
        let plain = |text: &str| (text.to_string(), None);
        let mention = |text: &str, display: &str| (text.to_string(), Some(display.to_string()));
        assert_eq!(
            shown("@bob bitte prüfen, @carol.", &[("bob", "Bob B."), ("carol", "")]),
            vec![mention("@bob", "Bob B."), plain(" bitte prüfen, "), mention("@carol", "carol"), plain(".")]
        );
        assert_eq!(
            shown("an @\"Team Nord\"!", &[("Team Nord", "Team")]),
            vec![plain("an "), mention("@\"Team Nord\"", "Team"), plain("!")]
        );
        assert_eq!(shown("info@amt.de und @niemand", &[("amt.de", "x")]), vec![plain("info@amt.de und @niemand")]);
        assert_eq!(shown("Grüße @Bob", &[("bob", "Bob")]), vec![plain("Grüße "), mention("@Bob", "Bob")]);
        assert_eq!(shown("", &[]), Vec::<(String, Option<String>)>::new());
    }
}
