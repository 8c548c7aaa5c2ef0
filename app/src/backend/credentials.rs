//! Org credentials: secrets a workflow's `http_request` sends as a bearer token. Sealed with
//! XChaCha20-Poly1305 under a key derived from `CHRONICLE_SECRET`, bound to their row (the
//! org and credential ids are the associated data, so a sealed secret copied to another row
//! does not open); listed without their secret, never returned. Only a run opens one, and
//! only for a host on the credential's `allowed_hosts` ([`open_for_run`]).

use super::audit::NewEvent;
use super::db::{is_unique_violation, new_id, now, Db};
use super::secret::RootSecret;
use super::{allowed_hosts, users, Acting, Config};
use crate::error::{ApiError, ApiResult};
use crate::model::{CredentialPatch, KeyCreator, OrgCredential, UserInfo};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const PURPOSE: &str = "chronicle credentials v1";
const NONCE_LEN: usize = 24;
pub const MAX_SECRET_BYTES: usize = 8 * 1024;

fn cipher(secret: &RootSecret) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&secret.derive(PURPOSE).into())
}

fn associated(org_id: &str, id: &str) -> String {
    format!("{org_id}/{id}")
}

/// `hex(nonce ‖ ciphertext)`.
pub(crate) fn seal(secret: &RootSecret, org_id: &str, id: &str, plain: &str) -> String {
    let nonce = XChaCha20Poly1305::generate_nonce(&mut chacha20poly1305::aead::OsRng);
    let aad = associated(org_id, id);
    let sealed = cipher(secret).encrypt(&nonce, Payload { msg: plain.as_bytes(), aad: aad.as_bytes() }).expect("XChaCha20-Poly1305 seals any length we allow");
    let mut out = nonce.to_vec();
    out.extend(sealed);
    hex::encode(out)
}

fn open_with(secret: &RootSecret, org_id: &str, id: &str, sealed: &str) -> Option<String> {
    let bytes = hex::decode(sealed).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, body) = bytes.split_at(NONCE_LEN);
    let aad = associated(org_id, id);
    let plain = cipher(secret).decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: aad.as_bytes() }).ok()?;
    String::from_utf8(plain).ok()
}

/// Opens with the current secret, or the previous one while rotating.
pub(crate) fn open(config: &Config, org_id: &str, id: &str, sealed: &str) -> Option<String> {
    open_with(&config.secret, org_id, id, sealed)
        .or_else(|| config.previous_secret.as_ref().and_then(|previous| open_with(previous, org_id, id, sealed)))
}

type Row = (String, String, String, String, String, Option<String>, String);

const COLUMNS: &str = "id, name, created_by_id, created_by_name, created_at, last_used_at, allowed_hosts";

fn from_row(r: Row) -> OrgCredential {
    OrgCredential {
        id: r.0,
        name: r.1,
        allowed_hosts: hosts_from_json(&r.6),
        created_by: KeyCreator { id: r.2, name: r.3 },
        created_at: r.4,
        last_used_at: r.5,
    }
}

