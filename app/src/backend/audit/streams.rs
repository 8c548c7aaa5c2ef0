//! Streams: an org's trail POSTed to its SIEMs as it is sealed. Each stream has a cursor (the
//! last `seq` delivered); a delivery round claims a stream as a background job (`backend/jobs`:
//! so with several instances each event goes out once per stream, in `seq` order), POSTs the
//! sealed events after its cursor one at a time, and moves the cursor after each success. A
//! refusal or an unreachable receiver keeps the cursor where it is and retries with backoff
//! capped at 30 s, so a receiver that was down gets everything once it is back (an instance
//! killed mid-POST leaves that one event to be sent again; `webhook-id` lets receivers drop it).
//! Bodies are signed per Standard Webhooks; egress follows the rule of `http_request` steps.

use super::store::{from_row, Row, ROW_COLUMNS};
use super::{ocsf, NewEvent};
use crate::backend::credentials;
use crate::backend::db::{format_time, new_id, now, Db};
use crate::backend::jobs::{self, Backoff, Extra, Jobs, Kind, Lease};
use crate::backend::executions::egress;
use crate::backend::telemetry::Telemetry;
use crate::backend::{Acting, Config};
use crate::error::{ApiError, ApiResult};
use crate::model::{AuditEvent, AuditStream};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const SECRET_PREFIX: &str = "whsec_";
pub const BACKOFF: Backoff = Backoff { first: Duration::from_millis(500), max: Duration::from_secs(30) };
/// A round hands its stream back after this long, so one busy stream does not keep an
/// instance's loop from the others.
const ROUND: Duration = Duration::from_secs(20);
/// How often a round saves its cursor at most (and after each event slower than this).
const SAVE_EVERY: Duration = Duration::from_millis(50);
const PAGE: i64 = 500;
const MAX_STREAMS_PER_ORG: i64 = 20;

/// The stream that has waited longest, if it is due: one at a time, its events in order.
pub static KIND: Kind = Kind { name: "streams", table: "audit_streams", key: "id", due: "next_attempt_at <= $1", order: "next_attempt_at", batch: 1 };

/// `json` (the JSON Lines export's line) or `ocsf` (its OCSF 1.5.0 row).
fn body_of(format: &str, event: &AuditEvent) -> String {
    match format {
        "ocsf" => ocsf::row(event).to_string(),
        _ => serde_json::to_string(event).unwrap_or_default(),
    }
}

/// `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), the key being the base64
/// after `whsec_` (Standard Webhooks).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The URL a stream may POST to: http(s), a host, and (unless private egress is allowed) not
/// a literal private address; names are checked again by the egress client when resolved.
fn check_url(url: &str, allow_private: bool) -> ApiResult<String> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url).map_err(|e| ApiError::invalid("url", format!("is not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::invalid("url", "must start with https:// or http://"));
    }
    let host = parsed.host_str().ok_or_else(|| ApiError::invalid("url", "has no host"))?;
    if let Some(refused) = egress::refused_literal(host, allow_private) {
        return Err(ApiError::invalid("url", refused));
    }
    if url.len() > 2048 {
        return Err(ApiError::invalid("url", "is longer than 2,048 characters"));
    }
    Ok(url.to_owned())
}

type StreamRow = (String, String, String, String, i64, i64, i64, String, Option<String>, Option<String>, Option<String>);
const STREAM_COLUMNS: &str = "id, url, format, created_at, cursor_seq, delivered, attempts, next_attempt_at, last_success_at, last_error, last_error_at";

async fn to_stream(db: &Db, org_id: &str, r: StreamRow) -> ApiResult<AuditStream> {
    let (lag,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {} WHERE seq > $1 AND org_id = $2", db.dialect().audit_events_in_range(true, 1, None)))).bind(r.4).bind(org_id).fetch_one(db.pool()).await?;
    Ok(AuditStream {
        id: r.0,
        url: r.1,
        format: r.2,
        created_at: r.3,
        cursor_seq: r.4,
        delivered: r.5,
        failures: r.6,
        next_attempt_at: r.7,
        last_success_at: r.8,
        last_error: r.9,
        last_error_at: r.10,
        lag,
    })
}

/// The org's streams, oldest first, each with how many sealed events it has still to get.
pub async fn list(db: &Db, org_id: &str) -> ApiResult<Vec<AuditStream>> {
    let sql = format!("SELECT {STREAM_COLUMNS} FROM audit_streams WHERE org_id = $1 ORDER BY created_at, id");
    let rows: Vec<StreamRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id).fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(to_stream(db, org_id, r).await?);
    }
    Ok(out)
}

async fn get(db: &Db, org_id: &str, id: &str) -> ApiResult<AuditStream> {
    let sql = format!("SELECT {STREAM_COLUMNS} FROM audit_streams WHERE org_id = $1 AND id = $2");
    let row: Option<StreamRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(org_id).bind(id).fetch_optional(db.pool()).await?;
    to_stream(db, org_id, row.ok_or_else(|| ApiError::not_found("stream"))?).await
}

