//! Who is calling: the one place a request's credentials become a [`Caller`]; signing in
//! (throttled) and out. What a signed-in person does to their own account is in `account`.

use super::api_keys::{self, KeyIdentity};
use super::audit::{NewEvent, Recorder};
use super::db::Db;
use super::sessions::{self, ClientInfo};
use super::{orgs, passwords, throttle, users};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::{Actor, OrgMembership, SessionInfo, UserInfo};
use axum::http::HeaderMap;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The person acting: a session's user or a personal key's user; `None` for an org key.
    pub user: Option<UserInfo>,
    pub credential: Credential,
    /// The person's orgs and roles, read with the credentials (one query per request, which
    /// every role check of the request then answers from).
    pub memberships: Vec<OrgMembership>,
    /// A session of a person with a second factor (an org's `require_mfa` asks for it).
    pub second_factor: bool,
}

#[derive(Debug, Clone)]
pub enum Credential {
    Session { id: String },
    ApiKey(KeyIdentity),
}

impl Caller {
    /// The person's role in `org_id`, if they belong to it.
    pub fn role_in(&self, org_id: &str) -> Option<crate::model::Role> {
        self.memberships.iter().find(|m| m.id == org_id).map(|m| m.role)
    }

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
    // An Authorization header is the only credential, whatever its scheme: one that is not a
    // Bearer key answers 401 rather than falling back to the cookie, so whether a request
    // carries an ambient credential (the cross-site check) never depends on the cookie.
    let (user, credential, second_factor) = if headers.contains_key(axum::http::header::AUTHORIZATION) {
        let secret = api_keys::bearer(headers)
            .ok_or_else(|| ApiError::new(ErrorKind::Unauthorized, "The Authorization header must be `Bearer <API key>`."))?;
        let key = api_keys::authenticate(db, &secret).await?;
        (key.user.clone(), Credential::ApiKey(key), false)
    } else {
        let Some(token) = sessions::token_from_headers(headers) else { return Ok(None) };
        let Some((id, user, second_factor)) = sessions::lookup(db, &token).await? else { return Ok(None) };
        (Some(user), Credential::Session { id }, second_factor)
    };
    let memberships = match &user {
        Some(user) => orgs::orgs_of_user(db, &user.id).await?,
        None => Vec::new(),
    };
    Ok(Some(Caller { user, credential, memberships, second_factor }))
}

pub async fn require_caller(db: &Db, headers: &HeaderMap) -> ApiResult<Caller> {
    authenticate(db, headers).await?.ok_or_else(ApiError::unauthorized)
}

/// The longest email an address can be (RFC 5321): longer ones are refused before any lookup.
pub const MAX_EMAIL_BYTES: usize = 254;

/// What a right password leads to: a session, or (for an account with a second factor) a
/// challenge that [`super::mfa::complete`] turns into one.
#[derive(Debug)]
pub enum SignIn {
    Session(SessionInfo, String),
    SecondFactor { challenge: String },
}

impl SignIn {
    /// The session, when the password was enough.
    pub fn session(self) -> Option<(SessionInfo, String)> {
        match self {
            SignIn::Session(info, token) => Some((info, token)),
            SignIn::SecondFactor { .. } => None,
        }
    }
}

/// Checks the password and opens a session (or asks for the second factor). Unknown email and wrong password answer alike,
/// in the same time. Both outcomes are audited in every org of the user concerned; so is a
/// refusal by the login throttle (`auth.login_blocked`), which comes before any password check.
pub async fn login(db: &Db, audit: &Recorder, email: &str, password: &str, client: &ClientInfo) -> ApiResult<SignIn> {
    if email.len() > MAX_EMAIL_BYTES {
        return Err(ApiError::invalid("email", format!("must be at most {MAX_EMAIL_BYTES} bytes")));
    }
    let attempt = throttle::Attempt::new(email, client.ip.as_deref());
    // The slot is taken before anything else, the password check included.
    let slots = throttle::take(db, &attempt).await;
    let found = users::find_by_email(db, email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let refused = |action: &'static str, meta: serde_json::Value| {
        let user_id = user.as_ref().map(|u| u.id.clone());
        async move {
            let orgs = match &user_id {
                Some(id) => orgs::orgs_of_user(db, id).await?,
                None => Vec::new(),
            };
            let anonymous = Actor { kind: "anonymous".into(), id: None, label: "Anonymous".into(), name: None, email: None };
            record_in_orgs(audit, &orgs, |org| {
                NewEvent::new(org, action, anonymous.clone(), "user", user_id.as_deref()).metadata(meta.clone()).client(client)
            })
            .await;
            ApiResult::Ok(())
        }
    };
    let slots = match slots {
        Ok(slots) => slots,
        Err(blocked) => {
            refused("auth.login_blocked", serde_json::json!({ "email": email.trim(), "retry_after_s": blocked.retry_after })).await?;
            return Err(blocked);
        }
    };
    let ok = passwords::verify_password(password.to_owned(), hash).await;
    let user = match (ok, &user) {
        (true, Some(user)) => user.clone(),
        _ => {
            // A failure keeps its slots until their windows end.
            refused("auth.login_failed", serde_json::json!({ "email": email.trim() })).await?;
            return Err(ApiError::new(ErrorKind::Unauthorized, "Email or password is incorrect."));
        }
    };
    slots.give_back(db).await?;
    // The password was right; the code (throttled on its own attempts) comes next.
    if super::mfa::has_totp(db, &user.id).await? {
        return Ok(SignIn::SecondFactor { challenge: super::mfa::start_challenge(db, &user.id).await? });
    }
    let token = sessions::create(db, &user.id, client).await?;
    let orgs = orgs::orgs_of_user(db, &user.id).await?;
    record_in_orgs(audit, &orgs, |org| {
        NewEvent::new(org, "auth.login", Actor::user(&user), "user", Some(&user.id)).metadata(serde_json::json!({ "method": "password" })).client(client)
    })
    .await;
    Ok(SignIn::Session(SessionInfo { user, orgs }, token))
}

/// Ends the caller's session (a key has none to end).
pub async fn logout(db: &Db, audit: &Recorder, caller: &Caller, client: &ClientInfo) -> ApiResult<()> {
    let Ok((user, session_id)) = caller.session() else { return Ok(()) };
    sessions::delete(db, session_id).await?;
    record_in_orgs(audit, &caller.memberships, |org| NewEvent::new(org, "auth.logout", caller.actor(), "user", Some(&user.id)).client(client)).await;
    Ok(())
}

/// Identity events belong to every org of the user, so each org's owners see them; a user in
/// no org (or an unknown email) gets one event outside any org.
pub(super) async fn record_in_orgs(audit: &Recorder, orgs: &[crate::model::OrgMembership], event: impl Fn(Option<&str>) -> NewEvent) {
    if orgs.is_empty() {
        audit.record(event(None)).await;
    } else {
        let events: Vec<NewEvent> = orgs.iter().map(|org| event(Some(&org.id))).collect();
        audit.record_all(events).await;
    }
}

pub fn session_info(caller: &Caller) -> ApiResult<SessionInfo> {
    let user = caller.person()?;
    Ok(SessionInfo { user: user.clone(), orgs: caller.memberships.clone() })
}
