//! Who is calling: the one place a request's credentials become a [`Caller`].

use super::audit::{NewEvent, Recorder};
use super::db::Db;
use super::sessions::{self, ClientInfo};
use super::{orgs, passwords, users};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::{Actor, SessionInfo, UserInfo};
use axum::http::HeaderMap;

/// An authenticated caller: always a user for now; API keys join as another credential.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserInfo,
    pub credential: Credential,
}

impl Caller {
    /// How the audit trail and version history name this caller.
    pub fn actor(&self) -> Actor {
        Actor::user(&self.user)
    }
}

#[derive(Debug, Clone)]
pub enum Credential {
    Session { id: String },
}

/// The caller behind the request's credentials; `None` when it carries none or they are
/// not valid (expired, logged out).
pub async fn authenticate(db: &Db, headers: &HeaderMap) -> ApiResult<Option<Caller>> {
    let Some(token) = sessions::token_from_headers(headers) else { return Ok(None) };
    Ok(sessions::lookup(db, &token)
        .await?
        .map(|(id, user)| Caller { user, credential: Credential::Session { id } }))
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

pub async fn logout(db: &Db, audit: &Recorder, caller: &Caller, client: &ClientInfo) -> ApiResult<()> {
    match &caller.credential {
        Credential::Session { id } => sessions::delete(db, id).await?,
    }
    let orgs = orgs::orgs_of_user(db, &caller.user.id).await?;
    let id = &caller.user.id;
    record_in_orgs(audit, &orgs, |org| NewEvent::new(org, "auth.logout", caller.actor(), "user", Some(id)).client(client));
    Ok(())
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
    Ok(SessionInfo { user: caller.user.clone(), orgs: orgs::orgs_of_user(db, &caller.user.id).await? })
}
