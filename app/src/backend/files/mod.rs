//! Org files and the storage meter. The org's `storage_used_bytes` changes in the same
//! transaction as the file row — a conditional `UPDATE` that also enforces the quota on
//! insert, `DELETE … RETURNING size` on delete — so concurrent uploads and deletes never
//! drift and a file is subtracted once. Contents are streamed to disk (`blobs`); downloads
//! and public links (`/s/{token}`, the token stored hashed) are audited, anonymous ones with
//! the visitor's address.

pub mod blobs;
pub mod reservation;

use super::audit::NewEvent;
use super::plans::quota_sql;
use super::db::{new_id, now, Db};
use super::sessions::{hash_token, ClientInfo};
use super::Acting;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::model::{Actor, FileShare, KeyCreator, OrgFile, Usage};
use blobs::{Blobs, ReceiveError};
use reservation::Reservation;
use serde_json::json;

/// The most characters of a file name.
pub const MAX_NAME_CHARS: usize = 255;

/// A file name as given: kept as is, refused when it could name a path or hide characters.
pub fn check_name(name: &str) -> ApiResult<&str> {
    let invalid = |why: &str| Err(ApiError::invalid("name", why.to_owned()));
    if name.trim().is_empty() {
        return invalid("is required (?name=report.pdf)");
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return invalid(&format!("is longer than {MAX_NAME_CHARS} characters"));
    }
    if name.contains(['/', '\\']) || name == "." || name.contains("..") {
        return invalid("must not contain /, \\ or ..");
    }
    if name.chars().any(char::is_control) {
        return invalid("must not contain NUL or control characters");
    }
    Ok(name)
}

/// Room left in the org: `(used, quota)`; 404 for no such org.
async fn usage_row(db: &Db, org_id: &str) -> ApiResult<(i64, i64)> {
    let sql = format!("SELECT storage_used_bytes, {} FROM orgs WHERE id = $1", quota_sql());
    let row: Option<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id).fetch_optional(db.pool()).await?;
    row.ok_or_else(|| ApiError::not_found("Organisation"))
}

fn quota_exceeded(used: i64, quota: i64) -> ApiError {
    let mib = |b: i64| b as f64 / (1024.0 * 1024.0);
    ApiError::new(
        ErrorKind::StorageQuotaExceeded,
        format!("This upload would pass the org's storage quota ({:.1} MiB of {:.1} MiB used).", mib(used), mib(quota)),
    )
}

/// What an upload needs besides its body.
pub struct Upload<'a> {
    pub org_id: &'a str,
    pub name: &'a str,
    /// `Content-Length`, when announced: checked before a byte is read.
    pub announced: Option<u64>,
    pub max_file_bytes: u64,
}

