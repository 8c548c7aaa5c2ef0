use super::{ApiJson, Authenticated, Client};
use app::backend::auth::SignIn;
use app::backend::mfa::{self, passkeys, Proof};
use app::backend::{auth, sessions, AppState};
use app::error::ApiResult;
use app::model::{LoginStep, PasskeyCeremony, SessionInfo};
use axum::extract::State;
use axum::http::{header::SET_COOKIE, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[schema(max_length = 254)]
    email: String,
    password: String,
}

#[utoipa::path(
    post,
    operation_id = "login",
    path = "/auth/login",
    summary = "Sign in: the user and their orgs, and the session cookie; or, for an account with a second factor, {mfa_required, challenge} and no session",
    request_body = LoginBody,
    responses((status = 200, description = "{user, orgs} or {mfa_required: true, challenge}", body = serde_json::Value), super::Failure)
)]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Response> {
    Ok(match auth::login(&state.db, &state.audit, &body.email, &body.password, &client).await? {
        SignIn::Session(info, token) => signed_in(&state, &headers, info, &token),
        SignIn::SecondFactor { challenge } => Json(LoginStep::SecondFactor { mfa_required: true, challenge }).into_response(),
    })
}

/// A finished sign-in: the user and orgs, and the session cookie.
fn signed_in(state: &AppState, headers: &HeaderMap, info: SessionInfo, token: &str) -> Response {
    ([(SET_COOKIE, sessions::set_cookie(token, headers, &state.config))], Json(info)).into_response()
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaBody {
    challenge: String,
    /// The 6-digit code of the authenticator app.
    #[schema(max_length = 64)]
    code: Option<String>,
    /// One of the recovery codes (instead of `code`).
    #[schema(max_length = 64)]
    recovery_code: Option<String>,
}

#[utoipa::path(
    post,
    operation_id = "completeSignIn",
    path = "/auth/mfa",
    summary = "The second step of a sign-in: the challenge and a code (or a recovery code); answers like a login",
    request_body = MfaBody,
    responses((status = 200, description = "{user, orgs} and the session cookie", body = serde_json::Value), super::Failure)
)]
/// A wrong code is 401 and the challenge stays usable (5 minutes from the password).
pub async fn complete_mfa(State(state): State<AppState>, headers: HeaderMap, Client(client): Client, ApiJson(body): ApiJson<MfaBody>) -> ApiResult<Response> {
    // One proof: the code when given, else the recovery code. None is a wrong code (401 for
    // a live challenge), so a malformed second step reads like a failed one.
    let proof = match (&body.code, &body.recovery_code) {
        (Some(code), _) => Proof::Code(code),
        (None, Some(code)) => Proof::RecoveryCode(code),
        (None, None) => Proof::Code(""),
    };
    let (info, token) = mfa::complete(&state.db, &state.config, &state.audit, &body.challenge, proof, &client).await?;
    Ok(signed_in(&state, &headers, info, &token))
}

#[utoipa::path(
    post,
    operation_id = "logout",
    path = "/auth/logout",
    summary = "Sign out (ends the session, clears the cookie)",
    responses((status = 204, description = "No content"), super::Failure)
)]
/// Ends the session, if there is one; always clears the cookie.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, Client(client): Client) -> ApiResult<impl IntoResponse> {
    if let Some(caller) = auth::authenticate(&state.db, &headers).await? {
        auth::logout(&state.db, &state.audit, &caller, &client).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, sessions::clear_cookie(&headers, &state.config))]))
}

#[utoipa::path(
    get,
    operation_id = "getMe",
    path = "/me",
    summary = "The caller: user and orgs",
    responses((status = 200, description = "OK", body = serde_json::Value), super::Failure)
)]
pub async fn me(Authenticated(caller): Authenticated) -> ApiResult<Json<SessionInfo>> {
    auth::session_info(&caller).map(Json)
}

#[utoipa::path(
    post,
    operation_id = "startPasskeySignIn",
    path = "/auth/passkey/start",
    summary = "Start a sign-in with a passkey (no email, no password): {ceremony, options} for navigator.credentials.get",
    responses((status = 200, description = "{ceremony, options}", body = serde_json::Value), super::Failure)
)]
pub async fn start_passkey(State(state): State<AppState>) -> ApiResult<Json<PasskeyCeremony>> {
    Ok(Json(passkeys::sign_in_start(&state.db, &state.public_base).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignInBody {
    ceremony: String,
    /// The browser's answer (`PublicKeyCredential.toJSON()`).
    credential: serde_json::Value,
}

#[utoipa::path(
    post,
    operation_id = "finishPasskeySignIn",
    path = "/auth/passkey/finish",
    summary = "Finish a passkey sign-in; answers like a login (a passkey counts as two factors)",
    request_body = PasskeySignInBody,
    responses((status = 200, description = "{user, orgs} and the session cookie", body = serde_json::Value), super::Failure)
)]
pub async fn finish_passkey(State(state): State<AppState>, headers: HeaderMap, Client(client): Client, ApiJson(body): ApiJson<PasskeySignInBody>) -> ApiResult<Response> {
    let (info, token) = passkeys::sign_in_finish(&state.db, &state.public_base, &state.audit, &body.ceremony, &body.credential, &client).await?;
    Ok(signed_in(&state, &headers, info, &token))
}
