//! File contents on disk, under the data directory, named by their SHA-256
//! (`files/ab/abcdef…`). A body is streamed to a temporary file while it is hashed and
//! counted — never held whole in memory — and moved into place only when its row is about
//! to commit. A temporary file is removed when dropped unless kept; contents no row names
//! (a crash between the move and the commit) are removed by [`Blobs::sweep`].

use super::reservation::Reservation;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncWriteExt;

/// Contents younger than this are never swept: an upload may be about to commit its row.
pub const SWEEP_GRACE: Duration = Duration::from_secs(600);
const WRITE_BUFFER: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
}

/// Why a body was not received.
#[derive(Debug)]
pub enum ReceiveError {
    /// More bytes than allowed: the transfer stopped there.
    TooLarge,
    /// The client's body failed (disconnect, limit layer).
    Body(String),
    /// The disk failed (full, permissions).
    Disk(std::io::Error),
    /// The org's quota has no room for the bytes so far.
    NoRoom,
    /// The quota could not be reserved (the database failed).
    Reserve(crate::error::ApiError),
}

/// A received body in a temporary file, removed on drop unless moved into place.
pub struct Received {
    path: Option<PathBuf>,
    pub size: u64,
    pub sha256: String,
}

impl Drop for Received {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Blobs {
    pub fn new(data_dir: &Path) -> Blobs {
        Blobs { root: data_dir.join("files") }
    }

    pub fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2.min(sha256.len())]).join(sha256)
    }

    /// Streams `body` to a temporary file, hashing as it goes; stops past `limit` bytes or
    /// where `room` cannot cover the bytes so far (the temporary file is then removed).
    pub async fn receive(&self, body: axum::body::Body, limit: u64, room: &mut Reservation) -> Result<Received, ReceiveError> {
        let tmp = self.root.join("tmp");
        tokio::fs::create_dir_all(&tmp).await.map_err(ReceiveError::Disk)?;
        let path = tmp.join(crate::backend::db::new_id());
        let file = tokio::fs::File::create(&path).await.map_err(ReceiveError::Disk)?;
        let mut received = Received { path: Some(path), size: 0, sha256: String::new() };
        let mut out = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut hasher = Sha256::new();
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ReceiveError::Body(e.to_string()))?;
            received.size += chunk.len() as u64;
            if received.size > limit {
                return Err(ReceiveError::TooLarge);
            }
            if !room.cover(received.size).await.map_err(ReceiveError::Reserve)? {
                return Err(ReceiveError::NoRoom);
            }
            hasher.update(&chunk);
            out.write_all(&chunk).await.map_err(ReceiveError::Disk)?;
        }
        out.flush().await.map_err(ReceiveError::Disk)?;
        out.into_inner().sync_all().await.map_err(ReceiveError::Disk)?;
        received.sha256 = hex::encode(hasher.finalize());
        Ok(received)
    }

    /// Moves a received body into place under its hash (replacing identical contents, which
    /// also makes them young again for the sweep).
    pub async fn keep(&self, mut received: Received) -> std::io::Result<()> {
        let target = self.path(&received.sha256);
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let path = received.path.take().expect("a received body has its file until kept");
        match tokio::fs::rename(&path, &target).await {
            Ok(()) => Ok(()),
            Err(err) => {
                let _ = tokio::fs::remove_file(&path).await;
                Err(err)
            }
        }
    }

    /// Removes contents no longer named by any row, unless an upload may be placing them now.
    pub async fn forget(&self, db: &crate::backend::db::Db, sha256: &str) {
        if named(db, sha256).await.unwrap_or(true) {
            return;
        }
        let path = self.path(sha256);
        if young(&path).await {
            return;
        }
        let _ = tokio::fs::remove_file(path).await;
    }

    /// Removes contents that no row names and temporary files left by a crash, both older
    /// than [`SWEEP_GRACE`]; how many files went. Safe with several instances: each removal
    /// is checked against the rows just before.
    pub async fn sweep(&self, db: &crate::backend::db::Db) -> std::io::Result<usize> {
        let mut removed = 0;
        let Ok(mut dirs) = tokio::fs::read_dir(&self.root).await else { return Ok(0) };
        while let Some(dir) = dirs.next_entry().await? {
            if !dir.file_type().await?.is_dir() {
                continue;
            }
            let temporary = dir.file_name() == "tmp";
            let Ok(mut entries) = tokio::fs::read_dir(dir.path()).await else { continue };
            while let Some(entry) = entries.next_entry().await? {
                let path = entry.path();
                if young(&path).await {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                if temporary || !named(db, &name).await.unwrap_or(true) {
                    // Another instance's sweep may have taken it first.
                    match tokio::fs::remove_file(&path).await {
                        Ok(()) => removed += 1,
                        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                        Err(err) => return Err(err),
                    }
                }
            }
        }
        Ok(removed)
    }
}

async fn named(db: &crate::backend::db::Db, sha256: &str) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM files WHERE sha256 = $1 LIMIT 1").bind(sha256).fetch_optional(db.pool()).await?;
    Ok(row.is_some())
}

async fn young(path: &Path) -> bool {
    let modified = tokio::fs::metadata(path).await.and_then(|m| m.modified());
    modified.is_ok_and(|m| SystemTime::now().duration_since(m).unwrap_or_default() < SWEEP_GRACE)
}