pub async fn upload(db: &Db, blobs: &Blobs, upload: Upload<'_>, body: axum::body::Body, by: &Acting<'_>) -> ApiResult<OrgFile> {
    let name = check_name(upload.name)?;
    let (used, quota) = usage_row(db, upload.org_id).await?;
    let refuse = |size: Option<u64>, error: ApiError| async move {
        let meta = json!({ "name": name, "size": size, "storage_used_bytes": used, "storage_quota_bytes": quota, "reason": error.message });
        by.audit.record(NewEvent::new(Some(upload.org_id), "file.upload_refused", by.actor.clone(), "file", None).metadata(meta).client(by.client)).await;
        error
    };
    let too_big = || ApiError::new(ErrorKind::PayloadTooLarge, format!("A file may be {} MiB at most.", upload.max_file_bytes / (1024 * 1024)));
    let no_room = || async {
        let (used, quota) = usage_row(db, upload.org_id).await?;
        ApiResult::Ok(quota_exceeded(used, quota))
    };
    if let Some(size) = upload.announced.filter(|size| *size > upload.max_file_bytes) {
        return Err(refuse(Some(size), too_big()).await);
    }
    // An announced length is reserved at once; an unannounced one as it streams.
    let Some(mut reservation) = Reservation::open(db, upload.org_id, upload.announced.unwrap_or(0)).await? else {
        return Err(refuse(upload.announced, no_room().await?).await);
    };
    let received = match blobs.receive(body, upload.max_file_bytes, &mut reservation).await {
        Ok(received) => received,
        Err(why) => {
            // Given back before the answer, so a retry at once finds the room again.
            reservation.give_back().await;
            return Err(match why {
                ReceiveError::NoRoom => refuse(None, no_room().await?).await,
                ReceiveError::TooLarge => refuse(None, too_big()).await,
                ReceiveError::Reserve(err) => err,
                ReceiveError::Body(why) => ApiError::new(ErrorKind::BadRequest, format!("The upload was cut off: {why}")),
                ReceiveError::Disk(err) => {
                    tracing::error!(error = %err, "files: could not write an upload");
                    ApiError::new(ErrorKind::InsufficientStorage, "The server could not store the file (its disk refused). Nothing was kept.")
                }
            });
        }
    };
    let size = received.size as i64;
    let sha256 = received.sha256.clone();
    let file = OrgFile {
        id: new_id(),
        name: name.to_owned(),
        size,
        sha256: sha256.clone(),
        content_type: mime_guess::from_path(name).first_or_octet_stream().essence_str().to_owned(),
        created_by: KeyCreator { id: by.actor.id.clone().unwrap_or_default(), name: by.actor.label.clone() },
        created_at: now(),
        shared: false,
    };
    // The meter and the row in one transaction: the reservation becomes used bytes.
    let mut tx = db.pool().begin().await?;
    if !reservation.settle_in(&mut tx, received.size).await? {
        drop(tx);
        return Err(refuse(Some(received.size), ApiError::new(ErrorKind::StorageQuotaExceeded, "The upload stalled for so long that its room in the quota was given back. Try again.")).await);
    }
    sqlx::query(
        "INSERT INTO files (id, org_id, name, size, sha256, content_type, created_by_id, created_by_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&file.id)
    .bind(upload.org_id)
    .bind(&file.name)
    .bind(size)
    .bind(&sha256)
    .bind(&file.content_type)
    .bind(&file.created_by.id)
    .bind(&file.created_by.name)
    .bind(&file.created_at)
    .execute(&mut *tx)
    .await?;
    // In place before the commit: a crash after this leaves contents no row names (swept),
    // never a row without contents.
    if let Err(err) = blobs.keep(received).await {
        tracing::error!(error = %err, "files: could not move an upload into place");
        return Err(ApiError::new(ErrorKind::InsufficientStorage, "The server could not store the file (its disk refused). Nothing was kept."));
    }
    tx.commit().await?;
    reservation.settled();
    let meta = json!({ "name": file.name, "size": size, "sha256": sha256, "content_type": file.content_type });
    by.audit.record(NewEvent::new(Some(upload.org_id), "file.uploaded", by.actor.clone(), "file", Some(&file.id)).metadata(meta).client(by.client)).await;
    Ok(file)
}

const COLUMNS: &str = "f.id, f.name, f.size, f.sha256, f.content_type, f.created_by_id, f.created_by_name, f.created_at, \
     CASE WHEN EXISTS (SELECT 1 FROM file_shares s WHERE s.file_id = f.id AND s.revoked_at IS NULL) THEN 1 ELSE 0 END";
type Row = (String, String, i64, String, String, Option<String>, String, String, i64);

fn from_row(r: Row) -> OrgFile {
    OrgFile { id: r.0, name: r.1, size: r.2, sha256: r.3, content_type: r.4, created_by: KeyCreator { id: r.5.unwrap_or_default(), name: r.6 }, created_at: r.7, shared: r.8 > 0 }
}

/// The org's files, newest first.
/// One page of the org's files, newest first, and the cursor of the next.
pub async fn list(db: &Db, org_id: &str, limit: Option<i64>, cursor: Option<&str>) -> ApiResult<(Vec<OrgFile>, Option<String>)> {
    let limit = super::cursor::limit(limit)?;
    let after = cursor.filter(|c| !c.is_empty()).map(super::cursor::decode_text::<2>).transpose()?;
    let keyset = if after.is_some() { " AND (f.created_at < $2 OR (f.created_at = $2 AND f.id < $3))" } else { "" };
    let mut files = select(db, org_id, &format!("{keyset} ORDER BY f.created_at DESC, f.id DESC LIMIT {}", limit + 1), after.as_ref()).await?;
    let more = files.len() as i64 > limit;
    files.truncate(limit as usize);
    let next = if more { files.last().map(|f| super::cursor::encode_text([&f.created_at, &f.id])) } else { None };
    Ok((files, next))
}

/// The org's `n` largest files (the Usage page), biggest first.
pub async fn largest(db: &Db, org_id: &str, n: i64) -> ApiResult<Vec<OrgFile>> {
    select(db, org_id, &format!("ORDER BY f.size DESC, f.name LIMIT {n}"), None).await
}

/// The org's files as `rest` (a condition on `$2`, `$3` = `keys`, then the order) picks them.
async fn select(db: &Db, org_id: &str, rest: &str, keys: Option<&[String; 2]>) -> ApiResult<Vec<OrgFile>> {
    let sql = format!("SELECT {COLUMNS} FROM files f WHERE f.org_id = $1 {rest}");
    let mut query = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)).bind(org_id);
    for key in keys.into_iter().flatten() {
        query = query.bind(key);
    }
    Ok(query.fetch_all(db.pool()).await?.into_iter().map(from_row).collect())
}

