//! Who is calling: the one place a request's credentials become a [`Caller`], and the
//! account operations that act on credentials (login, logout, password, sessions).

use super::api_keys::{self, KeyIdentity};
use super::audit::{NewEvent, Recorder};
use super::db::Db;
use super::sessions::{self, ClientInfo};
use super::{orgs, passwords, users, Acting};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::{Actor, SessionInfo, SessionRow, UserInfo};
use axum::http::HeaderMap;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The person acting: a session's user or a personal key's user; `None` for an org key.
    pub user: Option<UserInfo>,
    pub credential: Credential,
}

#[derive(Debug, Clone)]
pub enum Credential {
    Session { id: String },
    ApiKey(KeyIdentity),
}

impl Caller {
    /// How the audit trail and version history name this caller: a key by its name and
    /// display (and its user, for a personal key), so "with which key?" has an answer.
    pub fn actor(&self) -> Actor {
        match (&self.credential, &self.user) {
            (Credential::ApiKey(key), user) => Actor {
                kind: "api_key".into(),
                id: Some(key.id.clone()),
                label: format!("{} ({})", key.name, key.display),
                name: user.as_ref().map(|u| u.name.clone()),
                email: user.as_ref().map(|u| u.email.clone()),
            },
            (Credential::Session { .. }, Some(user)) => Actor::user(user),
            (Credential::Session { .. }, None) => Actor { kind: "anonymous".into(), id: None, label: "Anonymous".into(), name: None, email: None },
        }
    }

    /// The person behind a personal key or a session; an org key is no one (403).
    pub fn person(&self) -> ApiResult<&UserInfo> {
        self.user.as_ref().ok_or_else(|| ApiError::new(ErrorKind::Forbidden, "An org API key acts for its org, not for a person."))
    }

    /// The signed-in user and their session: account changes need a person at a browser.
    pub fn session(&self) -> ApiResult<(&UserInfo, &str)> {
        match (&self.credential, &self.user) {
            (Credential::Session { id }, Some(user)) => Ok((user, id)),
            _ => Err(ApiError::new(ErrorKind::Forbidden, "API keys cannot do this; sign in instead.")),
        }
    }
}

/// The caller behind the request's credentials: a bearer API key if the request carries one
/// (a bad key is a 401 that says why, never a fall-back to the cookie), else the session
/// cookie. `None` when it carries neither or the session is not valid.
pub async fn authenticate(db: &Db, headers: &HeaderMap) -> ApiResult<Option<Caller>> {
    if let Some(secret) = api_keys::bearer(headers) {
        let key = api_keys::authenticate(db, &secret).await?;
        return Ok(Some(Caller { user: key.user.clone(), credential: Credential::ApiKey(key) }));
    }
    let Some(token) = sessions::token_from_headers(headers) else { return Ok(None) };
    Ok(sessions::lookup(db, &token)
        .await?
        .map(|(id, user)| Caller { user: Some(user), credential: Credential::Session { id } }))
}

pub async fn require_caller(db: &Db, headers: &HeaderMap) -> ApiResult<Caller> {
    authenticate(db, headers).await?.ok_or_else(ApiError::unauthorized)
}

/// Checks the password and opens a session. Unknown email and wrong password answer alike,
/// in the same time. Both outcomes are audited in every org of the user concerned.
pub async fn login(db: &Db, audit: &Recorder, email: &str, password: &str, client: &ClientInfo) -> ApiResult<(SessionInfo, String)> {
    let found = users::find_by_email(db, email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let ok = passwords::verify_password(password.to_owned(), hash).await;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        (_, user) => {
            let attempted = Actor { kind: "anonymous".into(), id: None, label: "Anonymous".into(), name: None, email: None };
            let orgs = match &user {
                Some(u) => orgs::orgs_of_user(db, &u.id).await?,
                None => Vec::new(),
            };
            let event = |org: Option<&str>| {
                NewEvent::new(org, "auth.login_failed", attempted.clone(), "user", user.as_ref().map(|u| u.id.as_str()))
                    .metadata(serde_json::json!({ "email": email.trim() }))
                    .client(client)
            };
            record_in_orgs(audit, &orgs, event);
            return Err(ApiError::new(ErrorKind::Unauthorized, "Email or password is incorrect."));
        }
    };
    let token = sessions::create(db, &user.id, client).await?;
    let orgs = orgs::orgs_of_user(db, &user.id).await?;
    record_in_orgs(audit, &orgs, |org| NewEvent::new(org, "auth.login", Actor::user(&user), "user", Some(&user.id)).client(client));
    Ok((SessionInfo { user, orgs }, token))
}

/// Ends the caller's session (a key has none to end).
pub async fn logout(db: &Db, audit: &Recorder, caller: &Caller, client: &ClientInfo) -> ApiResult<()> {
    let Ok((user, session_id)) = caller.session() else { return Ok(()) };
    sessions::delete(db, session_id).await?;
    let orgs = orgs::orgs_of_user(db, &user.id).await?;
    record_in_orgs(audit, &orgs, |org| NewEvent::new(org, "auth.logout", caller.actor(), "user", Some(&user.id)).client(client));
    Ok(())
}

