//! Passkeys (WebAuthn, `webauthn-rs`): registered from the Account page, and a sign-in with
//! no password, which counts as two factors. The relying party is the host of the public URL
//! (`CHRONICLE_PUBLIC_URL`; browsers refuse IP addresses). A ceremony's state waits in the
//! database for its second half, so any instance may finish what another started, once.

use super::super::audit::{NewEvent, Recorder};
use super::super::auth::{record_in_orgs, Caller};
use super::super::db::{format_time, new_id, now, Db};
use super::super::sessions::{self, hash_token, random_token, ClientInfo};
use super::super::{orgs, users, Acting};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::{Actor, PasskeyCeremony, PasskeyInfo as PasskeyRow, SessionInfo};
use serde_json::json;
use webauthn_rs::prelude::*;

const CEREMONY_MINUTES: i64 = 5;
/// The most passkeys one person keeps.
const MAX_PER_USER: i64 = 20;

/// The relying party of `public_base` (`http(s)://host[:port]`): its host is the id, the URL
/// the one origin accepted.
pub fn relying_party(public_base: &str) -> ApiResult<Webauthn> {
    let origin = Url::parse(public_base).map_err(|_| ApiError::internal())?;
    let host = origin.host_str().ok_or_else(ApiError::internal)?.to_owned();
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name("Chronicle").build())
        .map_err(|e| {
            tracing::error!(error = %e, public_base, "passkeys: no relying party for this public URL");
            // The server's setting, not the request, is at fault: a conflict, never a 5xx.
            ApiError::conflict("Passkeys are not available here: Chronicle must be reached by a host name (CHRONICLE_PUBLIC_URL), not an IP address.")
        })
}

fn user_uuid(user_id: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(user_id).map_err(|_| ApiError::internal())
}

