//! API keys, stored: personal keys act as their user, org keys act inside one org with exactly
//! their scopes. What a secret looks like is `key_secret`; only its SHA-256 is stored here.

use super::audit::store::{self, Filter};
use super::audit::NewEvent;
use super::db::{format_time, new_id, now, Db};
use super::{mail, Acting};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::{ApiKey, CreatedKey, KeyCreator, UserInfo, SCOPES};
use super::key_secret::{display_of, generate_secret, hash_secret, well_formed, ORG_PREFIX, PERSONAL_PREFIX};
use subtle::ConstantTimeEq;

/// `last_used_at` is written at most this often per key, so busy keys cost no write per call.
const TOUCH_EVERY_SECS: i64 = 60;

/// Whose a key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Org(String),
    User(UserInfo),
}

impl Owner {
    fn kind(&self) -> &'static str {
        match self {
            Owner::Org(_) => "org",
            Owner::User(_) => "personal",
        }
    }
    fn prefix(&self) -> &'static str {
        match self {
            Owner::Org(_) => ORG_PREFIX,
            Owner::User(_) => PERSONAL_PREFIX,
        }
    }
}

/// What a valid key authenticates as.
#[derive(Debug, Clone)]
pub struct KeyIdentity {
    pub id: String,
    pub name: String,
    pub display: String,
    pub scopes: Vec<String>,
    /// The org of an org key; `None` for a personal key.
    pub org_id: Option<String>,
    /// The user of a personal key.
    pub user: Option<UserInfo>,
}

#[derive(Debug)]
pub struct NewKey {
    pub name: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
}

/// Checks a create request, naming the field at fault.
fn validate(input: NewKey) -> ApiResult<NewKey> {
    let name = super::users::validate_name("name", &input.name)?;
    if input.scopes.is_empty() {
        return Err(ApiError::invalid("scopes", format!("must include at least one of {}", SCOPES.join(", "))));
    }
    let mut scopes = Vec::new();
    for s in input.scopes {
        if !SCOPES.contains(&s.as_str()) {
            return Err(ApiError::invalid("scopes", format!("unknown scope \"{s}\"; known: {}", SCOPES.join(", "))));
        }
        if !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    let expires_at = match input.expires_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => {
            let at = chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| ApiError::invalid("expires_at", "must be an RFC 3339 time, e.g. 2027-01-31T00:00:00Z"))?
                .with_timezone(&chrono::Utc);
            if at <= chrono::Utc::now() {
                return Err(ApiError::invalid("expires_at", "must be in the future"));
            }
            Some(format_time(at))
        }
    };
    Ok(NewKey { name, scopes, expires_at })
}

const KEY_COLUMNS: &str =
    "id, kind, name, display, scopes, created_by_id, created_by_name, created_at, last_used_at, expires_at, revoked_at";

type KeyRow = (String, String, String, String, String, String, String, String, Option<String>, Option<String>, Option<String>);

fn key_from_row(r: KeyRow) -> ApiKey {
    ApiKey {
        id: r.0,
        kind: r.1,
        name: r.2,
        display: r.3,
        scopes: r.4.split_whitespace().map(str::to_owned).collect(),
        created_by: KeyCreator { id: r.5, name: r.6 },
        created_at: r.7,
        last_used_at: r.8,
        expires_at: r.9,
        revoked_at: r.10,
    }
}

fn owner_clause(owner: &Owner) -> (&'static str, &str) {
    match owner {
        Owner::Org(org) => ("kind = 'org' AND org_id = $1", org.as_str()),
        Owner::User(user) => ("kind = 'personal' AND user_id = $1", user.id.as_str()),
    }
}

/// The owner's keys, newest first, revoked ones included.
pub async fn list(db: &Db, owner: &Owner) -> ApiResult<Vec<ApiKey>> {
    let (clause, id) = owner_clause(owner);
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE {clause} ORDER BY created_at DESC, id DESC");
    let rows: Vec<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(key_from_row).collect())
}

async fn get(db: &Db, owner: &Owner, key_id: &str) -> ApiResult<ApiKey> {
    let (clause, id) = owner_clause(owner);
    let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE {clause} AND id = $2");
    let row: Option<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(key_id).fetch_optional(db.pool()).await?;
    row.map(key_from_row).ok_or_else(|| ApiError::not_found("API key"))
}

/// Creates a key, records `api_key.created` durably and queues the alert mail.
/// Creates a key for `caller`: a personal key made from a session needs the caller's
/// current password (a stolen session alone cannot mint a lasting credential).
pub async fn create_by(db: &Db, owner: &Owner, caller: &crate::backend::auth::Caller, input: NewKey, current_password: Option<&str>, by: &Acting<'_>) -> ApiResult<CreatedKey> {
    if let Owner::User(_) = owner {
        super::account::confirm_key_creation(db, caller, current_password).await?;
    }
    create(db, owner, caller.person()?, input, by).await
}

