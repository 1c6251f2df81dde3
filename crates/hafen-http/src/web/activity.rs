//! The activity page: the account's in-app notifications (each dismissable) and its activity
//! stream, newest first, as sentences in the page's language ("alice hat plan.txt
//! kommentiert"), filtered by area (files, shares, comments, public links) and paged with
//! `before=<id>` ("Ältere anzeigen").

use super::{back_to, error_key, error_page, flash, render, web_form, web_user};
use crate::login_flow::field;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use hafen_core::Activity;
use minijinja::{context, Value};
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/activity", get(page))
        .route("/apps/activity/", get(page))
        .route("/apps/notifications", get(|| async { super::redirect("/apps/activity#notifications") }))
        .route("/apps/activity/notifications/dismiss", post(dismiss))
}

const PAGE: &str = "/apps/activity";
/// Entries per page of the stream.
const PAGE_SIZE: i64 = 50;

const FLASH_KEYS: &[&str] = &["activity.done.dismissed", "error.not_found", "error.forbidden", "error.internal"];

/// The filters of the stream and the kinds each shows (`all` shows every kind).
const FILTERS: &[(&str, &[&str])] = &[
    ("all", &[]),
    ("files", &["file_created", "file_changed", "file_deleted", "file_restored"]),
    ("shares", &["shared", "share_received", "unshared"]),
    ("comments", &["comment"]),
    ("links", &["link_downloaded", "file_drop_upload"]),
];

/// Kinds whose subject is a path in the account's tree (shown with a leading `/`); the
/// others name an item.
const PATH_KINDS: &[&str] = &["file_created", "file_changed", "file_deleted", "file_restored", "shared"];

/// Kinds the catalog has sentences for.
const KNOWN_KINDS: &[&str] = &[
    "file_created",
    "file_changed",
    "file_deleted",
    "file_restored",
    "shared",
    "share_received",
    "unshared",
    "link_downloaded",
    "file_drop_upload",
    "comment",
];

/// The catalog key and placeholders of one entry's sentence for the account `me`.
fn sentence(entry: &Activity, me: &str) -> Value {
    let variant = if entry.actor.starts_with("link:") {
        "link"
    } else if entry.actor == me {
        "self"
    } else {
        "other"
    };
    let key = if KNOWN_KINDS.contains(&entry.kind.as_str()) {
        format!("activity.{}.{variant}", entry.kind)
    } else {
        "activity.other".to_string()
    };
    let subject = if PATH_KINDS.contains(&entry.kind.as_str()) && !entry.subject.starts_with('/') {
        format!("/{}", entry.subject)
    } else {
        entry.subject.clone()
    };
    context! {
        id => entry.id,
        kind => entry.kind,
        key => key,
        actor => entry.actor,
        subject => subject,
        created_at => entry.created_at,
    }
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
    let (filter, kinds) = query
        .get("filter")
        .and_then(|chosen| FILTERS.iter().find(|(name, _)| name == chosen))
        .copied()
        .unwrap_or(FILTERS[0]);
    let kinds: Vec<String> = kinds.iter().map(|kind| kind.to_string()).collect();
    let before = query.get("before").and_then(|id| id.parse::<i64>().ok()).filter(|id| *id > 0);
    let mut entries = match state.core.activities(&web.user, before, &kinds, PAGE_SIZE + 1).await {
        Ok(entries) => entries,
        Err(error) => return error_page(lang, &error),
    };
    let more = entries.len() as i64 > PAGE_SIZE;
    entries.truncate(PAGE_SIZE as usize);
    let older_href =
        more.then(|| entries.last().map(|last| format!("{PAGE}?filter={filter}&before={}", last.id))).flatten();
    let notifications = match state.core.notifications(&web.user).await {
        Ok(notifications) => notifications,
        Err(error) => return error_page(lang, &error),
    };
    let notifications: Vec<Value> = notifications
        .iter()
        .map(|notification| {
            context! {
                id => notification.id,
                subject => notification.subject,
                message => notification.message,
                created_at => notification.created_at,
            }
        })
        .collect();
    let entries: Vec<Value> = entries.iter().map(|entry| sentence(entry, &web.user.name)).collect();
    let filters: Vec<Value> = FILTERS
        .iter()
        .map(|(name, _)| context! { value => name, key => format!("activity.filter.{name}"), selected => *name == filter })
        .collect();
    let back = match before {
        Some(before) => format!("{PAGE}?filter={filter}&before={before}"),
        None if filter != "all" => format!("{PAGE}?filter={filter}"),
        None => PAGE.to_string(),
    };
    let base = web.base_context(&uri);
    render(
        StatusCode::OK,
        "activity.html",
        context! {
            section => "activity",
            notifications => notifications,
            entries => entries,
            filters => filters,
            filter => filter,
            paged => before.is_some(),
            newest_href => if filter == "all" { PAGE.to_string() } else { format!("{PAGE}?filter={filter}") },
            older_href => older_href,
            back => back,
            flash => flash(&query, FLASH_KEYS),
            ..base
        },
    )
}

