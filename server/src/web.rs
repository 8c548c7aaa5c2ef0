//! Rules every request and answer passes, whatever the door (REST, server functions, pages):
//! cross-site writes refused, security headers on every answer, and server-function errors
//! answered with the same status as their REST twins.

use app::backend::{sessions, Config};
use app::error::{ApiError, ErrorKind};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Paths a browser may post to before it has a session: a cross-site post there is login CSRF.
const SIGN_IN_PATHS: [&str; 7] = [
    "/api/v1/auth/login", "/api/login", "/api/v1/auth/mfa", "/api/login_code", "/api/accept_invitation", "/api/v1/auth/passkey/finish", "/api/passkey_sign_in",
];

/// Doors that sign someone in without a cookie: a forged one would sign the victim's browser
/// into the forger's account.
fn is_sign_in_path(path: &str) -> bool {
    SIGN_IN_PATHS.contains(&path) || path.strip_prefix("/api/v1/invitations/").is_some_and(|rest| rest.ends_with("/accept"))
}

/// Refuses a state-changing request that a browser sent from another site with the user's
/// cookie (or to the sign-in form), so SameSite is not the only line of defence. Bearer-key
/// calls carry no ambient credential and pass; so do scripts, which send neither `Origin`
/// nor `Sec-Fetch-Site`.
pub async fn refuse_cross_site(State(config): State<Arc<Config>>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let headers = req.headers();
    let ambient = !headers.contains_key(header::AUTHORIZATION)
        && (sessions::token_from_headers(headers).is_some() || is_sign_in_path(req.uri().path()));
    if !safe && ambient && is_cross_site(headers, &config) {
        return ApiError::new(ErrorKind::CrossSiteRequest, "Cross-site requests cannot change anything here.").into_response();
    }
    next.run(req).await
}

/// `Sec-Fetch-Site: cross-site`, or an `Origin` that is neither this host nor the public URL.
fn is_cross_site(headers: &HeaderMap, config: &Config) -> bool {
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if text("sec-fetch-site") == Some("cross-site") {
        return true;
    }
    let Some(origin) = text("origin") else { return false };
    let origin = origin.trim_end_matches('/');
    let same_host = origin.split_once("://").map(|(_, host)| host).zip(text("host")).is_some_and(|(o, h)| o.eq_ignore_ascii_case(h));
    let public = config.public_url.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(origin));
    !(same_host || public)
}

/// Pages and server functions learn who is calling before they run: the shell draws its header
/// at once rather than waiting in a suspense, and a page's server functions share this lookup.
pub async fn identify_caller(State(state): State<app::backend::AppState>, mut req: Request, next: Next) -> Response {
    let caller = app::backend::auth::authenticate(&state.db, req.headers()).await;
    req.extensions_mut().insert(app::backend::request::RequestCaller(caller));
    next.run(req).await
}

/// `CHRONICLE_AUDIT_POLICY=completeness`: a request that may change something (any method
/// but GET, HEAD, OPTIONS, on the REST API or a server function) first checks that the trail
/// takes writes, and is refused with 503 before it acts when it does not. (An event that
/// then fails to commit in the moment between stays queued and retried.)
pub async fn audit_gate(State(state): State<app::backend::AppState>, req: Request, next: Next) -> Response {
    let acts = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) && req.uri().path().starts_with("/api/");
    if state.config.audit_completeness && acts && !app::backend::audit::store::writable(&state.db).await {
        return ApiError::new(ErrorKind::Unavailable, "The audit trail cannot be written right now, so nothing was changed (CHRONICLE_AUDIT_POLICY=completeness). Try again shortly.")
            .into_response();
    }
    next.run(req).await
}

/// The one body limit: 2 MiB for every door, except a file upload (the files endpoint's
/// POST), which streams up to `CHRONICLE_MAX_FILE_BYTES` and answers any oversize itself,
/// announced or not (413, audited as a refused upload; `files::upload` counts the bytes and
/// the quota as they arrive). A body announced larger is refused before a byte of it is
/// read, in the API's JSON words; an unannounced one is cut off at the limit.
pub async fn limit_body(req: Request, next: Next) -> Response {
    if req.method() == axum::http::Method::POST && is_files_path(req.uri().path()) {
        return next.run(req).await;
    }
    let limit = crate::MAX_BODY_BYTES;
    let announced = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit as u64) {
        return ApiError::new(ErrorKind::PayloadTooLarge, "The request body is too large (2 MiB at most).").into_response();
    }
    next.run(req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)))).await
}

/// `/api/v1/orgs/{org}/files`.
fn is_files_path(path: &str) -> bool {
    let mut parts = path.trim_end_matches('/').split('/');
    matches!((parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(""), Some("api"), Some("v1"), Some("orgs"), Some(org), Some("files"), None) if !org.is_empty())
}

/// Security headers on every answer: pages get a Content-Security-Policy whose scripts must
/// carry the page's nonce (see `app::shell`), nothing may frame us, no MIME sniffing, no
/// full URLs in Referer, and HSTS when users reach us over https.
pub async fn security_headers(State(config): State<Arc<Config>>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        // Answers that are not pages (JSON, files) run nothing and embed nothing.
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));
    }
    if config.https_only() {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    res
}

/// Leptos answers every server-function error with 500; the error itself names its kind, so
/// this gives it the status its REST twin answers (401/403/404/409/422…) and /metrics counts
/// a client's mistake as one.
pub async fn server_fn_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR || !res.headers().contains_key("serverfnerror") {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    if let Ok(err) = serde_json::from_slice::<ApiError>(&bytes) {
        parts.status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(secs) = err.retry_after {
            parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect()
    }

    #[test]
    fn cross_site_is_told_by_origin_or_fetch_metadata() {
        let plain = Config::default();
        let public = Config { public_url: Some("https://chronicle.example".into()), ..Config::default() };
        let cases: [(&[(&str, &str)], &Config, bool); 8] = [
            (&[], &plain, false),
            (&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")], &plain, false),
            (&[("host", "127.0.0.1:3000"), ("origin", "https://evil.example")], &plain, true),
            (&[("host", "127.0.0.1:3000"), ("origin", "null")], &plain, true),
            (&[("sec-fetch-site", "cross-site")], &plain, true),
            (&[("sec-fetch-site", "same-origin")], &plain, false),
            (&[("host", "internal:3000"), ("origin", "https://chronicle.example")], &public, false),
            (&[("host", "internal:3000"), ("origin", "https://chronicle.example.evil")], &public, true),
        ];
        for (pairs, config, want) in cases {
            assert_eq!(is_cross_site(&headers(pairs), config), want, "{pairs:?}");
        }
    }
}