/// Adds a stream that gets every event sealed from now on; the secret is shown only here.
pub async fn create(db: &Db, config: &Config, org_id: &str, url: &str, format: &str, by: &Acting<'_>) -> ApiResult<(AuditStream, String)> {
    let url = check_url(url, config.egress_allow_private)?;
    if !matches!(format, "json" | "ocsf") {
        return Err(ApiError::invalid("format", format!("must be json or ocsf, not \"{format}\"")));
    }
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_streams WHERE org_id = $1").bind(org_id).fetch_one(db.pool()).await?;
    if count >= MAX_STREAMS_PER_ORG {
        return Err(ApiError::invalid("url", format!("this organisation already has {MAX_STREAMS_PER_ORG} streams; delete one first")));
    }
    let (id, secret, at) = (new_id(), new_secret(), now());
    // From the chain's sealed head: what is sealed from here on goes out.
    let (cursor,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM audit_chain_heads WHERE chain = $1").bind(org_id).fetch_one(db.pool()).await?;
    let created_by = by.actor.id.as_deref();
    sqlx::query(
        "INSERT INTO audit_streams (id, org_id, url, format, secret, created_by_id, created_at, cursor_seq, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $7)",
    )
    .bind(&id)
    .bind(org_id)
    .bind(&url)
    .bind(format)
    .bind(credentials::seal(&config.secret, org_id, &id, &secret))
    .bind(created_by)
    .bind(&at)
    .bind(cursor)
    .execute(db.pool())
    .await?;
    let meta = serde_json::json!({ "url": url, "format": format });
    by.audit.record(NewEvent::new(Some(org_id), "audit_stream.created", by.actor.clone(), "audit_stream", Some(&id)).metadata(meta).client(by.client)).await;
    Ok((get(db, org_id, &id).await?, secret))
}

pub async fn delete(db: &Db, org_id: &str, id: &str, by: &Acting<'_>) -> ApiResult<()> {
    let stream = get(db, org_id, id).await?;
    sqlx::query("DELETE FROM audit_streams WHERE org_id = $1 AND id = $2").bind(org_id).bind(id).execute(db.pool()).await?;
    let meta = serde_json::json!({ "url": stream.url, "format": stream.format, "delivered": stream.delivered });
    by.audit.record(NewEvent::new(Some(org_id), "audit_stream.deleted", by.actor.clone(), "audit_stream", Some(id)).metadata(meta).client(by.client)).await;
    Ok(())
}

/// Why `url` may not be reached, when its host is a literal private address (names are
/// checked by the egress client's resolver).
fn refused(url: &str, allow_private: bool) -> Option<String> {
    reqwest::Url::parse(url).ok().and_then(|u| u.host_str().and_then(|h| egress::refused_literal(h, allow_private)))
}

/// One signed POST; `Err` says why it did not count as delivered.
async fn post(http: &reqwest::Client, url: &str, secret: &str, id: &str, body: String) -> Result<(), String> {
    let timestamp = chrono::Utc::now().timestamp();
    let signature = sign(secret, id, timestamp, &body).ok_or("the stream's secret is unreadable")?;
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(egress::describe)?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {status}"))
    }
}

/// "Send test event": a signed sample (not part of the trail) to the stream now.
pub async fn send_test(db: &Db, config: &Config, http: &reqwest::Client, org_id: &str, id: &str, by: &Acting<'_>) -> ApiResult<Result<(), String>> {
    let stream = get(db, org_id, id).await?;
    let secret = open_secret(db, config, org_id, id).await?;
    let mut event = NewEvent::new(Some(org_id), "audit_stream.test", by.actor.clone(), "audit_stream", Some(id)).client(by.client).finish();
    event.metadata = serde_json::json!({ "test": true, "message": "A test event from Chronicle: this stream is set up." });
    let event_id = format!("test_{}", event.id);
    event.id = event_id.clone();
    if let Some(why) = refused(&stream.url, config.egress_allow_private) {
        return Ok(Err(why));
    }
    Ok(post(http, &stream.url, &secret, &event_id, body_of(&stream.format, &event)).await)
}

async fn open_secret(db: &Db, config: &Config, org_id: &str, id: &str) -> ApiResult<String> {
    let (sealed,): (String,) = sqlx::query_as("SELECT secret FROM audit_streams WHERE org_id = $1 AND id = $2").bind(org_id).bind(id).fetch_one(db.pool()).await?;
    credentials::open(config, org_id, id, &sealed).ok_or_else(|| {
        tracing::error!(stream = id, "the stream's secret cannot be opened with the current CHRONICLE_SECRET");
        ApiError::internal()
    })
}

struct Claimed {
    id: String,
    org_id: String,
    url: String,
    format: String,
    secret: String,
    cursor: i64,
    attempts: i64,
}

