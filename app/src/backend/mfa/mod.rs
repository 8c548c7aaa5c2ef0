//! Second factors: TOTP with recovery codes, and the sign-in step between a right password
//! and a session. A password alone opens no session for an account with a second factor: it
//! answers a challenge (5 minutes, usable until it succeeds), which the code completes.
//! Wrong codes are throttled like passwords, against the same account slots.

pub mod passkeys;
pub mod recovery;
pub mod totp;

use super::account::reauthenticate;
use super::audit::{NewEvent, Recorder};
use super::auth::{record_in_orgs, Caller};
use super::db::{format_time, new_id, now, Db};
use super::sessions::{self, hash_token, random_token, ClientInfo};
use super::{orgs, throttle, Acting, Config};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::{Actor, MfaStatus, SessionInfo, TotpEnrolment, UserInfo};
use serde_json::json;

const CHALLENGE_MINUTES: i64 = 5;

/// Whether the user has TOTP turned on (then a password alone signs in no more). Whether a
/// session's person has any second factor, a passkey included, is read with the session
/// (`sessions::lookup`).
pub async fn has_totp(db: &Db, user_id: &str) -> ApiResult<bool> {
    let row: Option<(String,)> = sqlx::query_as("SELECT user_id FROM user_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL")
        .bind(user_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.is_some())
}


pub async fn status(db: &Db, caller: &Caller) -> ApiResult<MfaStatus> {
    let user = caller.person()?;
    Ok(MfaStatus { totp_enabled: has_totp(db, &user.id).await?, recovery_codes_left: recovery::left(db, &user.id).await? })
}

/// Starts TOTP enrolment (session only, with the password): a new secret, not yet in force.
/// Starting again replaces an unconfirmed one; with TOTP on, 409.
pub async fn enrol_totp(db: &Db, config: &Config, caller: &Caller, current_password: Option<&str>) -> ApiResult<TotpEnrolment> {
    let (user, _) = caller.session()?;
    reauthenticate(db, user, current_password).await?;
    if has_totp(db, &user.id).await? {
        return Err(ApiError::conflict("Two-step sign-in is already on. Turn it off first to enrol a new app."));
    }
    let (secret, otpauth_uri) = totp::generate(&user.email)?;
    let mut tx = db.pool().begin().await?;
    sqlx::query("DELETE FROM user_totp WHERE user_id = $1 AND confirmed_at IS NULL").bind(&user.id).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO user_totp (user_id, secret, last_step) VALUES ($1, $2, 0)")
        .bind(&user.id)
        .bind(totp::seal(config, &user.id, &secret))
        .execute(&mut *tx)
        .await
        .map_err(|e| if super::db::is_unique_violation(&e) { ApiError::conflict("Two-step sign-in is already on.") } else { e.into() })?;
    tx.commit().await?;
    Ok(TotpEnrolment { qr_svg: qr_svg(&otpauth_uri), secret, otpauth_uri })
}

/// The otpauth URI as a QR code, in SVG.
fn qr_svg(uri: &str) -> String {
    qrcode::QrCode::new(uri.as_bytes())
        .map(|code| code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build())
        .unwrap_or_default()
}

