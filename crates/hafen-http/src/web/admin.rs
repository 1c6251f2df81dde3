//! The admin pages (to be completed).

use super::{render, web_user};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/admin", get(page))
}

async fn page(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    let web = match web_user(&state, &uri, &headers).await {
        Ok(web) => web,
        Err(response) => return response,
    };
    let base = web.base_context(&uri);
    render(StatusCode::OK, "admin.html", context! { section => "admin", ..base })
}