/// Gives the stream back: due again at once (no `error`), in a second when it had nothing
/// to send (`idle`), or after a backoff.
async fn release(db: &Db, c: &Claimed, lease: Lease, sent: i64, error: Option<&str>, idle: bool) -> ApiResult<()> {
    let at = now();
    let (attempts, next, error_at) = match error {
        None => (0, format_time(chrono::Utc::now() + chrono::Duration::seconds(if idle { 1 } else { 0 })), None),
        Some(_) => {
            let attempts = if sent > 0 { 1 } else { c.attempts + 1 };
            (attempts, BACKOFF.next_at(attempts), Some(at.clone()))
        }
    };
    sqlx::query(
        "UPDATE audit_streams SET attempts = $1, next_attempt_at = $2, \
         last_error = CASE WHEN $3 IS NULL THEN last_error ELSE $3 END, last_error_at = COALESCE($4, last_error_at) \
         WHERE id = $5 AND lease_holder = $6",
    )
    .bind(attempts)
    .bind(next)
    .bind(error.map(|e| e.chars().take(500).collect::<String>()))
    .bind(error_at)
    .bind(&c.id)
    .bind(lease.holder())
    .execute(db.pool())
    .await?;
    lease.release().await;
    Ok(())
}

/// One round: claims a due stream and delivers what it can; how many events went out, or
/// `None` when no stream was due. The cursor moves with each delivery, while the lease
/// holds, so an instance that takes the stream over starts after the last one delivered.
pub async fn deliver_one(jobs: &Jobs, config: &Config, http: &reqwest::Client, telemetry: &Telemetry) -> ApiResult<Option<usize>> {
    let returning = "id, org_id, url, format, secret, cursor_seq, attempts";
    let Some((mut rows, lease)) = jobs.claim::<(String, String, String, String, String, i64, i64)>(&KIND, returning, &Extra::default()).await? else {
        return Ok(None);
    };
    let (id, org_id, url, format, sealed, cursor, attempts) = rows.remove(0);
    let secret = credentials::open(config, &org_id, &id, &sealed).unwrap_or_default();
    let c = Claimed { id, org_id, url, format, secret, cursor, attempts };
    let db = jobs.db();
    let started = Instant::now();
    let (mut cursor, mut sent, mut unsaved, mut saved) = (c.cursor, 0i64, 0i64, Instant::now());
    let mut error = refused(&c.url, config.egress_allow_private);
    let mut idle = false;
    'rounds: while error.is_none() && started.elapsed() < ROUND {
        let sql = format!("SELECT {ROW_COLUMNS} FROM {} WHERE seq > $1 AND org_id = $2 ORDER BY seq LIMIT {PAGE}", db.dialect().audit_events_in_range(true, 1, None));
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cursor).bind(&c.org_id).fetch_all(db.pool()).await?;
        if rows.is_empty() {
            idle = true;
            break;
        }
        for row in rows {
            if !lease.held() {
                break 'rounds;
            }
            let event = from_row(row);
            let seq = event.seq.unwrap_or(cursor);
            if let Err(err) = post(http, &c.url, &c.secret, &event.id, body_of(&c.format, &event)).await {
                telemetry.stream_delivery("failed");
                jobs.count(&KIND, "retried", 1);
                error = Some(err);
                break 'rounds;
            }
            telemetry.stream_delivery("delivered");
            jobs.count(&KIND, "done", 1);
            (cursor, sent, unsaved) = (seq, sent + 1, unsaved + 1);
            // A slow receiver's every event is saved as it is done; a fast one's every few
            // milliseconds (a write per event would cost more than the POST).
            if saved.elapsed() >= SAVE_EVERY && !save(db, &c, &lease, cursor, &mut unsaved, &mut saved).await? {
                return Ok(Some(sent as usize));
            }
        }
    }
    if !save(db, &c, &lease, cursor, &mut unsaved, &mut saved).await? {
        return Ok(Some(sent as usize));
    }
    if let Some(err) = &error {
        tracing::warn!(stream = %c.id, error = %err, "audit stream: delivery failed; retried with backoff");
    }
    release(db, &c, lease, sent, error.as_deref(), idle).await?;
    Ok(Some(sent as usize))
}

/// Moves the cursor past the `unsaved` events delivered since the last save, while the
/// lease holds; answers whether it still does.
async fn save(db: &Db, c: &Claimed, lease: &Lease, cursor: i64, unsaved: &mut i64, saved: &mut Instant) -> ApiResult<bool> {
    if *unsaved == 0 {
        return Ok(lease.held());
    }
    let moved = sqlx::query("UPDATE audit_streams SET cursor_seq = $1, delivered = delivered + $2, last_success_at = $3, attempts = 0 WHERE id = $4 AND lease_holder = $5")
        .bind(cursor)
        .bind(*unsaved)
        .bind(now())
        .bind(&c.id)
        .bind(lease.holder())
        .execute(db.pool())
        .await?
        .rows_affected();
    (*unsaved, *saved) = (0, Instant::now());
    Ok(lease.confirm(moved))
}

/// The delivery loop (safe with any number of instances): rounds back to back while streams
/// are due, a short sleep when none is.
pub fn spawn(jobs: Jobs, config: Arc<Config>, telemetry: Telemetry, idle: Duration) {
    let http = egress::client(config.egress_allow_private);
    jobs::spawn_loop("streams", idle, move || {
        let (jobs, config, http, telemetry) = (jobs.clone(), config.clone(), http.clone(), telemetry.clone());
        async move { Ok(deliver_one(&jobs, &config, &http, &telemetry).await?.is_some()) }
    });
}