/// Turns TOTP on with a code from the new app: answers ten recovery codes, shown this once.
pub async fn confirm_totp(db: &Db, config: &Config, caller: &Caller, code: &str, by: &Acting<'_>) -> ApiResult<Vec<String>> {
    let (user, _) = caller.session()?;
    let slots = throttle::take(db, &throttle::Attempt::new(&user.email, by.client.ip.as_deref())).await?;
    if !totp::accept(db, config, &user.id, code, false).await? {
        return Err(if has_totp(db, &user.id).await? {
            ApiError::conflict("Two-step sign-in is already on.")
        } else {
            ApiError::invalid("code", "is not the code your app shows now (start again if you have not scanned the new QR code)")
        });
    }
    slots.give_back(db).await?;
    let codes = recovery::generate();
    let mut tx = db.pool().begin().await?;
    let turned_on = sqlx::query("UPDATE user_totp SET confirmed_at = $1 WHERE user_id = $2 AND confirmed_at IS NULL")
        .bind(now())
        .bind(&user.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if turned_on == 0 {
        return Err(ApiError::conflict("Two-step sign-in is already on."));
    }
    recovery::store(&mut tx, &user.id, &codes).await?;
    tx.commit().await?;
    record_in_orgs(by.audit, &caller.memberships, |org| {
        NewEvent::new(org, "auth.mfa_enabled", by.actor.clone(), "user", Some(&user.id)).metadata(json!({ "method": "totp" })).client(by.client)
    })
    .await;
    Ok(codes)
}

/// Turns TOTP off, with the password and a current code (or a recovery code).
pub async fn disable_totp(db: &Db, config: &Config, caller: &Caller, current_password: Option<&str>, code: &str, by: &Acting<'_>) -> ApiResult<()> {
    let (user, _) = caller.session()?;
    reauthenticate(db, user, current_password).await?;
    if !has_totp(db, &user.id).await? {
        return Err(ApiError::conflict("Two-step sign-in is not on."));
    }
    let slots = throttle::take(db, &throttle::Attempt::new(&user.email, by.client.ip.as_deref())).await?;
    let accepted = totp::accept(db, config, &user.id, code, true).await? || recovery::redeem(db, &user.id, code).await?;
    if !accepted {
        return Err(ApiError::invalid("code", "is not your current code or one of your recovery codes"));
    }
    slots.give_back(db).await?;
    let mut tx = db.pool().begin().await?;
    sqlx::query("DELETE FROM user_totp WHERE user_id = $1").bind(&user.id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(&user.id).execute(&mut *tx).await?;
    tx.commit().await?;
    record_in_orgs(by.audit, &caller.memberships, |org| {
        NewEvent::new(org, "auth.mfa_disabled", by.actor.clone(), "user", Some(&user.id)).metadata(json!({ "method": "totp" })).client(by.client)
    })
    .await;
    Ok(())
}

/// After the right password of an account with a second factor: a challenge for the code.
pub(super) async fn start_challenge(db: &Db, user_id: &str) -> ApiResult<String> {
    let token = random_token();
    let expires = chrono::Utc::now() + chrono::Duration::minutes(CHALLENGE_MINUTES);
    sqlx::query("INSERT INTO mfa_challenges (id, token_hash, user_id, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(new_id())
        .bind(hash_token(&token))
        .bind(user_id)
        .bind(format_time(expires))
        .execute(db.pool())
        .await?;
    Ok(token)
}

/// Removes challenges past their expiry (housekeeping).
pub async fn purge_expired(db: &Db) -> ApiResult<u64> {
    Ok(sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1").bind(now()).execute(db.pool()).await?.rows_affected())
}

/// The second step's proof: a code from the app, or a recovery code.
pub enum Proof<'a> {
    Code(&'a str),
    RecoveryCode(&'a str),
}

/// Completes a sign-in: the challenge and a code (or a recovery code) open a session, once.
/// A wrong code is 401 and leaves the challenge usable; a spent or expired challenge is 401
/// saying to start again.
pub async fn complete(db: &Db, config: &Config, audit: &Recorder, challenge: &str, proof: Proof<'_>, client: &ClientInfo) -> ApiResult<(SessionInfo, String)> {
    let start_again = || ApiError::new(ErrorKind::Unauthorized, "This sign-in has expired or is finished. Enter your email and password again.");
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.id, u.id, u.email, u.name FROM mfa_challenges c JOIN users u ON u.id = c.user_id \
         WHERE c.token_hash = $1 AND c.used_at IS NULL AND c.expires_at > $2",
    )
    .bind(hash_token(challenge))
    .bind(now())
    .fetch_optional(db.pool())
    .await?;
    let (challenge_id, id, email, name) = row.ok_or_else(start_again)?;
    let user = UserInfo { id, email, name };
    let memberships = orgs::orgs_of_user(db, &user.id).await?;
    let actor = Actor::user(&user);
    let record = |action: &'static str, meta: serde_json::Value| {
        let (actor, memberships, user_id) = (&actor, &memberships, &user.id);
        async move {
            record_in_orgs(audit, memberships, |org| NewEvent::new(org, action, actor.clone(), "user", Some(user_id)).metadata(meta.clone()).client(client)).await
        }
    };
    let slots = match throttle::take(db, &throttle::Attempt::new(&user.email, client.ip.as_deref())).await {
        Ok(slots) => slots,
        Err(blocked) => {
            record("auth.login_blocked", json!({ "email": user.email, "retry_after_s": blocked.retry_after, "step": "second_factor" })).await;
            return Err(blocked);
        }
    };
    let (accepted, method) = match proof {
        Proof::Code(code) => (totp::accept(db, config, &user.id, code, true).await?, "password+totp"),
        Proof::RecoveryCode(code) => (recovery::redeem(db, &user.id, code).await?, "recovery_code"),
    };
    if !accepted {
        record("auth.mfa_failed", json!({ "method": method })).await;
        return Err(ApiError::new(ErrorKind::Unauthorized, "That code is not right, or it was already used. Try the code your app shows now."));
    }
    // Of two right answers at once, one finishes the challenge.
    let finished = sqlx::query("UPDATE mfa_challenges SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
        .bind(now())
        .bind(&challenge_id)
        .execute(db.pool())
        .await?
        .rows_affected();
    if finished == 0 {
        return Err(start_again());
    }
    slots.give_back(db).await?;
    let token = sessions::create(db, &user.id, client).await?;
    if method == "recovery_code" {
        let left = recovery::left(db, &user.id).await?;
        record("auth.recovery_code_used", json!({ "recovery_codes_left": left })).await;
    }
    record("auth.login", json!({ "method": method })).await;
    Ok((SessionInfo { user, orgs: memberships }, token))
}