/// `POST /apps/activity/notifications/dismiss` (`id`, `back` = the page to return to).
async fn dismiss(State(state): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (web, form) = match web_form(&state, &uri, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let back = super::local_target(field(&form, "back"), PAGE);
    let back = if back.starts_with(PAGE) { back } else { PAGE.to_string() };
    let Ok(id) = field(&form, "id").parse::<i64>() else { return back_to(&back, Err("error.not_found")) };
    match state.core.dismiss_notification(&web.user, id).await {
        Ok(()) => back_to(&back, Ok("activity.done.dismissed")),
        Err(error) => back_to(&back, Err(error_key(&error))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{t, Lang};

    #[test]
    fn every_kind_has_sentences_in_both_languages() {
        for kind in KNOWN_KINDS {
            for variant in ["self", "other", "link"] {
                let key = format!("activity.{kind}.{variant}");
                for lang in [Lang::De, Lang::En] {
                    let text = t(lang, &key);
                    assert_ne!(text, "?", "{key}");
                    assert!(text.contains("{subject}"), "{key}: {text}");
                    assert_eq!(text.contains("{actor}"), variant == "other", "{key}: {text}");
                }
            }
        }
        for (name, kinds) in FILTERS {
            assert_ne!(t(Lang::De, &format!("activity.filter.{name}")), "?");
            assert!(kinds.iter().all(|kind| KNOWN_KINDS.contains(kind)));
        }
        for key in FLASH_KEYS {
            assert_ne!(t(Lang::De, key), "?", "{key}");
        }
    }

    #[test]
    fn sentences_tell_who_did_it() {
        let entry = |kind: &str, actor: &str, subject: &str| Activity {
            id: 7,
            user: hafen_core::UserId(1),
            kind: kind.into(),
            actor: actor.into(),
            subject: subject.into(),
            object_id: None,
            created_at: 0,
        };
        let key = |value: Value| value.get_attr("key").expect("key").to_string();
        let subject = |value: Value| value.get_attr("subject").expect("subject").to_string();
        assert_eq!(key(sentence(&entry("shared", "anna", "Projekt"), "anna")), "activity.shared.self");
        assert_eq!(subject(sentence(&entry("shared", "anna", "Projekt"), "anna")), "/Projekt");
        assert_eq!(key(sentence(&entry("comment", "alice", "plan.txt"), "anna")), "activity.comment.other");
        assert_eq!(subject(sentence(&entry("comment", "alice", "plan.txt"), "anna")), "plan.txt");
        let drop = sentence(&entry("file_drop_upload", "link:4", "Eingang/antrag.pdf"), "anna");
        assert_eq!(
            (key(drop.clone()), subject(drop)),
            ("activity.file_drop_upload.link".into(), "Eingang/antrag.pdf".into())
        );
        assert_eq!(key(sentence(&entry("new_kind", "bob", "x"), "anna")), "activity.other");
    }
}