fn hosts_from_json(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn hosts_to_json(hosts: &[String]) -> String {
    serde_json::to_string(hosts).expect("a list of strings serialises")
}

pub async fn list(db: &Db, org_id: &str) -> ApiResult<Vec<OrgCredential>> {
    let sql = format!("SELECT {COLUMNS} FROM credentials WHERE org_id = $1 ORDER BY created_at DESC, id DESC");
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id).fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// A secret fit to be sent in an HTTP header (422 naming `secret` otherwise).
fn check_secret(secret: &str) -> ApiResult<()> {
    if secret.is_empty() {
        return Err(ApiError::invalid("secret", "must not be empty"));
    }
    if secret.len() > MAX_SECRET_BYTES {
        return Err(ApiError::invalid("secret", format!("must be at most {MAX_SECRET_BYTES} bytes")));
    }
    if secret.chars().any(char::is_control) {
        return Err(ApiError::invalid("secret", "must not contain control characters (it is sent in an HTTP header)"));
    }
    Ok(())
}

fn name_taken(name: &str) -> ApiError {
    ApiError::conflict(format!("A credential named \"{name}\" already exists."))
}

/// Stores a credential; its name is unique in the org (409 otherwise), and it names the
/// hosts it may be sent to.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    db: &Db,
    config: &Config,
    org_id: &str,
    creator: &UserInfo,
    name: &str,
    secret: &str,
    allowed_hosts: &[String],
    by: &Acting<'_>,
) -> ApiResult<OrgCredential> {
    let name = users::validate_name("name", name)?;
    check_secret(secret)?;
    let allowed_hosts = allowed_hosts::normalise(allowed_hosts)?;
    let credential = OrgCredential {
        id: new_id(),
        name,
        allowed_hosts,
        created_by: KeyCreator { id: creator.id.clone(), name: creator.name.clone() },
        created_at: now(),
        last_used_at: None,
    };
    let inserted = sqlx::query(
        "INSERT INTO credentials (id, org_id, name, sealed_secret, created_by_id, created_by_name, created_at, allowed_hosts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&credential.id)
    .bind(org_id)
    .bind(&credential.name)
    .bind(seal(&config.secret, org_id, &credential.id, secret))
    .bind(&credential.created_by.id)
    .bind(&credential.created_by.name)
    .bind(&credential.created_at)
    .bind(hosts_to_json(&credential.allowed_hosts))
    .execute(db.pool())
    .await;
    match inserted {
        Err(err) if is_unique_violation(&err) => return Err(name_taken(&credential.name)),
        other => other?,
    };
    let event = NewEvent::new(Some(org_id), "credential.created", by.actor.clone(), "credential", Some(&credential.id))
        .metadata(serde_json::json!({ "name": credential.name, "allowed_hosts": credential.allowed_hosts }))
        .client(by.client);
    by.audit.record(event).await;
    Ok(credential)
}

/// Renames, re-scopes (`allowed_hosts`) or rotates (`secret`) a credential, validated whole
/// before anything is written. Recorded as `credential.updated` with the changed fields
/// (never the secret) and, for a new secret, `credential.rotated`.
pub async fn update(db: &Db, config: &Config, org_id: &str, id: &str, patch: CredentialPatch, by: &Acting<'_>) -> ApiResult<OrgCredential> {
    let name = patch.name.as_deref().map(|n| users::validate_name("name", n)).transpose()?;
    let hosts = patch.allowed_hosts.as_deref().map(allowed_hosts::normalise).transpose()?;
    if let Some(secret) = &patch.secret {
        check_secret(secret)?;
    }
    let mut tx = db.pool().begin().await?;
    // Takes the row's write lock first, so the audited "before" is what this change replaced.
    let locked = sqlx::query("UPDATE credentials SET name = name WHERE org_id = $1 AND id = $2").bind(org_id).bind(id).execute(&mut *tx).await?;
    if locked.rows_affected() == 0 {
        return Err(ApiError::not_found("Credential"));
    }
    let sql = format!("SELECT {COLUMNS} FROM credentials WHERE id = $1");
    let before = from_row(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_one(&mut *tx).await?);
    let mut after = before.clone();
    if let Some(name) = name {
        after.name = name;
    }
    if let Some(hosts) = hosts {
        after.allowed_hosts = hosts;
    }
    let sealed = patch.secret.as_deref().map(|s| seal(&config.secret, org_id, id, s));
    let updated = sqlx::query("UPDATE credentials SET name = $1, allowed_hosts = $2, sealed_secret = COALESCE($3, sealed_secret) WHERE id = $4")
        .bind(&after.name)
        .bind(hosts_to_json(&after.allowed_hosts))
        .bind(sealed.as_deref())
        .bind(id)
        .execute(&mut *tx)
        .await;
    match updated {
        Err(err) if is_unique_violation(&err) => return Err(name_taken(&after.name)),
        other => other?,
    };
    tx.commit().await?;
    let described = |c: &OrgCredential| serde_json::json!({ "name": c.name, "allowed_hosts": c.allowed_hosts });
    let event = |action| {
        NewEvent::new(Some(org_id), action, by.actor.clone(), "credential", Some(id)).metadata(serde_json::json!({ "name": after.name })).client(by.client)
    };
    if before != after {
        by.audit.record(event("credential.updated").changes(&described(&before), &described(&after))).await;
    }
    if sealed.is_some() {
        by.audit.record(event("credential.rotated")).await;
    }
    Ok(after)
}

pub async fn delete(db: &Db, org_id: &str, id: &str, by: &Acting<'_>) -> ApiResult<()> {
    let deleted: Option<(String,)> = sqlx::query_as("DELETE FROM credentials WHERE org_id = $1 AND id = $2 RETURNING name")
        .bind(org_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    let (name,) = deleted.ok_or_else(|| ApiError::not_found("Credential"))?;
    let event = NewEvent::new(Some(org_id), "credential.deleted", by.actor.clone(), "credential", Some(id))
        .metadata(serde_json::json!({ "name": name }))
        .client(by.client);
    by.audit.record(event).await;
    Ok(())
}

/// Whether `id` names a credential of `org_id`: a workflow may only reference its own org's.
pub async fn exists(db: &Db, org_id: &str, id: &str) -> ApiResult<bool> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM credentials WHERE org_id = $1 AND id = $2").bind(org_id).bind(id).fetch_optional(db.pool()).await?;
    Ok(row.is_some())
}

/// A credential opened for a run: its name and secret. The caller records the access.
pub struct Opened {
    pub name: String,
    pub secret: String,
}

/// Why a run could not use a credential; the texts are the step's errors (never the secret).
pub enum Unusable {
    /// The request's host is not on the credential's list: nothing was decrypted.
    HostRefused { name: String, message: String },
    Other(String),
}

/// Opens `id` for a request to `host` in `org_id`. The host is matched against the
/// credential's allowed hosts **before** the secret is decrypted.
pub async fn open_for_run(db: &Db, config: &Config, org_id: &str, id: &str, host: &str) -> Result<Opened, Unusable> {
    let row: Option<(String, String, String)> = sqlx::query_as("SELECT name, sealed_secret, allowed_hosts FROM credentials WHERE org_id = $1 AND id = $2")
        .bind(org_id)
        .bind(id)
        .fetch_optional(db.pool())
        .await
        .map_err(|e| Unusable::Other(format!("could not read credential {id}: {e}")))?;
    let (name, sealed, hosts) = row.ok_or_else(|| Unusable::Other(format!("credential {id} does not exist (deleted?)")))?;
    let hosts = hosts_from_json(&hosts);
    if !allowed_hosts::permits(&hosts, host) {
        let allowed = if hosts.is_empty() { "none yet: an owner or admin must name them".to_owned() } else { hosts.join(", ") };
        let message = format!("credential \"{name}\" may not be sent to {host} (its allowed hosts: {allowed}); nothing was sent");
        return Err(Unusable::HostRefused { name, message });
    }
    let secret = open(config, org_id, id, &sealed)
        .ok_or_else(|| Unusable::Other(format!("credential \"{name}\" cannot be opened with this CHRONICLE_SECRET (rotated without resealing?)")))?;
    let _ = sqlx::query("UPDATE credentials SET last_used_at = $1 WHERE id = $2").bind(now()).bind(id).execute(db.pool()).await;
    Ok(Opened { name, secret })
}

/// Seals every credential again under the current secret (after rotating
/// `CHRONICLE_SECRET`, with the old one in `CHRONICLE_SECRET_PREVIOUS`), and the TOTP
/// secrets with them. Returns how many were resealed; one neither secret opens is an error
/// naming it.
pub async fn reseal_all(db: &Db, config: &Config) -> ApiResult<usize> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT id, org_id, name, sealed_secret FROM credentials").fetch_all(db.pool()).await?;
    let mut tx = db.pool().begin().await?;
    for (id, org_id, name, sealed) in &rows {
        let plain = open(config, org_id, id, sealed).ok_or_else(|| {
            ApiError::invalid("CHRONICLE_SECRET_PREVIOUS", format!("credential \"{name}\" ({id}) opens with neither secret"))
        })?;
        sqlx::query("UPDATE credentials SET sealed_secret = $1 WHERE id = $2")
            .bind(seal(&config.secret, org_id, id, &plain))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    let totp: Vec<(String, String)> = sqlx::query_as("SELECT user_id, secret FROM user_totp").fetch_all(db.pool()).await?;
    let bound_to = super::mfa::totp::SEALED_AS;
    for (user_id, sealed) in &totp {
        let plain = open(config, bound_to, user_id, sealed)
            .ok_or_else(|| ApiError::invalid("CHRONICLE_SECRET_PREVIOUS", format!("the TOTP secret of user {user_id} opens with neither secret")))?;
        sqlx::query("UPDATE user_totp SET secret = $1 WHERE user_id = $2").bind(seal(&config.secret, bound_to, user_id, &plain)).bind(user_id).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(rows.len() + totp.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rotation: after `reseal_all` with the old secret as the previous one, the new secret
    /// alone opens every credential.
    #[tokio::test]
    async fn resealing_moves_credentials_to_the_new_secret() {
        for (name, db) in crate::backend::testing::test_databases().await {
            let user = users::create_user(&db, "ada@reseal.test", "Ada", "long-enough-password").await.unwrap();
            let org = crate::backend::orgs::create_org(&db, "Acme", &user.id).await.unwrap();
            let old = Config { secret: RootSecret::new(b"the old secret, long enough"), ..Config::default() };
            let audit = crate::backend::audit::Recorder::start(db.clone(), std::sync::Arc::new(|| {}));
            let client = crate::backend::sessions::ClientInfo::default();
            let by = Acting { actor: crate::model::Actor::user(&user), client: &client, audit: &audit };
            let c = create(&db, &old, &org.id, &user, "Billing", "s3cr3t", &["api.example.com".into()], &by).await.unwrap();
            let new = Config { secret: RootSecret::new(b"the new secret, long enough"), ..Config::default() };
            assert!(open_for_run(&db, &new, &org.id, &c.id, "api.example.com").await.is_err(), "[{name}] not yet");
            let rotating = Config { previous_secret: Some(old.secret.clone()), ..new.clone() };
            assert_eq!(opened(open_for_run(&db, &rotating, &org.id, &c.id, "api.example.com").await), "s3cr3t", "[{name}] old opens while rotating");
            assert_eq!(reseal_all(&db, &rotating).await.unwrap(), 1);
            assert_eq!(opened(open_for_run(&db, &new, &org.id, &c.id, "api.example.com").await), "s3cr3t", "[{name}]");
            assert!(reseal_all(&db, &old).await.is_err(), "[{name}] a secret that opens nothing is an error");
        }
    }

    fn opened(r: Result<Opened, Unusable>) -> String {
        match r {
            Ok(o) => o.secret,
            Err(Unusable::HostRefused { message, .. } | Unusable::Other(message)) => panic!("{message}"),
        }
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_row() {
        let key = RootSecret::new(b"one secret of enough length");
        let sealed = seal(&key, "org", "id", "s3cr3t");
        assert!(!sealed.contains("s3cr3t") && !sealed.contains(&hex::encode("s3cr3t")));
        assert_eq!(open_with(&key, "org", "id", &sealed).as_deref(), Some("s3cr3t"));
        assert_eq!(open_with(&key, "org", "other", &sealed), None, "bound to its row");
        assert_eq!(open_with(&RootSecret::new(b"another secret, rotated"), "org", "id", &sealed), None);
        assert_ne!(seal(&key, "org", "id", "s3cr3t"), sealed, "a fresh nonce each time");
        assert_eq!(open_with(&key, "org", "id", "zz"), None);
    }
}