pub async fn get(db: &Db, org_id: &str, id: &str) -> ApiResult<OrgFile> {
    let sql = format!("SELECT {COLUMNS} FROM files f WHERE f.org_id = $1 AND f.id = $2");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id).bind(id).fetch_optional(db.pool()).await?;
    row.map(from_row).ok_or_else(|| ApiError::not_found("File"))
}

/// Deletes a file once: the row goes and its size is subtracted in one transaction; a second
/// delete finds nothing (404).
pub async fn delete(db: &Db, blobs: &Blobs, org_id: &str, id: &str, by: &Acting<'_>) -> ApiResult<()> {
    let mut tx = db.pool().begin().await?;
    let gone: Option<(i64, String, String)> =
        sqlx::query_as("DELETE FROM files WHERE id = $1 AND org_id = $2 RETURNING size, sha256, name").bind(id).bind(org_id).fetch_optional(&mut *tx).await?;
    let Some((size, sha256, name)) = gone else { return Err(ApiError::not_found("File")) };
    sqlx::query("UPDATE orgs SET storage_used_bytes = storage_used_bytes - $1 WHERE id = $2").bind(size).bind(org_id).execute(&mut *tx).await?;
    tx.commit().await?;
    blobs.forget(db, &sha256).await;
    let meta = json!({ "name": name, "size": size, "sha256": sha256 });
    by.audit.record(NewEvent::new(Some(org_id), "file.deleted", by.actor.clone(), "file", Some(id)).metadata(meta).client(by.client)).await;
    Ok(())
}

/// A file's contents to stream, and the download on the record (a person, a key, or an
/// anonymous visitor through a public link).
pub async fn open(blobs: &Blobs, file: &OrgFile) -> ApiResult<tokio::fs::File> {
    tokio::fs::File::open(blobs.path(&file.sha256)).await.map_err(|err| {
        tracing::error!(error = %err, file = %file.id, "files: contents missing");
        ApiError::new(ErrorKind::Internal, "This file's contents cannot be read.")
    })
}

pub async fn record_download(org_id: &str, file: &OrgFile, actor: Actor, client: &ClientInfo, audit: &super::audit::Recorder, via_link: bool) {
    let meta = json!({ "name": file.name, "size": file.size, "sha256": file.sha256, "via": if via_link { "public_link" } else { "api" } });
    audit.record(NewEvent::new(Some(org_id), "file.downloaded", actor, "file", Some(&file.id)).metadata(meta).client(client)).await;
}

