//! Password hashing with argon2id, always off the async runtime: a hash takes tens of
//! milliseconds of pure CPU and would otherwise stall every request on that worker.

use crate::error::ApiError;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::sync::OnceLock;

pub const MIN_PASSWORD_LEN: usize = 10;

/// Checks a new password; errors name `field`.
pub fn validate_password(field: &str, password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::invalid(field, format!("must be at least {MIN_PASSWORD_LEN} characters")));
    }
    if password.len() > 1024 {
        return Err(ApiError::invalid(field, "must be at most 1024 bytes"));
    }
    Ok(())
}

/// Argon2 runs at most this many at once, one per core: a burst of logins waits its turn on
/// the async side instead of occupying every blocking thread (each hash holds 19 MiB).
fn argon2_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Runs `work` on a blocking thread once a core is free for it.
async fn argon2<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = argon2_permits().acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
}

pub async fn hash_password(password: String) -> Result<String, ApiError> {
    argon2(move || hash_now(&password)).await.ok_or_else(ApiError::internal)
}

fn hash_now(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 accepts any password with default parameters")
        .to_string()
}

/// Verifies `password` against `hash`, or against a throw-away hash when there is no user,
/// so an unknown email costs the same time as a wrong password.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    argon2(move || {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY.get_or_init(|| hash_now("no such user")).clone());
        let matches = PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        known && matches
    })
    .await
    .unwrap_or(false)
}
