//! Browser sessions: a random 256-bit token in an HttpOnly cookie; only its SHA-256 is
//! stored, so a leaked database holds no usable session.

use super::db::{format_time, new_id, now, Db};
use super::Config;
use crate::error::ApiResult;
use crate::model::{SessionRow, UserInfo};
use axum::http::{header, HeaderMap};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const COOKIE_NAME: &str = "chronicle_session";
const SESSION_DAYS: i64 = 14;

/// Where a request came from, as recorded with a session (and later in the audit trail).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 256 random bits as hex: a session token, a public link's token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Creates a session and returns its token: the only time the token exists in clear.
pub async fn create(db: &Db, user_id: &str, client: &ClientInfo) -> ApiResult<String> {
    let token = random_token();
    let created = chrono::Utc::now();
    sqlx::query(
        "INSERT INTO sessions (id, token_hash, user_id, created_at, expires_at, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(format_time(created))
    .bind(format_time(created + chrono::Duration::days(SESSION_DAYS)))
    .bind(client.ip.as_deref())
    .bind(client.user_agent.as_deref().map(|ua| ua.chars().take(512).collect::<String>()))
    .execute(db.pool())
    .await?;
    Ok(token)
}

/// The user behind a live (unexpired) session token, with the session's id and whether the
/// user has a second factor (TOTP on, or a passkey).
pub async fn lookup(db: &Db, token: &str) -> ApiResult<Option<(String, UserInfo, bool)>> {
    let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT s.id, u.id, u.email, u.name, \
           CAST(CASE WHEN EXISTS (SELECT 1 FROM user_totp t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL) \
                  OR EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id) THEN 1 ELSE 0 END AS BIGINT) \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(hash_token(token))
    .bind(now())
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(session_id, id, email, name, second_factor)| (session_id, UserInfo { id, email, name }, second_factor != 0)))
}

/// Removes sessions past their expiry (the housekeeping loop calls this); returns how many.
pub async fn purge_expired(db: &Db) -> ApiResult<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now()).execute(db.pool()).await?.rows_affected())
}

pub async fn delete(db: &Db, session_id: &str) -> ApiResult<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(session_id).execute(db.pool()).await?;
    Ok(())
}

/// A user's live sessions, newest first; `current` marks the one asking.
pub async fn list_for_user(db: &Db, user_id: &str, current: &str) -> ApiResult<Vec<SessionRow>> {
    let rows: Vec<(String, String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT id, created_at, expires_at, ip, user_agent FROM sessions WHERE user_id = $1 AND expires_at > $2 \
         ORDER BY created_at DESC, id DESC",
    )
    .bind(user_id)
    .bind(now())
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, created_at, expires_at, ip, user_agent)| SessionRow { current: id == current, id, created_at, expires_at, ip, user_agent })
        .collect())
}

/// The session token from the request's cookies, if any.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for a new session. Secure when the request arrived over https.
pub fn set_cookie(token: &str, headers: &HeaderMap, config: &Config) -> String {
    let secure = if is_https(headers, config) { "; Secure" } else { "" };
    let max_age = SESSION_DAYS * 24 * 3600;
    format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

pub fn clear_cookie(headers: &HeaderMap, config: &Config) -> String {
    let secure = if is_https(headers, config) { "; Secure" } else { "" };
    format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// Secure whenever the public URL is https, whatever the request's headers say; a proxy's
/// `X-Forwarded-Proto: https` can only add the flag, never remove it.
fn is_https(headers: &HeaderMap, config: &Config) -> bool {
    config.https_only() || headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn finds_the_session_cookie_among_others() {
        let cases: [(&[(&str, &str)], Option<&str>); 5] = [
            (&[], None),
            (&[("cookie", "theme=dark")], None),
            (&[("cookie", "theme=dark; chronicle_session=abc")], Some("abc")),
            (&[("cookie", "a=1"), ("cookie", "chronicle_session=xyz")], Some("xyz")),
            (&[("cookie", "chronicle_session=")], None),
        ];
        for (pairs, want) in cases {
            assert_eq!(token_from_headers(&headers(pairs)).as_deref(), want, "{pairs:?}");
        }
    }

    #[test]
    fn cookie_flags() {
        let plain_config = Config::default();
        let plain = set_cookie("t", &HeaderMap::new(), &plain_config);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax") && !plain.contains("Secure"));
        assert!(set_cookie("t", &headers(&[("x-forwarded-proto", "https")]), &plain_config).ends_with("; Secure"));
        assert!(clear_cookie(&HeaderMap::new(), &plain_config).contains("Max-Age=0"));
        let https = Config { public_url: Some("https://chronicle.example".into()), ..Config::default() };
        assert!(set_cookie("t", &headers(&[("x-forwarded-proto", "http")]), &https).ends_with("; Secure"));
        assert!(clear_cookie(&HeaderMap::new(), &https).ends_with("; Secure"));
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
