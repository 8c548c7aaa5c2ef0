//! Login throttling: after 5 failed attempts for one account in 15 minutes, or 30 from one
//! client address in a minute, sign-in is refused (429 with `Retry-After`, the right password
//! included) until the window has passed. Failures are rows in the database, so every app
//! instance counts the same attempts.

use super::db::Db;
use crate::error::{ApiError, ApiResult, ErrorKind};

const ACCOUNT_LIMIT: i64 = 5;
const ACCOUNT_WINDOW_US: i64 = 15 * 60 * 1_000_000;
const ADDRESS_LIMIT: i64 = 30;
const ADDRESS_WINDOW_US: i64 = 60 * 1_000_000;

/// What a failure is counted against: the attempted email and the client address.
pub struct Attempt<'a> {
    pub account: String,
    pub ip: Option<&'a str>,
}

impl<'a> Attempt<'a> {
    pub fn new(email: &str, ip: Option<&'a str>) -> Attempt<'a> {
        Attempt { account: email.trim().to_lowercase(), ip }
    }
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// `Err(429)` while either window is full, saying in how many seconds to retry.
pub async fn check(db: &Db, attempt: &Attempt<'_>) -> ApiResult<()> {
    let now = now_us();
    let mut wait_us = blocked_for(db, "account", &attempt.account, ACCOUNT_LIMIT, ACCOUNT_WINDOW_US, now).await?;
    if let Some(ip) = attempt.ip {
        wait_us = wait_us.max(blocked_for(db, "ip", ip, ADDRESS_LIMIT, ADDRESS_WINDOW_US, now).await?);
    }
    if wait_us <= 0 {
        return Ok(());
    }
    let secs = (wait_us as u64).div_ceil(1_000_000).max(1);
    Err(ApiError {
        retry_after: Some(secs),
        ..ApiError::new(ErrorKind::TooManyAttempts, format!("Too many failed sign-in attempts. Try again in {secs} seconds."))
    })
}

/// How long until the `limit`-th newest failure in the window leaves it (≤ 0: not blocked).
async fn blocked_for(db: &Db, column: &'static str, value: &str, limit: i64, window_us: i64, now: i64) -> ApiResult<i64> {
    // The failures in the window, newest first: the limit-th one is the one whose expiry
    // lets the next attempt through.
    let sql = format!("SELECT failed_us FROM login_failures WHERE {column} = $1 AND failed_us > $2 ORDER BY failed_us DESC LIMIT 1 OFFSET $3");
    let row: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .bind(now - window_us)
        .bind(limit - 1)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map_or(0, |(at,)| at + window_us - now))
}

/// Counts a failed attempt.
pub async fn failed(db: &Db, attempt: &Attempt<'_>) -> ApiResult<()> {
    sqlx::query("INSERT INTO login_failures (account, ip, failed_us) VALUES ($1, $2, $3)")
        .bind(&attempt.account)
        .bind(attempt.ip)
        .bind(now_us())
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A successful sign-in clears the account's count (not the address's: one good password
/// must not reopen a window for guessing others).
pub async fn succeeded(db: &Db, attempt: &Attempt<'_>) -> ApiResult<()> {
    sqlx::query("DELETE FROM login_failures WHERE account = $1").bind(&attempt.account).execute(db.pool()).await?;
    Ok(())
}

/// Forgets failures older than every window (the maintenance loop calls this).
pub async fn purge(db: &Db) -> ApiResult<u64> {
    let cutoff = now_us() - ACCOUNT_WINDOW_US.max(ADDRESS_WINDOW_US);
    Ok(sqlx::query("DELETE FROM login_failures WHERE failed_us < $1").bind(cutoff).execute(db.pool()).await?.rows_affected())
}
