//! Recovery codes: ten per enrolment, each 50 random bits written `xxxxx-xxxxx`, shown once
//! and stored as SHA-256 (their entropy makes a slow hash unnecessary, as for API keys).
//! Each is used once: the update that marks it used is the check.

use crate::backend::db::{now, Db};
use crate::error::ApiResult;
use rand::Rng;
use sha2::{Digest, Sha256};

pub const COUNT: usize = 10;
/// No 0/o, 1/l/i: codes are read off paper.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// `COUNT` new codes, as the person sees them.
pub(super) fn generate() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..COUNT)
        .map(|_| {
            let mut code: String = (0..10).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
            code.insert(5, '-');
            code
        })
        .collect()
}

/// The stored form: the code without blanks or dashes, any case.
pub(super) fn hash(code: &str) -> String {
    let normal: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

/// Replaces the user's codes with `codes`.
pub(super) async fn store(conn: &mut sqlx::AnyConnection, user_id: &str, codes: &[String]) -> ApiResult<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    for code in codes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)").bind(user_id).bind(hash(code)).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Uses `code` if it is one of the user's unused codes.
pub(super) async fn redeem(db: &Db, user_id: &str, code: &str) -> ApiResult<bool> {
    let used = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
        .bind(now())
        .bind(user_id)
        .bind(hash(code))
        .execute(db.pool())
        .await?
        .rows_affected();
    Ok(used == 1)
}

pub(super) async fn left(db: &Db, user_id: &str) -> ApiResult<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL").bind(user_id).fetch_one(db.pool()).await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_readable_and_hashed_loosely() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), COUNT);
        for code in &codes {
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            assert!(!code.contains(['0', 'o', '1', 'l', 'i']));
        }
        assert_eq!(hash("abcde-fghjk"), hash(" ABCDE FGHJK "));
        assert_ne!(hash("abcde-fghjk"), hash("abcde-fghjm"));
    }
}
