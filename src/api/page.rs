//! `GET /` and `GET /{asset}`: the auditor's page ([`crate::page`]), so an
//! auditor can open the log's address in a browser. The files are the
//! embedded ones; they fetch only from this origin (the CSP says so in a
//! header as well as in the page) and compute every verdict in the browser.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::page::{self, Asset};

/// `GET /`: the page's `index.html`.
pub async fn index() -> Result<Response, ApiError> {
    asset(Path("index.html".to_string())).await
}

/// `GET /{asset}`: one of the page's files; `404 no_such_route` for any
/// other name, `404 page_not_built` when this binary has no page.
pub async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    match page::asset(&name) {
        Some(asset) if page::built() => Ok(serve(asset)),
        Some(_) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "page_not_built",
            page::NOT_BUILT.trim_end(),
        )),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_route",
            "no such endpoint; see openapi.yaml for the API",
        )),
    }
}

fn serve(asset: &Asset) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, page::CACHE),
        ],
        asset.body,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(page::CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
