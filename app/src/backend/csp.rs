//! The page's Content-Security-Policy: scripts run only from our origin or with this
//! response's nonce (Leptos puts it on its hydration and streaming scripts), so an injected
//! inline script never runs; nothing may frame a page.

use axum::http::{header, HeaderValue};
use leptos::prelude::use_context;

/// Gives this page render a fresh nonce and sends the policy that names it.
pub fn provide_page_policy() {
    leptos::nonce::provide_nonce();
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}
