//! What expires is removed: sessions and sign-in challenges past their expiry, login throttling windows that have
//! ended, file contents no row names, quota reservations of uploads whose instance died. Deletes of what is already dead, so any
//! number of app instances may run this loop at once.

use super::db::Db;
use super::files::blobs::Blobs;
use super::files::reservation;
use super::{mfa, sessions, throttle};
use std::time::Duration;

pub fn spawn(db: Db, blobs: Blobs, every: Duration) {
    super::jobs::spawn_loop("housekeeping", every, move || {
        let (db, blobs) = (db.clone(), blobs.clone());
        async move {
            match blobs.sweep(&db).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "housekeeping: orphan file contents removed"),
                Err(err) => tracing::warn!(error = %err, "housekeeping: could not sweep file contents"),
            }
            let (sessions, windows, reservations) = (sessions::purge_expired(&db).await?, throttle::purge(&db).await?, reservation::reclaim_stale(&db).await?);
            let challenges = mfa::purge_expired(&db).await? + mfa::passkeys::purge_expired(&db).await?;
            if sessions + windows + reservations + challenges > 0 {
                tracing::info!(sessions, login_windows = windows, upload_reservations = reservations, challenges, "housekeeping: expired rows removed");
            }
            Ok(false)
        }
    });
}
