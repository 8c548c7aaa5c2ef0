//! The signed-in person's own account: password, second factors and deletion (a session,
//! never a key).

use super::{ApiJson, ApiPath, Authenticated, Client};
use app::backend::mfa::passkeys;
use app::backend::{account, mfa, sessions, AppState};
use app::error::ApiResult;
use app::model::{MfaStatus, PasskeyCeremony, PasskeyInfo, TotpEnrolment};
use axum::extract::State;
use axum::http::{header::SET_COOKIE, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

#[utoipa::path(
    post,
    operation_id = "changePassword",
    path = "/me/password",
    summary = "Change the password: signs out other sessions, revokes personal keys",
    request_body = PasswordBody,
    responses((status = 204, description = "No content"), super::Failure)
)]
/// 204; the other sessions are signed out and the personal keys revoked.
pub async fn change_password(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(body): ApiJson<PasswordBody>,
) -> ApiResult<StatusCode> {
    let by = state.acting(&caller, &client);
    account::change_password(&state.db, &caller, &body.current_password, &body.new_password, &by).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteBody {
    current_password: Option<String>,
}

#[utoipa::path(
    delete,
    operation_id = "deleteAccount",
    path = "/me",
    summary = "Delete the account (409 for the last owner of an org)",
    request_body = DeleteBody,
    responses((status = 204, description = "No content"), super::Failure)
)]
/// 204 and the cookie cleared; 409 while the caller is the last owner of an org.
pub async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(body): ApiJson<DeleteBody>,
) -> ApiResult<impl IntoResponse> {
    let by = state.acting(&caller, &client);
    account::delete_account(&state.db, &caller, body.current_password.as_deref(), &by).await?;
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, sessions::clear_cookie(&headers, &state.config))]))
}

#[utoipa::path(
    get,
    operation_id = "getMfaStatus",
    path = "/me/mfa",
    summary = "The caller's second factors: whether TOTP is on, how many recovery codes are left",
    responses((status = 200, description = "{totp_enabled, recovery_codes_left}", body = serde_json::Value), super::Failure)
)]
pub async fn mfa_status(State(state): State<AppState>, Authenticated(caller): Authenticated) -> ApiResult<Json<MfaStatus>> {
    Ok(Json(mfa::status(&state.db, &caller).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    current_password: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "enrolTotp",
    path = "/me/mfa/totp",
    summary = "Start TOTP enrolment (a session and the password): the secret and its otpauth URI, not in force until confirmed",
    request_body = EnrolBody,
    responses((status = 200, description = "{secret, otpauth_uri, qr_svg}", body = serde_json::Value), super::Failure)
)]
pub async fn enrol_totp(State(state): State<AppState>, Authenticated(caller): Authenticated, ApiJson(body): ApiJson<EnrolBody>) -> ApiResult<Json<TotpEnrolment>> {
    Ok(Json(mfa::enrol_totp(&state.db, &state.config, &caller, body.current_password.as_deref()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCodeBody {
    #[schema(max_length = 64)]
    code: String,
}

#[derive(Serialize)]
pub struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

#[utoipa::path(
    post,
    operation_id = "confirmTotp",
    path = "/me/mfa/totp/confirm",
    summary = "Turn TOTP on with a code from the app: ten single-use recovery codes, shown this once",
    request_body = TotpCodeBody,
    responses((status = 200, description = "{recovery_codes}", body = serde_json::Value), super::Failure)
)]
pub async fn confirm_totp(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(body): ApiJson<TotpCodeBody>,
) -> ApiResult<Json<RecoveryCodes>> {
    let recovery_codes = mfa::confirm_totp(&state.db, &state.config, &caller, &body.code, &state.acting(&caller, &client)).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisableTotpBody {
    current_password: Option<String>,
    /// A current code, or a recovery code.
    #[schema(max_length = 64)]
    code: String,
}

#[utoipa::path(
    delete,
    operation_id = "disableTotp",
    path = "/me/mfa/totp",
    summary = "Turn TOTP off, with the password and a code",
    request_body = DisableTotpBody,
    responses((status = 204, description = "No content"), super::Failure)
)]
pub async fn disable_totp(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(body): ApiJson<DisableTotpBody>,
) -> ApiResult<StatusCode> {
    let by = state.acting(&caller, &client);
    mfa::disable_totp(&state.db, &state.config, &caller, body.current_password.as_deref(), &body.code, &by).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    operation_id = "listPasskeys",
    path = "/me/passkeys",
    summary = "The caller's passkeys, newest first",
    responses((status = 200, description = "{passkeys: [{id, name, created_at, last_used_at}]}", body = serde_json::Value), super::Failure)
)]
pub async fn list_passkeys(State(state): State<AppState>, Authenticated(caller): Authenticated) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(serde_json::json!({ "passkeys": passkeys::list(&state.db, &caller).await? })))
}

#[utoipa::path(
    post,
    operation_id = "startPasskeyRegistration",
    path = "/me/passkeys/register/start",
    summary = "Start registering a passkey (a session): {ceremony, options} for navigator.credentials.create",
    responses((status = 200, description = "{ceremony, options}", body = serde_json::Value), super::Failure)
)]
pub async fn start_passkey_registration(State(state): State<AppState>, Authenticated(caller): Authenticated) -> ApiResult<Json<PasskeyCeremony>> {
    Ok(Json(passkeys::register_start(&state.db, &state.public_base, &caller).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistrationBody {
    ceremony: String,
    /// The browser's answer (`PublicKeyCredential.toJSON()`).
    credential: serde_json::Value,
    /// What to call it ("Passkey" when absent).
    #[schema(value_type = Option<app::backend::schema::Name>)]
    name: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "finishPasskeyRegistration",
    path = "/me/passkeys/register/finish",
    summary = "Finish registering a passkey: the browser's answer and a name",
    request_body = PasskeyRegistrationBody,
    responses((status = 201, description = "{id, name, created_at, last_used_at}", body = serde_json::Value), super::Failure)
)]
pub async fn finish_passkey_registration(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Client(client): Client,
    ApiJson(body): ApiJson<PasskeyRegistrationBody>,
) -> ApiResult<(StatusCode, Json<PasskeyInfo>)> {
    let by = state.acting(&caller, &client);
    let name = body.name.as_deref().unwrap_or("Passkey");
    let key = passkeys::register_finish(&state.db, &state.public_base, &caller, &body.ceremony, &body.credential, name, &by).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

#[utoipa::path(
    delete,
    operation_id = "removePasskey",
    path = "/me/passkeys/{id}",
    summary = "Remove one of the caller's passkeys",
    params(("id" = String, Path, description = "Passkey id")),
    responses((status = 204, description = "No content"), super::Failure)
)]
pub async fn remove_passkey(State(state): State<AppState>, Authenticated(caller): Authenticated, Client(client): Client, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    passkeys::remove(&state.db, &caller, &id, &state.acting(&caller, &client)).await?;
    Ok(StatusCode::NO_CONTENT)
}
