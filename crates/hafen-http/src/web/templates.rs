//! The page templates: minijinja, auto-escaping, compiled once and embedded in the binary.
//! Templates get `t(key)` (the catalog text in the page's `lang`), and the filters `size`
//! (bytes in the page's locale) and `datetime` (Unix seconds in the page's locale).

use super::format;
use crate::i18n::{t, Lang};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, State};
use std::sync::OnceLock;

/// Every template, by name (the `.html` suffix turns on HTML auto-escaping).
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("message.html", include_str!("templates/message.html")),
    ("page.html", include_str!("templates/page.html")),
    ("login.html", include_str!("templates/login.html")),
    ("accessibility.html", include_str!("templates/accessibility.html")),
    ("files.html", include_str!("templates/files.html")),
    ("share.html", include_str!("templates/share.html")),
    ("shared.html", include_str!("templates/shared.html")),
    ("settings.html", include_str!("templates/settings.html")),
    ("admin.html", include_str!("templates/admin.html")),
    ("versions.html", include_str!("templates/versions.html")),
    ("trash.html", include_str!("templates/trash.html")),
    ("favorites.html", include_str!("templates/favorites.html")),
    ("comments.html", include_str!("templates/comments.html")),
    ("activity.html", include_str!("templates/activity.html")),
];

fn page_lang(state: &State) -> Lang {
    state.lookup("lang").and_then(|value| value.as_str().and_then(Lang::from_code)).unwrap_or(Lang::De)
}

fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and covered by tests: a syntax error is a
            // build defect, reported by the first render.
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(%error, name, "template does not compile");
            }
        }
        env.add_function("t", |state: &State, key: &str| t(page_lang(state), key).to_string());
        env.add_filter("size", |state: &State, bytes: i64| format::size(page_lang(state), bytes));
        env.add_filter("datetime", |state: &State, seconds: i64| format::datetime(page_lang(state), seconds));
        env.add_filter("isodate", |seconds: i64| format::iso_datetime(seconds));
        env
    })
}

/// Renders template `name` as a complete HTML response with the web interface's headers.
pub(crate) fn render(status: StatusCode, name: &str, context: minijinja::Value) -> Response {
    let html = environment().get_template(name).and_then(|template| template.render(context));
    let (status, html) = match html {
        Ok(html) => (status, html),
        Err(error) => {
            tracing::error!(%error, name, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "<!DOCTYPE html><title>Error</title><p>Internal error.</p>".into())
        }
    };
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(super::WEB_CSP));
    // Browsers then send a real `Origin` with same-origin form posts (the CSRF check).
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source).unwrap_or_else(|error| panic!("{name}: {error}"));
        }
    }
}