/// Stores a ceremony's state; answers its token and the options for the browser.
async fn begin(db: &Db, user_id: Option<&str>, kind: &str, state: impl serde::Serialize, options: impl serde::Serialize) -> ApiResult<PasskeyCeremony> {
    let token = random_token();
    let expires = chrono::Utc::now() + chrono::Duration::minutes(CEREMONY_MINUTES);
    sqlx::query("INSERT INTO webauthn_ceremonies (id, token_hash, user_id, kind, state, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(new_id())
        .bind(hash_token(&token))
        .bind(user_id)
        .bind(kind)
        .bind(serde_json::to_string(&state).map_err(|_| ApiError::internal())?)
        .bind(format_time(expires))
        .execute(db.pool())
        .await?;
    Ok(PasskeyCeremony { ceremony: token, options: serde_json::to_value(options).map_err(|_| ApiError::internal())? })
}

/// Takes a ceremony's state, once: of two finishes at once, one gets it.
async fn take<S: serde::de::DeserializeOwned>(db: &Db, token: &str, kind: &str, user_id: Option<&str>) -> ApiResult<S> {
    let expired = || ApiError::new(ErrorKind::Unauthorized, "This passkey request has expired or was used. Try again.");
    let row: Option<(String, Option<String>, String)> = sqlx::query_as(
        "SELECT id, user_id, state FROM webauthn_ceremonies WHERE token_hash = $1 AND kind = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(hash_token(token))
    .bind(kind)
    .bind(now())
    .fetch_optional(db.pool())
    .await?;
    let (id, owner, state) = row.ok_or_else(expired)?;
    if owner.as_deref() != user_id {
        return Err(expired());
    }
    let taken = sqlx::query("UPDATE webauthn_ceremonies SET used_at = $1 WHERE id = $2 AND used_at IS NULL").bind(now()).bind(&id).execute(db.pool()).await?.rows_affected();
    if taken == 0 {
        return Err(expired());
    }
    serde_json::from_str(&state).map_err(|_| ApiError::internal())
}

fn refused(why: impl std::fmt::Display) -> ApiError {
    tracing::info!(reason = %why, "passkey refused");
    ApiError::new(ErrorKind::Unauthorized, "The passkey could not be verified. Try again, or sign in with your password.")
}

/// Starts registering a passkey for the signed-in person (a session, not a key).
pub async fn register_start(db: &Db, public_base: &str, caller: &Caller) -> ApiResult<PasskeyCeremony> {
    let (user, _) = caller.session()?;
    let existing = stored(db, &user.id).await?;
    if existing.len() as i64 >= MAX_PER_USER {
        return Err(ApiError::conflict(format!("You have {MAX_PER_USER} passkeys: remove one first.")));
    }
    let exclude = existing.iter().map(|(_, key)| key.cred_id().clone()).collect();
    let (options, state) =
        relying_party(public_base)?.start_passkey_registration(user_uuid(&user.id)?, &user.email, &user.name, Some(exclude)).map_err(refused)?;
    let mut ceremony = begin(db, Some(&user.id), "register", state, options).await?;
    // A discoverable credential: signing in with it needs no email typed.
    ceremony.options["publicKey"]["authenticatorSelection"]["residentKey"] = json!("required");
    ceremony.options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(true);
    Ok(ceremony)
}

/// Finishes registering: the browser's answer to the options, and a name for the passkey.
pub async fn register_finish(db: &Db, public_base: &str, caller: &Caller, ceremony: &str, credential: &serde_json::Value, name: &str, by: &Acting<'_>) -> ApiResult<PasskeyRow> {
    let (user, _) = caller.session()?;
    let name = users::validate_name("name", name)?;
    let state: PasskeyRegistration = take(db, ceremony, "register", Some(&user.id)).await?;
    let answer: RegisterPublicKeyCredential = serde_json::from_value(credential.clone()).map_err(|e| ApiError::invalid("credential", format!("is not a WebAuthn registration: {e}")))?;
    let key = relying_party(public_base)?.finish_passkey_registration(&answer, &state).map_err(refused)?;
    let row = PasskeyRow { id: new_id(), name, created_at: now(), last_used_at: None };
    sqlx::query("INSERT INTO passkeys (id, user_id, credential_id, name, passkey, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&row.id)
        .bind(&user.id)
        .bind(hex::encode::<&[u8]>(key.cred_id().as_ref()))
        .bind(&row.name)
        .bind(serde_json::to_string(&key).map_err(|_| ApiError::internal())?)
        .bind(&row.created_at)
        .execute(db.pool())
        .await
        .map_err(|e| if super::super::db::is_unique_violation(&e) { ApiError::conflict("This passkey is registered already.") } else { e.into() })?;
    record_in_orgs(by.audit, &caller.memberships, |org| {
        NewEvent::new(org, "auth.passkey_added", by.actor.clone(), "passkey", Some(&row.id)).metadata(json!({ "name": row.name })).client(by.client)
    })
    .await;
    Ok(row)
}

/// The user's passkeys as stored: `(id, key)`.
async fn stored(db: &Db, user_id: &str) -> ApiResult<Vec<(String, Passkey)>> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, passkey FROM passkeys WHERE user_id = $1").bind(user_id).fetch_all(db.pool()).await?;
    rows.into_iter().map(|(id, key)| Ok((id, serde_json::from_str(&key).map_err(|_| ApiError::internal())?))).collect()
}

/// The signed-in person's passkeys, newest first.
pub async fn list(db: &Db, caller: &Caller) -> ApiResult<Vec<PasskeyRow>> {
    let user = caller.person()?;
    let rows: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = $1 ORDER BY created_at DESC, id DESC")
            .bind(&user.id)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(|(id, name, created_at, last_used_at)| PasskeyRow { id, name, created_at, last_used_at }).collect())
}

/// Removes one of the signed-in person's passkeys (another's is 404).
pub async fn remove(db: &Db, caller: &Caller, id: &str, by: &Acting<'_>) -> ApiResult<()> {
    let (user, _) = caller.session()?;
    let row: Option<(String,)> = sqlx::query_as("DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name").bind(id).bind(&user.id).fetch_optional(db.pool()).await?;
    let (name,) = row.ok_or_else(|| ApiError::not_found("Passkey"))?;
    record_in_orgs(by.audit, &caller.memberships, |org| {
        NewEvent::new(org, "auth.passkey_removed", by.actor.clone(), "passkey", Some(id)).metadata(json!({ "name": name })).client(by.client)
    })
    .await;
    Ok(())
}

/// Starts a sign-in with a passkey: no email; the browser offers the passkeys it has here.
pub async fn sign_in_start(db: &Db, public_base: &str) -> ApiResult<PasskeyCeremony> {
    let (mut options, state) = relying_party(public_base)?.start_discoverable_authentication().map_err(refused)?;
    // A button press, not the autofill ("conditional") flow webauthn-rs prepares.
    options.mediation = None;
    begin(db, None, "sign_in", state, options).await
}

/// Finishes a passkey sign-in: a session, recorded as `auth.login` with `method: passkey`.
pub async fn sign_in_finish(db: &Db, public_base: &str, audit: &Recorder, ceremony: &str, credential: &serde_json::Value, client: &ClientInfo) -> ApiResult<(SessionInfo, String)> {
    let state: DiscoverableAuthentication = take(db, ceremony, "sign_in", None).await?;
    let answer: PublicKeyCredential = serde_json::from_value(credential.clone()).map_err(|e| ApiError::invalid("credential", format!("is not a WebAuthn assertion: {e}")))?;
    let rp = relying_party(public_base)?;
    let (user_handle, credential_id) = rp.identify_discoverable_authentication(&answer).map_err(refused)?;
    let row: Option<(String, String, String, String, String)> = sqlx::query_as(
        "SELECT p.id, p.passkey, u.id, u.email, u.name FROM passkeys p JOIN users u ON u.id = p.user_id WHERE p.credential_id = $1",
    )
    .bind(hex::encode(credential_id))
    .fetch_optional(db.pool())
    .await?;
    let (passkey_id, key, user_id, email, name) = row.ok_or_else(|| refused("unknown credential"))?;
    if user_handle != user_uuid(&user_id)? {
        return Err(refused("the user handle is not the credential's user"));
    }
    let mut key: Passkey = serde_json::from_str(&key).map_err(|_| ApiError::internal())?;
    let result = rp.finish_discoverable_authentication_v2(&answer, state, &key).map_err(refused)?;
    // The signature counter moves on (a cloned authenticator shows as a counter gone back).
    if key.update_credential(&result) == Some(true) {
        sqlx::query("UPDATE passkeys SET passkey = $1 WHERE id = $2").bind(serde_json::to_string(&key).map_err(|_| ApiError::internal())?).bind(&passkey_id).execute(db.pool()).await?;
    }
    sqlx::query("UPDATE passkeys SET last_used_at = $1 WHERE id = $2").bind(now()).bind(&passkey_id).execute(db.pool()).await?;
    let user = crate::model::UserInfo { id: user_id, email, name };
    let token = sessions::create(db, &user.id, client).await?;
    let memberships = orgs::orgs_of_user(db, &user.id).await?;
    let actor = Actor::user(&user);
    record_in_orgs(audit, &memberships, |org| {
        NewEvent::new(org, "auth.login", actor.clone(), "user", Some(&user.id)).metadata(json!({ "method": "passkey", "passkey_id": passkey_id })).client(client)
    })
    .await;
    Ok((SessionInfo { user, orgs: memberships }, token))
}

/// Removes ceremonies past their expiry (housekeeping).
pub async fn purge_expired(db: &Db) -> ApiResult<u64> {
    Ok(sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1").bind(now()).execute(db.pool()).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_public_host() {
        assert!(relying_party("http://localhost:3100").is_ok());
        assert!(relying_party("https://chronicle.example").is_ok());
        // What the browser would refuse anyway.
        assert!(relying_party("not a url").is_err());
    }
}
