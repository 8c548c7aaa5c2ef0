//! The signed-in user's own account: password, sessions and second factors.

use crate::error::ApiError;
use crate::model::{MfaStatus, OutboxMail, PasskeyCeremony, PasskeyInfo, SessionRow, TotpEnrolment};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::backend::mail::outbox;
#[cfg(feature = "ssr")]
use crate::backend::mfa::passkeys;
#[cfg(feature = "ssr")]
use crate::backend::{account, mfa, request};

#[server]
pub async fn change_password(current_password: String, new_password: String, confirm_password: String) -> Result<(), ApiError> {
    if new_password != confirm_password {
        return Err(ApiError::invalid("confirm_password", "does not match the new password"));
    }
    let (state, caller, client) = request::caller_and_client().await?;
    let by = state.acting(&caller, &client);
    account::change_password(&state.db, &caller, &current_password, &new_password, &by).await
}

#[server]
pub async fn my_sessions() -> Result<Vec<SessionRow>, ApiError> {
    let (state, caller) = request::caller().await?;
    account::list_sessions(&state.db, &caller).await
}

/// Ends one session (`id`) or, without one, every session but this one. Returns how many ended.
#[server]
pub async fn revoke_sessions(id: Option<String>) -> Result<u64, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    let by = state.acting(&caller, &client);
    account::revoke_sessions(&state.db, &caller, id.as_deref(), &by).await
}

/// Mail to the signed-in user about their personal keys (what SMTP sent, or what waits).
#[server]
pub async fn my_mail() -> Result<Vec<OutboxMail>, ApiError> {
    let (state, caller) = request::caller().await?;
    let (user, _) = caller.session()?;
    outbox::list_personal(&state.db, &user.email).await
}

#[server]
pub async fn my_second_factors() -> Result<MfaStatus, ApiError> {
    let (state, caller) = request::caller().await?;
    mfa::status(&state.db, &caller).await
}

#[server]
pub async fn enrol_totp(current_password: String) -> Result<TotpEnrolment, ApiError> {
    let (state, caller) = request::caller().await?;
    mfa::enrol_totp(&state.db, &state.config, &caller, Some(&current_password)).await
}

/// Turns TOTP on: the recovery codes, shown this once.
#[server]
pub async fn confirm_totp(code: String) -> Result<Vec<String>, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    mfa::confirm_totp(&state.db, &state.config, &caller, &code, &state.acting(&caller, &client)).await
}

#[server]
pub async fn disable_totp(current_password: String, code: String) -> Result<(), ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    mfa::disable_totp(&state.db, &state.config, &caller, Some(&current_password), &code, &state.acting(&caller, &client)).await
}

#[server]
pub async fn my_passkeys() -> Result<Vec<PasskeyInfo>, ApiError> {
    let (state, caller) = request::caller().await?;
    passkeys::list(&state.db, &caller).await
}

#[server]
pub async fn start_passkey_registration() -> Result<PasskeyCeremony, ApiError> {
    let (state, caller) = request::caller().await?;
    passkeys::register_start(&state.db, &state.public_base, &caller).await
}

/// `credential`: the browser's answer as JSON text.
#[server]
pub async fn finish_passkey_registration(ceremony: String, credential: String, name: String) -> Result<PasskeyInfo, ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    let credential = serde_json::from_str(&credential).map_err(|_| ApiError::invalid("credential", "must be the browser's answer as JSON"))?;
    passkeys::register_finish(&state.db, &state.public_base, &caller, &ceremony, &credential, &name, &state.acting(&caller, &client)).await
}

#[server]
pub async fn remove_passkey(id: String) -> Result<(), ApiError> {
    let (state, caller, client) = request::caller_and_client().await?;
    passkeys::remove(&state.db, &caller, &id, &state.acting(&caller, &client)).await
}