/// A new public link (256 random bits; only their SHA-256 is kept).
pub async fn share(db: &Db, org_id: &str, id: &str, public_base: &str, by: &Acting<'_>) -> ApiResult<FileShare> {
    let file = get(db, org_id, id).await?;
    let token = super::sessions::random_token();
    let share = FileShare { id: new_id(), url: format!("{public_base}/s/{token}"), created_at: now() };
    sqlx::query("INSERT INTO file_shares (id, file_id, org_id, token_hash, created_by_name, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&share.id)
        .bind(id)
        .bind(org_id)
        .bind(hash_token(&token))
        .bind(&by.actor.label)
        .bind(&share.created_at)
        .execute(db.pool())
        .await?;
    let meta = json!({ "name": file.name, "share_id": share.id });
    by.audit.record(NewEvent::new(Some(org_id), "file.shared", by.actor.clone(), "file", Some(id)).metadata(meta).client(by.client)).await;
    Ok(share)
}

/// Revokes every active link of a file; how many.
pub async fn revoke_shares(db: &Db, org_id: &str, id: &str, by: &Acting<'_>) -> ApiResult<u64> {
    let file = get(db, org_id, id).await?;
    let revoked = sqlx::query("UPDATE file_shares SET revoked_at = $1 WHERE file_id = $2 AND org_id = $3 AND revoked_at IS NULL")
        .bind(now())
        .bind(id)
        .bind(org_id)
        .execute(db.pool())
        .await?
        .rows_affected();
    if revoked > 0 {
        let meta = json!({ "name": file.name, "links_revoked": revoked });
        by.audit.record(NewEvent::new(Some(org_id), "file.share_revoked", by.actor.clone(), "file", Some(id)).metadata(meta).client(by.client)).await;
    }
    Ok(revoked)
}

/// The file an active public link names. Unknown, revoked and malformed tokens alike are a
/// 404 after the same work: one hash and one indexed lookup.
pub async fn resolve_share(db: &Db, token: &str) -> ApiResult<(String, OrgFile)> {
    let sql = format!(
        "SELECT {COLUMNS}, f.org_id FROM file_shares s JOIN files f ON f.id = s.file_id WHERE s.token_hash = $1 AND s.revoked_at IS NULL"
    );
    let row: Option<(String, String, i64, String, String, Option<String>, String, String, i64, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(hash_token(token)).fetch_optional(db.pool()).await?;
    let r = row.ok_or_else(|| ApiError::not_found("Link"))?;
    Ok((r.9.clone(), from_row((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8))))
}

/// The org's latest `limit` billing events (the Usage & billing page).
pub async fn billing_events(db: &Db, org_id: &str, limit: i64) -> ApiResult<Vec<crate::model::AuditEvent>> {
    let query = crate::model::AuditQuery {
        action: Some("billing.subscription_changed,billing.invoice_paid,billing.payment_failed,billing.dispute_created".into()),
        ..Default::default()
    };
    let filter = crate::backend::audit::store::Filter::from_query(&query)?;
    Ok(crate::backend::audit::store::list(db, Some(org_id), &filter, Some(limit), None).await?.events)
}

pub async fn usage(db: &Db, org_id: &str) -> ApiResult<Usage> {
    let sql = format!(
        "SELECT storage_used_bytes, {}, (SELECT COUNT(*) FROM files WHERE org_id = $1), plan, billing_status, seats FROM orgs WHERE id = $1",
        quota_sql()
    );
    let row: Option<(i64, i64, i64, String, String, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id).fetch_optional(db.pool()).await?;
    let r = row.ok_or_else(|| ApiError::not_found("Organisation"))?;
    Ok(Usage { storage_used_bytes: r.0, storage_quota_bytes: r.1, files: r.2, plan: r.3, billing_status: r.4, seats: r.5 })
}

/// Every org's storage in use (for /metrics).
pub async fn storage_by_org(db: &Db) -> ApiResult<Vec<(String, i64)>> {
    Ok(sqlx::query_as("SELECT id, storage_used_bytes FROM orgs").fetch_all(db.pool()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_be_paths_are_refused() {
        for ok in ["report.pdf", "Q3 numbers (final).xlsx", "été.txt", ".hidden"] {
            assert_eq!(check_name(ok).unwrap(), ok);
        }
        for bad in ["", "  ", "a/b", "..", "../etc/passwd", "a\\b", "nul\0byte", "tab\there", &"x".repeat(256)] {
            assert_eq!(check_name(bad).unwrap_err().field.as_deref(), Some("name"), "{bad:?}");
        }
    }
}
