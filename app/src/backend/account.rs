//! What signed-in people do to their own account: change the password, end sessions, prove
//! it is them before minting a personal key, and delete the account.

use super::api_keys::{self, Owner};
use super::auth::{record_in_orgs, Caller, Credential};
use super::db::Db;
use super::{orgs, passwords, users, Acting};
use crate::error::{ApiError, ApiResult};
use crate::model::{SessionRow, UserInfo};
use super::audit::NewEvent;

/// Checks `current_password` of the person behind a session (422 naming the field when it is
/// missing or wrong): a stolen session alone must not become a password change, a permanent
/// key or a deleted account.
pub async fn reauthenticate(db: &Db, user: &UserInfo, current_password: Option<&str>) -> ApiResult<()> {
    let Some(password) = current_password.filter(|p| !p.is_empty()) else {
        return Err(ApiError::invalid("current_password", "is required: enter your current password"));
    };
    let hash = users::find_by_email(db, &user.email).await?.map(|(_, h)| h);
    if !passwords::verify_password(password.to_owned(), hash).await {
        return Err(ApiError::invalid("current_password", "is incorrect"));
    }
    Ok(())
}

/// For a personal key minted with a session: the person must prove it is them. (No key may
/// mint keys at all; the role table refuses that before this.)
pub async fn confirm_key_creation(db: &Db, caller: &Caller, current_password: Option<&str>) -> ApiResult<()> {
    match (&caller.credential, &caller.user) {
        (Credential::Session { .. }, Some(user)) => reauthenticate(db, user, current_password).await,
        _ => Ok(()),
    }
}

/// Changes the signed-in user's password after checking the current one, signs out their
/// other sessions and revokes their personal keys: whoever knew the old password (or held
/// a key minted with it) loses access. Each revocation is audited and mailed like any other.
pub async fn change_password(db: &Db, caller: &Caller, current: &str, new: &str, by: &Acting<'_>) -> ApiResult<()> {
    let (user, session_id) = caller.session()?;
    passwords::validate_password("new_password", new)?;
    reauthenticate(db, user, Some(current)).await?;
    let new_hash = passwords::hash_password(new.to_owned()).await?;
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(&new_hash).bind(&user.id).execute(&mut *tx).await?;
    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2").bind(&user.id).bind(session_id).execute(&mut *tx).await?;
    // The keys go with the password, in one transaction: never a new password beside keys
    // that should have died with the old one.
    let owner = Owner::User(user.clone());
    let revoked = api_keys::revoke_all_in(&mut tx, &owner).await?;
    tx.commit().await?;
    api_keys::announce_revoked(db, &owner, &revoked, "the account's password was changed", by).await;
    let memberships = &caller.memberships;
    let meta = serde_json::json!({ "other_sessions_ended": ended.rows_affected(), "personal_keys_revoked": revoked.len() });
    record_in_orgs(by.audit, memberships, |org| {
        NewEvent::new(org, "auth.password_changed", by.actor.clone(), "user", Some(&user.id)).metadata(meta.clone()).client(by.client)
    })
    .await;
    Ok(())
}

/// The signed-in user's live sessions, newest first, the current one marked.
pub async fn list_sessions(db: &Db, caller: &Caller) -> ApiResult<Vec<SessionRow>> {
    let (user, current) = caller.session()?;
    super::sessions::list_for_user(db, &user.id, current).await
}

/// Ends one of the user's own sessions (`Some(id)`; another user's is 404) or all others (`None`).
/// Returns how many ended.
pub async fn revoke_sessions(db: &Db, caller: &Caller, which: Option<&str>, by: &Acting<'_>) -> ApiResult<u64> {
    let (user, current) = caller.session()?;
    let targets: Vec<SessionRow> = super::sessions::list_for_user(db, &user.id, current)
        .await?
        .into_iter()
        .filter(|s| match which {
            Some(id) => s.id == id,
            None => !s.current,
        })
        .collect();
    if which.is_some() && targets.is_empty() {
        return Err(ApiError::not_found("Session"));
    }
    let memberships = &caller.memberships;
    for s in &targets {
        super::sessions::delete(db, &s.id).await?;
        let meta = serde_json::json!({ "ip": s.ip, "user_agent": s.user_agent, "current": s.current });
        record_in_orgs(by.audit, memberships, |org| {
            NewEvent::new(org, "auth.session_revoked", by.actor.clone(), "session", Some(&s.id)).metadata(meta.clone()).client(by.client)
        })
        .await;
    }
    Ok(targets.len() as u64)
}

