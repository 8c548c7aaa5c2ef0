//! Streams: an org's trail POSTed to its SIEMs as it is sealed. Each stream has a cursor (the
//! last `seq` delivered); a delivery round claims a stream by lease (so with several
//! instances each event goes out once per stream), POSTs the sealed events after its cursor
//! one at a time in `seq` order, and moves the cursor after each success. A refusal or an
//! unreachable receiver keeps the cursor where it is and retries with backoff capped at 30 s,
//! so a receiver that was down gets everything once it is back (at-least-once: a delivery
//! answered after the lease ran out may be repeated; `webhook-id` lets receivers drop it).
//! Bodies are signed per Standard Webhooks; egress follows the rule of `http_request` steps.

use super::store::{events_in_range, from_row, Row, ROW_COLUMNS};
use super::{ocsf, NewEvent};
use crate::backend::credentials;
use crate::backend::db::{format_time, new_id, now, Backend, Db};
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
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub const SECRET_PREFIX: &str = "whsec_";
const MAX_BACKOFF_SECS: i64 = 30;
const LEASE_SECS: i64 = 60;
/// A round hands its stream back after this long, so the lease never runs out mid-round.
const ROUND: Duration = Duration::from_secs(20);
const PAGE: i64 = 500;
const MAX_STREAMS_PER_ORG: i64 = 20;

fn holder() -> &'static str {
    static HOLDER: OnceLock<String> = OnceLock::new();
    HOLDER.get_or_init(new_id)
}

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
    let (lag,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {} WHERE seq > $1 AND org_id = $2", events_in_range(db.backend(), true, 1, None)))).bind(r.4).bind(org_id).fetch_one(db.pool()).await?;
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
    lease: String,
}

/// Takes the stream that has waited longest, if any is due and free.
async fn claim(db: &Db, config: &Config) -> ApiResult<Option<Claimed>> {
    let at = now();
    let until = format_time(chrono::Utc::now() + chrono::Duration::seconds(LEASE_SECS));
    let lease = format!("{}|{until}", holder());
    let skip_locked = if db.backend() == Backend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE audit_streams SET lease_holder = $1, lease_until = $2 WHERE id = (\
           SELECT id FROM audit_streams WHERE next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until <= $3) \
           ORDER BY next_attempt_at LIMIT 1{skip_locked}) \
         RETURNING id, org_id, url, format, secret, cursor_seq, attempts"
    );
    let row: Option<(String, String, String, String, String, i64, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&lease).bind(&until).bind(&at).fetch_optional(db.pool()).await?;
    let Some((id, org_id, url, format, sealed, cursor, attempts)) = row else { return Ok(None) };
    let secret = credentials::open(config, &org_id, &id, &sealed).unwrap_or_default();
    Ok(Some(Claimed { id, org_id, url, format, secret, cursor, attempts, lease }))
}

/// Gives the stream back: its cursor moved to `cursor` after `sent` deliveries, then either
/// due again at once (`error` none) or after a backoff.
async fn release(db: &Db, c: &Claimed, cursor: i64, sent: i64, error: Option<&str>, idle: bool) -> ApiResult<()> {
    let at = now();
    let success = if sent > 0 { Some(at.clone()) } else { None };
    let (attempts, next, error_at) = match error {
        None => {
            let wait = if idle { 1 } else { 0 };
            (0, format_time(chrono::Utc::now() + chrono::Duration::seconds(wait)), None)
        }
        Some(_) => {
            let attempts = if sent > 0 { 1 } else { c.attempts + 1 };
            let backoff_ms = (500i64 << (attempts - 1).min(10)).min(MAX_BACKOFF_SECS * 1000);
            (attempts, format_time(chrono::Utc::now() + chrono::Duration::milliseconds(backoff_ms)), Some(at.clone()))
        }
    };
    sqlx::query(
        "UPDATE audit_streams SET cursor_seq = $1, delivered = delivered + $2, attempts = $3, next_attempt_at = $4, \
         last_success_at = COALESCE($5, last_success_at), last_error = CASE WHEN $6 IS NULL THEN last_error ELSE $6 END, \
         last_error_at = COALESCE($7, last_error_at), lease_holder = NULL, lease_until = NULL \
         WHERE id = $8 AND lease_holder = $9",
    )
    .bind(cursor)
    .bind(sent)
    .bind(attempts)
    .bind(next)
    .bind(success)
    .bind(error.map(|e| e.chars().take(500).collect::<String>()))
    .bind(error_at)
    .bind(&c.id)
    .bind(&c.lease)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Records progress without giving the stream back (a long round must not lose it on a crash).
async fn advance(db: &Db, c: &Claimed, cursor: i64, sent: i64) -> ApiResult<()> {
    sqlx::query("UPDATE audit_streams SET cursor_seq = $1, delivered = delivered + $2, last_success_at = $3, attempts = 0 WHERE id = $4 AND lease_holder = $5")
        .bind(cursor)
        .bind(sent)
        .bind(now())
        .bind(&c.id)
        .bind(&c.lease)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// One round: claims a due stream and delivers what it can; how many events went out, or
/// `None` when no stream was due.
pub async fn deliver_one(db: &Db, config: &Config, http: &reqwest::Client, telemetry: &Telemetry) -> ApiResult<Option<usize>> {
    let Some(c) = claim(db, config).await? else { return Ok(None) };
    let started = Instant::now();
    let (mut cursor, mut sent_total, mut unsaved) = (c.cursor, 0usize, 0i64);
    let mut error = refused(&c.url, config.egress_allow_private);
    let mut idle = false;
    'rounds: while error.is_none() && started.elapsed() < ROUND {
        let sql = format!("SELECT {ROW_COLUMNS} FROM {} WHERE seq > $1 AND org_id = $2 ORDER BY seq LIMIT {PAGE}", events_in_range(db.backend(), true, 1, None));
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cursor).bind(&c.org_id).fetch_all(db.pool()).await?;
        if rows.is_empty() {
            idle = true;
            break;
        }
        for row in rows {
            let event = from_row(row);
            let seq = event.seq.unwrap_or(cursor);
            match post(http, &c.url, &c.secret, &event.id, body_of(&c.format, &event)).await {
                Ok(()) => {
                    telemetry.stream_delivery("delivered");
                    (cursor, sent_total, unsaved) = (seq, sent_total + 1, unsaved + 1);
                }
                Err(err) => {
                    telemetry.stream_delivery("failed");
                    error = Some(err);
                    break 'rounds;
                }
            }
        }
        advance(db, &c, cursor, unsaved).await?;
        unsaved = 0;
    }
    release(db, &c, cursor, unsaved, error.as_deref(), idle).await?;
    if let Some(err) = &error {
        tracing::warn!(stream = %c.id, error = %err, "audit stream: delivery failed; retried with backoff");
    }
    Ok(Some(sent_total))
}

/// The delivery loop (safe with any number of instances): rounds back to back while streams
/// are due, a short sleep when none is.
pub fn spawn(db: Db, config: Arc<Config>, telemetry: Telemetry, idle: Duration) {
    tokio::spawn(async move {
        let http = egress::client(config.egress_allow_private);
        loop {
            match deliver_one(&db, &config, &http, &telemetry).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(err) => tracing::warn!(error = %err, "audit streams: round failed"),
            }
            tokio::time::sleep(idle).await;
        }
    });
}