pub async fn create(db: &Db, owner: &Owner, creator: &UserInfo, input: NewKey, by: &Acting<'_>) -> ApiResult<CreatedKey> {
    let input = validate(input)?;
    let secret = generate_secret(owner.prefix());
    let key = ApiKey {
        id: new_id(),
        kind: owner.kind().into(),
        name: input.name,
        display: display_of(owner.prefix(), &secret),
        scopes: input.scopes,
        created_by: KeyCreator { id: creator.id.clone(), name: creator.name.clone() },
        created_at: now(),
        last_used_at: None,
        expires_at: input.expires_at,
        revoked_at: None,
    };
    let (org_id, user_id) = match owner {
        Owner::Org(org) => (Some(org.as_str()), None),
        Owner::User(user) => (None, Some(user.id.as_str())),
    };
    sqlx::query(
        "INSERT INTO api_keys (id, kind, org_id, user_id, name, display, secret_hash, scopes, created_by_id, created_by_name, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&key.id)
    .bind(&key.kind)
    .bind(org_id)
    .bind(user_id)
    .bind(&key.name)
    .bind(&key.display)
    .bind(hash_secret(&secret))
    .bind(key.scopes.join(" "))
    .bind(&key.created_by.id)
    .bind(&key.created_by.name)
    .bind(&key.created_at)
    .bind(key.expires_at.as_deref())
    .execute(db.pool())
    .await?;
    announce(db, owner, &key, "api_key.created", None, by).await;
    Ok(CreatedKey { key, secret })
}

/// Revokes a key (404 when it is not the owner's); revoking twice answers 409.
pub async fn revoke(db: &Db, owner: &Owner, key_id: &str, by: &Acting<'_>) -> ApiResult<ApiKey> {
    revoke_with(db, owner, key_id, None, by).await
}

/// As [`revoke`], done for `reason` (said in the trail and the alert mail).
pub async fn revoke_because(db: &Db, owner: &Owner, key_id: &str, reason: &str, by: &Acting<'_>) -> ApiResult<ApiKey> {
    revoke_with(db, owner, key_id, Some(reason), by).await
}

async fn revoke_with(db: &Db, owner: &Owner, key_id: &str, reason: Option<&str>, by: &Acting<'_>) -> ApiResult<ApiKey> {
    let key = get(db, owner, key_id).await?;
    if key.revoked_at.is_some() {
        return Err(ApiError::conflict("This key is already revoked."));
    }
    let at = now();
    let done = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(&at)
        .bind(&key.id)
        .execute(db.pool())
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::conflict("This key is already revoked."));
    }
    let key = ApiKey { revoked_at: Some(at), ..key };
    announce(db, owner, &key, "api_key.revoked", reason, by).await;
    Ok(key)
}

/// Revokes every live key of `owner` in `tx`, so the revocation commits with whatever else the
/// caller changes there (or not at all); announce the keys with [`announce_revoked`] once
/// the transaction has committed.
pub async fn revoke_all_in(tx: &mut sqlx::Transaction<'_, sqlx::Any>, owner: &Owner) -> ApiResult<Vec<ApiKey>> {
    let (clause, id) = owner_clause(owner);
    let sql = format!("UPDATE api_keys SET revoked_at = $2 WHERE {clause} AND revoked_at IS NULL RETURNING {KEY_COLUMNS}");
    let rows: Vec<KeyRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(now()).fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().map(key_from_row).collect())
}

/// The audit events and alerts for keys [`revoke_all_in`] revoked.
pub async fn announce_revoked(db: &Db, owner: &Owner, keys: &[ApiKey], reason: &str, by: &Acting<'_>) {
    for key in keys {
        announce(db, owner, key, "api_key.revoked", Some(reason), by).await;
    }
}

/// The audit event and the out-of-band alert for a create or revoke. Neither may fail the
/// key operation: the audit write is retried by the recorder, the mail by the outbox.
async fn announce(db: &Db, owner: &Owner, key: &ApiKey, action: &'static str, reason: Option<&str>, by: &Acting<'_>) {
    let mut meta = serde_json::json!({
        "kind": key.kind, "name": key.name, "display": key.display, "scopes": key.scopes,
        "expires_at": key.expires_at,
    });
    if let Some(reason) = reason {
        meta["reason"] = reason.into();
    }
    // Org keys belong to the org's trail; personal keys to their user's, outside any org.
    let org = match owner {
        Owner::Org(org) => Some(org.as_str()),
        Owner::User(_) => None,
    };
    let event = NewEvent::new(org, action, by.actor.clone(), "api_key", Some(&key.id)).metadata(meta).client(by.client);
    by.audit.record(event).await;
    if let Err(err) = mail::alerts::key_alert(db, owner, key, action, reason, by).await {
        tracing::error!(error = %err, key = %key.display, "could not queue the key alert mail");
    }
}

