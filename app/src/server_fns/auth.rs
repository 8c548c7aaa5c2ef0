use crate::error::ApiError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{auth, request, sessions};

#[cfg(feature = "ssr")]
pub(crate) fn set_response_cookie(cookie: String) -> Result<(), ApiError> {
    use axum::http::{header::SET_COOKIE, HeaderValue};
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.append_header(SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal())?);
    Ok(())
}

/// Signs in and goes back to the page that sent the person here (`next`, a path on this
/// site), or to the home page. For an account with a second factor, answers the challenge
/// the code completes ([`LoginCode`]) instead. A fixed endpoint, so the cross-site check knows it.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<Option<String>, ApiError> {
    let state = request::state()?;
    match auth::login(&state.db, &state.audit, &email, &password, &request::client().await?).await? {
        auth::SignIn::Session(_, token) => signed_in(&token, next).await.map(|_| None),
        auth::SignIn::SecondFactor { challenge } => Ok(Some(challenge)),
    }
}

/// The second step: the challenge and a code from the app, or a recovery code.
#[server(endpoint = "login_code")]
pub async fn login_code(challenge: String, code: String, use_recovery_code: Option<String>, next: Option<String>) -> Result<(), ApiError> {
    use crate::backend::mfa::{self, Proof};
    let state = request::state()?;
    let proof = if use_recovery_code.is_some() { Proof::RecoveryCode(&code) } else { Proof::Code(&code) };
    let (_, token) = mfa::complete(&state.db, &state.config, &state.audit, &challenge, proof, &request::client().await?).await?;
    signed_in(&token, next).await
}

#[server]
pub async fn start_passkey_sign_in() -> Result<crate::model::PasskeyCeremony, ApiError> {
    let state = request::state()?;
    crate::backend::mfa::passkeys::sign_in_start(&state.db, &state.public_base).await
}

/// Signs in with the browser's answer (JSON text) to the ceremony; the page then goes on.
/// A fixed endpoint, so the cross-site check knows it.
#[server(endpoint = "passkey_sign_in")]
pub async fn passkey_sign_in(ceremony: String, credential: String) -> Result<(), ApiError> {
    let state = request::state()?;
    let credential = serde_json::from_str(&credential).map_err(|_| ApiError::invalid("credential", "must be the browser's answer as JSON"))?;
    let client = request::client().await?;
    let (_, token) = crate::backend::mfa::passkeys::sign_in_finish(&state.db, &state.public_base, &state.audit, &ceremony, &credential, &client).await?;
    let headers = request::headers().await?;
    set_response_cookie(sessions::set_cookie(&token, &headers, &state.config))
}

#[cfg(feature = "ssr")]
async fn signed_in(token: &str, next: Option<String>) -> Result<(), ApiError> {
    let state = request::state()?;
    let headers = request::headers().await?;
    set_response_cookie(sessions::set_cookie(token, &headers, &state.config))?;
    leptos_axum::redirect(next.as_deref().and_then(same_site_path).unwrap_or("/"));
    Ok(())
}

/// `next` if it is a path on this site — never `//host`, `/\host`, a scheme or a control
/// character, which a browser would follow elsewhere — and not the login page itself.
pub fn same_site_path(next: &str) -> Option<&str> {
    let mut chars = next.chars();
    let on_site = chars.next() == Some('/') && !matches!(chars.next(), Some('/' | '\\'));
    (on_site && !next.chars().any(|c| c.is_control()) && !next.starts_with("/login")).then_some(next)
}

/// The sign-in page, coming back to `path` afterwards.
pub fn login_path(path: &str) -> String {
    match same_site_path(path).filter(|p| *p != "/") {
        Some(p) => format!("/login?{}", serde_urlencoded::to_string([("next", p)]).unwrap_or_default()),
        None => "/login".to_owned(),
    }
}

#[server]
pub async fn logout() -> Result<(), ApiError> {
    let state = request::state()?;
    let headers = request::headers().await?;
    if let Some(caller) = auth::authenticate(&state.db, &headers).await? {
        auth::logout(&state.db, &state.audit, &caller, &request::client().await?).await?;
    }
    set_response_cookie(sessions::clear_cookie(&headers, &state.config))?;
    leptos_axum::redirect("/login");
    Ok(())
}


#[cfg(test)]
mod tests {
    use super::{login_path, same_site_path};

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(same_site_path("/orgs/a/members?x=1"), Some("/orgs/a/members?x=1"));
        for elsewhere in ["//evil.test/x", "/\\evil.test", "https://evil.test", "evil", "", "/a\nb", "/login?next=/x"] {
            assert_eq!(same_site_path(elsewhere), None, "{elsewhere:?}");
        }
        assert_eq!(login_path("/orgs/a/audit?action=x&y=1"), "/login?next=%2Forgs%2Fa%2Faudit%3Faction%3Dx%26y%3D1");
        assert_eq!(login_path("/"), "/login");
        assert_eq!(login_path("//evil.test"), "/login");
    }
}