/// Deletes the signed-in user's account after checking their password: 409 while they are
/// the last owner of an org. Audited as `account.deleted` in each of their orgs, with their
/// name and email as they were; the trail, version history and key lists keep those copies.
pub async fn delete_account(db: &Db, caller: &Caller, current_password: Option<&str>, by: &Acting<'_>) -> ApiResult<()> {
    let (user, _) = caller.session()?;
    reauthenticate(db, user, current_password).await?;
    let memberships = &caller.memberships;
    let mut tx = db.pool().begin().await?;
    for org in memberships.iter().filter(|o| o.role == crate::model::Role::Owner) {
        // The org row's lock orders this against concurrent role changes.
        orgs::lock_org_in(&mut tx, &org.id).await?;
        orgs::ensure_another_owner(&mut tx, &org.id, &format!("deleted (you own {})", org.name)).await?;
    }
    // Memberships, sessions and personal keys go with the user (ON DELETE CASCADE).
    sqlx::query("DELETE FROM users WHERE id = $1").bind(&user.id).execute(&mut *tx).await?;
    tx.commit().await?;
    let meta = serde_json::json!({ "name": user.name, "email": user.email });
    record_in_orgs(by.audit, memberships, |org| {
        NewEvent::new(org, "account.deleted", by.actor.clone(), "user", Some(&user.id)).metadata(meta.clone()).client(by.client)
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::audit::Recorder;
    use crate::backend::auth::login;
    use crate::backend::sessions::{self, ClientInfo};
    use crate::backend::testing::test_databases;
    use crate::error::ErrorKind;
    use std::sync::Arc;

    /// Password change checks the old password, signs the other sessions out, revokes the
    /// personal keys, and is audited;
    /// a user can end their own sessions, never another user's.
    #[tokio::test]
    async fn password_change_and_session_revocation() {
        for (backend, db) in test_databases().await {
            let audit = Recorder::start(db.clone(), Arc::new(|| {}));
            let client = ClientInfo { ip: Some("127.0.0.1".into()), user_agent: Some("test".into()) };
            let ada = users::create_user(&db, "ada@acme.test", "Ada", "first-password").await.unwrap();
            let org = orgs::create_org(&db, "Acme", &ada.id).await.unwrap();
            users::create_user(&db, "eve@acme.test", "Eve", "eve-password").await.unwrap();
            let mut sessions_of = Vec::new();
            for _ in 0..3 {
                let (_, token) = login(&db, &audit, "ada@acme.test", "first-password", &client).await.unwrap().session().unwrap();
                sessions_of.push(sessions::lookup(&db, &token).await.unwrap().unwrap().0);
            }
            let (_, eve_token) = login(&db, &audit, "eve@acme.test", "eve-password", &client).await.unwrap().session().unwrap();
            let eve_session = sessions::lookup(&db, &eve_token).await.unwrap().unwrap().0;
            let me = Caller { user: Some(ada.clone()), credential: Credential::Session { id: sessions_of[0].clone() }, memberships: orgs::orgs_of_user(&db, &ada.id).await.unwrap(), second_factor: false };
            let by = Acting { actor: me.actor(), client: &client, audit: &audit };

            let listed = list_sessions(&db, &me).await.unwrap();
            assert_eq!(listed.len(), 3, "[{backend}]");
            assert_eq!(listed.iter().filter(|s| s.current).count(), 1);

            // Another user's session is not found; one of mine ends.
            assert_eq!(revoke_sessions(&db, &me, Some(&eve_session), &by).await.unwrap_err().code, ErrorKind::NotFound);
            assert_eq!(revoke_sessions(&db, &me, Some(&sessions_of[1]), &by).await.unwrap(), 1);
            assert_eq!(list_sessions(&db, &me).await.unwrap().len(), 2);

            let wrong = change_password(&db, &me, "not-it", "second-password", &by).await.unwrap_err();
            assert_eq!(wrong.field.as_deref(), Some("current_password"), "[{backend}]");
            let key = api_keys::create(&db, &Owner::User(ada.clone()), &ada, api_keys::NewKey { name: "laptop".into(), scopes: vec!["workflows:read".into()], expires_at: None }, &by).await.unwrap();
            let short = change_password(&db, &me, "first-password", "short", &by).await.unwrap_err();
            assert_eq!(short.field.as_deref(), Some("new_password"));
            change_password(&db, &me, "first-password", "second-password", &by).await.unwrap();
            // Only this session is left; the new password works, the old one does not.
            assert_eq!(list_sessions(&db, &me).await.unwrap().len(), 1);
            assert!(login(&db, &audit, "ada@acme.test", "first-password", &client).await.is_err());
            assert!(login(&db, &audit, "ada@acme.test", "second-password", &client).await.is_ok());
            assert!(sessions::lookup(&db, &eve_token).await.unwrap().is_some(), "Eve is untouched");
            let err = api_keys::authenticate(&db, &key.secret).await.unwrap_err();
            assert_eq!(err.code, ErrorKind::Unauthorized, "[{backend}] the personal key is revoked");

            audit.shutdown().await;
            let filter = super::super::audit::store::Filter {
                actions: vec!["auth.password_changed".into(), "auth.session_revoked".into()],
                ..Default::default()
            };
            let page = super::super::audit::store::list(&db, Some(&org.id), &filter, None, None).await.unwrap();
            let actions: Vec<&str> = page.events.iter().map(|e| e.action.as_str()).collect();
            assert_eq!(actions, ["auth.password_changed", "auth.session_revoked"], "[{backend}]");
            assert_eq!(page.events[0].metadata["other_sessions_ended"], 1);
            assert_eq!(page.events[0].metadata["personal_keys_revoked"], 1);
            let stored = format!("{:?}", page.events);
            assert!(!stored.contains("second-password") && !stored.contains("first-password"));
        }
    }
}
