//! TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, one step of skew either way) with
//! `totp-rs`. The secret is sealed under the instance secret; `last_step` is the newest step
//! a code was accepted for, and a code counts only if it raises it, atomically: no code is
//! accepted twice, not even by two requests at once.

use crate::backend::credentials;
use crate::backend::db::Db;
use crate::backend::Config;
use crate::error::{ApiError, ApiResult};
use rand::RngCore;
use totp_rs::{Algorithm, Builder, Secret, Totp};

const ISSUER: &str = "Chronicle";
/// What the sealed secret is bound to, beside the user's id (org credentials are bound to
/// their org's id, never this).
pub(crate) const SEALED_AS: &str = "totp";

fn totp(secret: &[u8], account: &str) -> ApiResult<Totp> {
    // The account name is shown in authenticator apps; a colon would end it early.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|_| ApiError::internal())
}

/// A new random 160-bit secret, as base32, and its `otpauth://` URI.
pub(super) fn generate(account: &str) -> ApiResult<(String, String)> {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let totp = totp(&bytes, account)?;
    let uri = totp.to_url().map_err(|_| ApiError::internal())?;
    Ok((Secret::from(bytes.to_vec()).to_base32(), uri))
}

/// The time step `code` is right for at `unix_secs` (±1 step), if any.
pub(super) fn step_of(secret_base32: &str, code: &str, unix_secs: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    Builder::new().with_secret(secret.to_vec()).build_noncompliant().check(&code, unix_secs)
}

pub(super) fn seal(config: &Config, user_id: &str, secret_base32: &str) -> String {
    credentials::seal(&config.secret, SEALED_AS, user_id, secret_base32)
}

/// Whether `code` is the user's current code, never used before (enrolling: `confirmed`
/// false). Accepting it raises `last_step` in the same statement that checks it.
pub(super) async fn accept(db: &Db, config: &Config, user_id: &str, code: &str, confirmed: bool) -> ApiResult<bool> {
    let sql = if confirmed {
        "SELECT secret, last_step FROM user_totp WHERE user_id = $1 AND confirmed_at IS NOT NULL"
    } else {
        "SELECT secret, last_step FROM user_totp WHERE user_id = $1 AND confirmed_at IS NULL"
    };
    let row: Option<(String, i64)> = sqlx::query_as(sql).bind(user_id).fetch_optional(db.pool()).await?;
    let Some((sealed, last_step)) = row else { return Ok(false) };
    let secret = credentials::open(config, SEALED_AS, user_id, &sealed).ok_or_else(ApiError::internal)?;
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    let Some(step) = step_of(&secret, code, now).map(|s| s as i64).filter(|s| *s > last_step) else { return Ok(false) };
    let raised = sqlx::query("UPDATE user_totp SET last_step = $1 WHERE user_id = $2 AND last_step < $1")
        .bind(step)
        .bind(user_id)
        .execute(db.pool())
        .await?
        .rows_affected();
    Ok(raised == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, the last six digits.
    #[test]
    fn codes_are_rfc_6238() {
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        for (time, code) in [(59u64, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")] {
            assert_eq!(step_of(&secret, code, time), Some(time / 30), "{time}");
        }
        // One step either way is accepted; two are not.
        assert_eq!(step_of(&secret, "287082", 59 + 30), Some(1));
        assert_eq!(step_of(&secret, "287082", 59 + 60), None);
        assert_eq!(step_of(&secret, "287 082", 59), Some(1), "blanks inside are ignored");
        for bad in ["", "28708", "2870820", "28708a", "٢٨٧٠٨٢"] {
            assert_eq!(step_of(&secret, bad, 59), None, "{bad:?}");
        }
    }

    #[test]
    fn the_uri_names_the_issuer_and_account() {
        let (secret, uri) = generate("ada@acme.test").unwrap();
        assert_eq!(secret.len(), 32, "160 bits in base32");
        assert!(uri.starts_with("otpauth://totp/Chronicle:ada%40acme.test?"), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Chronicle"), "{uri}");
    }
}
