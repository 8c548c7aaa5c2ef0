use crate::error::ApiError;
use crate::model::SessionInfo;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::{auth, request, sessions};

#[cfg(feature = "ssr")]
fn set_response_cookie(cookie: String) -> Result<(), ApiError> {
    use axum::http::{header::SET_COOKIE, HeaderValue};
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.append_header(SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|_| ApiError::internal())?);
    Ok(())
}

/// Signs in and goes to the home page. A fixed path, so the cross-site check knows it.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), ApiError> {
    let state = request::state()?;
    let headers = request::headers().await?;
    let (_, token) = auth::login(&state.db, &state.audit, &email, &password, &request::client().await?).await?;
    set_response_cookie(sessions::set_cookie(&token, &headers, &state.config))?;
    leptos_axum::redirect("/");
    Ok(())
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

/// Who is signed in, or `None`.
#[server]
pub async fn get_session() -> Result<Option<SessionInfo>, ApiError> {
    let state = request::state()?;
    let Some(caller) = request::authenticated(&state, &request::headers().await?).await? else {
        return Ok(None);
    };
    auth::session_info(&caller).map(Some)
}
