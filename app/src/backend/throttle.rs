//! Login throttling: at most 5 attempts for one account are checked against the password in
//! 15 minutes, and 30 from one client address in a minute; the rest answer 429 with
//! `Retry-After` at once, the right password included. An attempt takes its slot before the
//! check, atomically in the database (so parallel attempts, on one instance or several,
//! cannot all pass), and a successful attempt gives its slot back.

use super::db::Db;
use crate::error::{ApiError, ApiResult, ErrorKind};

/// `(scope, attempts, window)`: what one subject may try in one window.
const ACCOUNT: (&str, i64, i64) = ("account", 5, 15 * 60 * 1_000_000);
const ADDRESS: (&str, i64, i64) = ("ip", 30, 60 * 1_000_000);

/// What an attempt is counted against: the attempted email and the client address.
pub struct Attempt<'a> {
    pub account: String,
    pub ip: Option<&'a str>,
}

impl<'a> Attempt<'a> {
    pub fn new(email: &str, ip: Option<&'a str>) -> Attempt<'a> {
        Attempt { account: email.trim().to_lowercase(), ip }
    }

    fn subjects(&self) -> impl Iterator<Item = ((&'static str, i64, i64), &str)> {
        std::iter::once((ACCOUNT, self.account.as_str())).chain(self.ip.map(|ip| (ADDRESS, ip)))
    }
}

/// The slots an attempt holds; give them back with [`Slots::give_back`] when the attempt
/// should not count (it succeeded). A failed attempt keeps them until its window ends.
pub struct Slots(Vec<Slot>);

struct Slot {
    scope: &'static str,
    subject: String,
    window_start_us: i64,
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Takes a slot for the account and for the address, or answers 429 (holding none) when
/// either window is full, saying in how many seconds to retry.
pub async fn take(db: &Db, attempt: &Attempt<'_>) -> ApiResult<Slots> {
    let now = now_us();
    let too_many = |window_start_us: i64, window_us: i64| {
        let secs = ((window_start_us + window_us - now).max(0) as u64).div_ceil(1_000_000).max(1);
        Err(ApiError {
            retry_after: Some(secs),
            ..ApiError::new(ErrorKind::TooManyAttempts, format!("Too many sign-in attempts. Try again in {secs} seconds."))
        })
    };
    // A window already full is refused on a read, without a write: what a throttled
    // account's flood costs. (A stale read only sends an attempt on to the atomic claim.)
    for ((scope, limit, window_us), subject) in attempt.subjects() {
        let row: Option<(i64, i64)> = sqlx::query_as("SELECT used, window_start_us FROM login_slots WHERE scope = $1 AND subject = $2")
            .bind(scope)
            .bind(subject)
            .fetch_optional(db.pool())
            .await?;
        if let Some((_, window_start_us)) = row.filter(|(used, start)| *used >= limit && *start > now - window_us) {
            return too_many(window_start_us, window_us);
        }
    }
    let mut held = Slots(Vec::new());
    for ((scope, limit, window_us), subject) in attempt.subjects() {
        let (used, window_start_us): (i64, i64) = sqlx::query_as(
            "INSERT INTO login_slots (scope, subject, window_start_us, used) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (scope, subject) DO UPDATE SET \
               used = CASE WHEN login_slots.window_start_us <= $4 THEN 1 ELSE login_slots.used + 1 END, \
               window_start_us = CASE WHEN login_slots.window_start_us <= $4 THEN $3 ELSE login_slots.window_start_us END \
             RETURNING used, window_start_us",
        )
        .bind(scope)
        .bind(subject)
        .bind(now)
        .bind(now - window_us)
        .fetch_one(db.pool())
        .await?;
        held.0.push(Slot { scope, subject: subject.to_owned(), window_start_us });
        if used > limit {
            held.give_back(db).await?;
            return too_many(window_start_us, window_us);
        }
    }
    Ok(held)
}

impl Slots {
    /// Returns the slots to their windows (a window that has since restarted is left alone).
    pub async fn give_back(&self, db: &Db) -> ApiResult<()> {
        for slot in &self.0 {
            sqlx::query("UPDATE login_slots SET used = used - 1 WHERE scope = $1 AND subject = $2 AND window_start_us = $3 AND used > 0")
                .bind(slot.scope)
                .bind(&slot.subject)
                .bind(slot.window_start_us)
                .execute(db.pool())
                .await?;
        }
        Ok(())
    }
}

/// Forgets windows that have ended (the maintenance loop calls this).
pub async fn purge(db: &Db) -> ApiResult<u64> {
    let cutoff = now_us() - ACCOUNT.2.max(ADDRESS.2);
    Ok(sqlx::query("DELETE FROM login_slots WHERE window_start_us < $1").bind(cutoff).execute(db.pool()).await?.rows_affected())
}
