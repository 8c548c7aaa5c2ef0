//! What expires is removed: sessions past their expiry, login failures past every
//! throttling window, file contents no row names. Deletes of what is already dead, so any
//! number of app instances may run this loop at once.

use super::db::Db;
use super::files::blobs::Blobs;
use super::{sessions, throttle};
use std::time::Duration;

pub fn spawn(db: Db, blobs: Blobs, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match blobs.sweep(&db).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "housekeeping: orphan file contents removed"),
                Err(err) => tracing::warn!(error = %err, "housekeeping: could not sweep file contents"),
            }
            match (sessions::purge_expired(&db).await, throttle::purge(&db).await) {
                (Ok(sessions), Ok(failures)) if sessions + failures > 0 => {
                    tracing::info!(sessions, login_failures = failures, "housekeeping: expired rows removed");
                }
                (Ok(_), Ok(_)) => {}
                (Err(err), _) | (_, Err(err)) => tracing::warn!(error = %err, "housekeeping failed; retried next round"),
            }
            tokio::time::sleep(every).await;
        }
    })
}