/// Every create and revoke of the owner's keys, revoked keys included, newest first — read
/// from the audit trail. Personal keys' events live outside any org, made by their user.
pub async fn activity(db: &Db, owner: &Owner, limit: Option<i64>, cursor: Option<&str>) -> ApiResult<crate::model::AuditPage> {
    let (org, actor_id) = match owner {
        Owner::Org(org) => (Some(org.as_str()), None),
        Owner::User(user) => (None, Some(user.id.clone())),
    };
    let filter = Filter {
        actions: vec!["api_key.created".into(), "api_key.revoked".into()],
        resource_type: Some("api_key".into()),
        actor_id,
        ..Filter::default()
    };
    store::list(db, org, &filter, limit, cursor).await
}

/// The key behind `secret`, if it is well formed, known, unrevoked and unexpired. A bad key
/// is a 401 that says why, since the caller is the key's holder.
pub async fn authenticate(db: &Db, secret: &str) -> ApiResult<KeyIdentity> {
    let invalid = || ApiError::new(ErrorKind::Unauthorized, "This API key is not valid.");
    if !well_formed(secret) {
        return Err(invalid());
    }
    let hash = hash_secret(secret);
    type Row = (String, String, Option<String>, String, String, String, String, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>, Option<String>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT k.id, k.secret_hash, k.org_id, k.name, k.display, k.scopes, k.kind, k.last_used_at, k.expires_at, k.revoked_at, \
                u.id, u.email, u.name \
         FROM api_keys k LEFT JOIN users u ON u.id = k.user_id WHERE k.secret_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(db.pool())
    .await?;
    let Some((id, stored, org_id, name, display, scopes, kind, last_used, expires, revoked, uid, email, uname)) = row else {
        return Err(invalid());
    };
    // The index found it by hash; compare again in constant time so no timing tells how close a guess was.
    if !bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(invalid());
    }
    if revoked.is_some() {
        return Err(ApiError::new(ErrorKind::Unauthorized, format!("API key {display} has been revoked.")));
    }
    let now_text = now();
    if expires.as_deref().is_some_and(|e| e <= now_text.as_str()) {
        return Err(ApiError::new(ErrorKind::Unauthorized, format!("API key {display} has expired.")));
    }
    touch(db, &id, last_used.as_deref()).await;
    let user = match (kind.as_str(), uid, email, uname) {
        ("personal", Some(id), Some(email), Some(name)) => Some(UserInfo { id, email, name }),
        ("personal", ..) => return Err(invalid()),
        _ => None,
    };
    Ok(KeyIdentity { id, name, display, scopes: scopes.split_whitespace().map(str::to_owned).collect(), org_id, user })
}

/// Records use, at most once a minute per key; the condition makes racing requests harmless.
async fn touch(db: &Db, key_id: &str, last_used: Option<&str>) {
    let now = chrono::Utc::now();
    let threshold = format_time(now - chrono::Duration::seconds(TOUCH_EVERY_SECS));
    if last_used.is_some_and(|t| t > threshold.as_str()) {
        return;
    }
    let result = sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)")
        .bind(format_time(now))
        .bind(key_id)
        .bind(&threshold)
        .execute(db.pool())
        .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, "could not record API key use");
    }
}

/// The bearer token of an `Authorization` header, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field() {
        let ok = |name: &str, scopes: &[&str], exp: Option<&str>| {
            validate(NewKey { name: name.into(), scopes: scopes.iter().map(|s| s.to_string()).collect(), expires_at: exp.map(Into::into) })
        };
        assert_eq!(ok(" ", &["audit:read"], None).unwrap_err().field.as_deref(), Some("name"));
        assert_eq!(ok("ci", &[], None).unwrap_err().field.as_deref(), Some("scopes"));
        assert_eq!(ok("ci", &["admin"], None).unwrap_err().field.as_deref(), Some("scopes"));
        assert_eq!(ok("ci", &["audit:read"], Some("tomorrow")).unwrap_err().field.as_deref(), Some("expires_at"));
        assert_eq!(ok("ci", &["audit:read"], Some("2001-01-01T00:00:00Z")).unwrap_err().field.as_deref(), Some("expires_at"));
        let good = ok(" ci ", &["audit:read", "audit:read"], Some("2999-01-01T00:00:00Z")).unwrap();
        assert_eq!((good.name.as_str(), good.scopes.len()), ("ci", 1));
    }

    #[test]
    fn bearer_header() {
        let mut h = axum::http::HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert("authorization", "Bearer chr_org_x".parse().unwrap());
        assert_eq!(bearer(&h).as_deref(), Some("chr_org_x"));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