/// Changes the signed-in user's password after checking the current one, and signs out
/// their other sessions: whoever knew the old password loses access.
pub async fn change_password(db: &Db, caller: &Caller, current: &str, new: &str, by: &Acting<'_>) -> ApiResult<()> {
    let (user, session_id) = caller.session()?;
    passwords::validate_password("new_password", new)?;
    let hash = users::find_by_email(db, &user.email).await?.map(|(_, h)| h);
    if !passwords::verify_password(current.to_owned(), hash).await {
        return Err(ApiError::invalid("current_password", "is not your current password"));
    }
    let new_hash = passwords::hash_password(new.to_owned()).await?;
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(&new_hash).bind(&user.id).execute(&mut *tx).await?;
    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2").bind(&user.id).bind(session_id).execute(&mut *tx).await?;
    tx.commit().await?;
    let orgs = orgs::orgs_of_user(db, &user.id).await?;
    let meta = serde_json::json!({ "other_sessions_ended": ended.rows_affected() });
    record_in_orgs(by.audit, &orgs, |org| {
        NewEvent::new(org, "auth.password_changed", by.actor.clone(), "user", Some(&user.id)).metadata(meta.clone()).client(by.client)
    });
    Ok(())
}

/// The signed-in user's live sessions, newest first, the current one marked.
pub async fn list_sessions(db: &Db, caller: &Caller) -> ApiResult<Vec<SessionRow>> {
    let (user, current) = caller.session()?;
    sessions::list_for_user(db, &user.id, current).await
}

/// Ends one of the user's own sessions (`Some(id)`; another user's is 404) or all others (`None`).
/// Returns how many ended.
pub async fn revoke_sessions(db: &Db, caller: &Caller, which: Option<&str>, by: &Acting<'_>) -> ApiResult<u64> {
    let (user, current) = caller.session()?;
    let targets: Vec<SessionRow> = sessions::list_for_user(db, &user.id, current)
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
    let orgs = orgs::orgs_of_user(db, &user.id).await?;
    for s in &targets {
        sessions::delete(db, &s.id).await?;
        let meta = serde_json::json!({ "ip": s.ip, "user_agent": s.user_agent, "current": s.current });
        record_in_orgs(by.audit, &orgs, |org| {
            NewEvent::new(org, "auth.session_revoked", by.actor.clone(), "session", Some(&s.id)).metadata(meta.clone()).client(by.client)
        });
    }
    Ok(targets.len() as u64)
}

/// Identity events belong to every org of the user, so each org's owners see them; a user in
/// no org (or an unknown email) gets one event outside any org.
fn record_in_orgs(audit: &Recorder, orgs: &[crate::model::OrgMembership], event: impl Fn(Option<&str>) -> NewEvent) {
    if orgs.is_empty() {
        audit.record(event(None));
    }
    for org in orgs {
        audit.record(event(Some(&org.id)));
    }
}

pub async fn session_info(db: &Db, caller: &Caller) -> ApiResult<SessionInfo> {
    let user = caller.person()?;
    Ok(SessionInfo { user: user.clone(), orgs: orgs::orgs_of_user(db, &user.id).await? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::testing::test_databases;
    use std::sync::Arc;

    /// Password change checks the old password, signs the other sessions out, and is audited;
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
                let (_, token) = login(&db, &audit, "ada@acme.test", "first-password", &client).await.unwrap();
                sessions_of.push(sessions::lookup(&db, &token).await.unwrap().unwrap().0);
            }
            let (_, eve_token) = login(&db, &audit, "eve@acme.test", "eve-password", &client).await.unwrap();
            let eve_session = sessions::lookup(&db, &eve_token).await.unwrap().unwrap().0;
            let me = Caller { user: Some(ada.clone()), credential: Credential::Session { id: sessions_of[0].clone() } };
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
            let short = change_password(&db, &me, "first-password", "short", &by).await.unwrap_err();
            assert_eq!(short.field.as_deref(), Some("new_password"));
            change_password(&db, &me, "first-password", "second-password", &by).await.unwrap();
            // Only this session is left; the new password works, the old one does not.
            assert_eq!(list_sessions(&db, &me).await.unwrap().len(), 1);
            assert!(login(&db, &audit, "ada@acme.test", "first-password", &client).await.is_err());
            assert!(login(&db, &audit, "ada@acme.test", "second-password", &client).await.is_ok());
            assert!(sessions::lookup(&db, &eve_token).await.unwrap().is_some(), "Eve is untouched");

            audit.shutdown().await;
            let filter = super::super::audit::store::Filter {
                actions: vec!["auth.password_changed".into(), "auth.session_revoked".into()],
                ..Default::default()
            };
            let page = super::super::audit::store::list(&db, Some(&org.id), &filter, None, None).await.unwrap();
            let actions: Vec<&str> = page.events.iter().map(|e| e.action.as_str()).collect();
            assert_eq!(actions, ["auth.password_changed", "auth.session_revoked"], "[{backend}]");
            assert_eq!(page.events[0].metadata["other_sessions_ended"], 1);
            let stored = format!("{:?}", page.events);
            assert!(!stored.contains("second-password") && !stored.contains("first-password"));
        }
    }
}
