//! The recorder: the only way an audit event is written.
//!
//! An acknowledged action's event is durable: [`Recorder::record`] redacts, stamps and queues
//! the event, then waits until the background writer has committed it. The writer commits
//! whatever is queued as one transaction (group commit), so many concurrent requests share
//! one commit: waiting costs a request a few milliseconds, not the trail its throughput.
//! A full queue makes callers wait for room (backpressure), never drops an event. When the
//! database refuses a batch the writer keeps it and retries with backoff; a caller waits for
//! that at most [`MAX_WAIT`], then goes on (availability) while its event stays queued and
//! retried. Only an event that found no room in the queue for that long is, as a last
//! resort, written in full to the log and counted (`audit_events_overflowed`).
//! [`Recorder::shutdown`] drains the queue.

use super::redact::{is_sensitive, redact, storable, storable_json, REDACTED};
use super::writer_connection::WriterConnection;
use crate::backend::db::{new_id, now, Db};
use crate::backend::sessions::ClientInfo;
use crate::model::{Actor, AuditChange, AuditEvent, AuditResource};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

/// Events waiting for the writer: about 1 KB each, so at most ~40 MB however hard it is pushed.
pub const QUEUE_CAPACITY: usize = 40_000;
/// A batch is whatever is queued, up to this: one event when idle (written at once), big
/// transactions under load, where SQLite rewrites each hot index page once per commit
/// rather than once per event (4x the rate of 1,000-event batches; benches/audit.rs).
const MAX_BATCH: usize = 20_000;
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A writer with nothing to write for this long checkpoints what its commits left in the WAL.
const IDLE_CHECKPOINT: Duration = Duration::from_secs(1);
/// How long a caller waits for room in the queue, and then for the commit, before it goes on.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// Called once per event that found no room in the queue within [`MAX_WAIT`].
pub type OverflowHook = Arc<dyn Fn() + Send + Sync>;

/// An event and who waits for it to be stored.
struct Queued {
    event: AuditEvent,
    stored: oneshot::Sender<()>,
}

#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Queued>,
    on_overflow: OverflowHook,
    stop: Arc<Notify>,
    writer: Arc<tokio::sync::Mutex<Option<JoinHandle<()>>>>,
    /// Events this writer has committed (for /metrics).
    written: Arc<AtomicU64>,
}

/// Resolves once its event is committed.
pub struct Receipt(Option<oneshot::Receiver<()>>);

impl Receipt {
    /// Whether the event found room in the queue (if not, it went to the log instead).
    pub fn queued(&self) -> bool {
        self.0.is_some()
    }

    /// Waits for the commit, at most [`MAX_WAIT`]; `false` if it did not come in time.
    pub async fn stored(self) -> bool {
        let Some(rx) = self.0 else { return false };
        matches!(tokio::time::timeout(MAX_WAIT, rx).await, Ok(Ok(())))
    }
}

impl Recorder {
    /// Starts the background writer.
    pub fn start(db: Db, on_overflow: OverflowHook) -> Recorder {
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        let stop = Arc::new(Notify::new());
        let written = Arc::new(AtomicU64::new(0));
        let writer = tokio::spawn(write_loop(db, rx, stop.clone(), written.clone()));
        Recorder { queue, on_overflow, stop, writer: Arc::new(tokio::sync::Mutex::new(Some(writer))), written }
    }

    /// Records `event` and returns once it is stored (or, if the database has been refusing
    /// writes for [`MAX_WAIT`], once it is queued for retry, with an error in the log).
    pub async fn record(&self, event: NewEvent) {
        self.record_all([event]).await;
    }

    /// As [`Recorder::record`] for several events: all are queued before any is waited for,
    /// so they share one commit.
    pub async fn record_all(&self, events: impl IntoIterator<Item = NewEvent>) {
        let mut receipts = Vec::new();
        for event in events {
            let action = event.action;
            receipts.push((action, self.enqueue(event).await));
        }
        for (action, receipt) in receipts {
            if receipt.queued() && !receipt.stored().await {
                tracing::error!(action, "audit event not stored within {MAX_WAIT:?}: it stays queued and is retried");
            }
        }
    }

    /// Queues `event`, waiting for room when the queue is full; the receipt tells when it is
    /// stored. (The request path uses [`Recorder::record`]; this is its first half.)
    pub async fn enqueue(&self, event: NewEvent) -> Receipt {
        let (stored, rx) = oneshot::channel();
        let item = Queued { event: event.finish(), stored };
        match self.queue.send_timeout(item, MAX_WAIT).await {
            Ok(()) => Receipt(Some(rx)),
            Err(mpsc::error::SendTimeoutError::Timeout(item) | mpsc::error::SendTimeoutError::Closed(item)) => {
                (self.on_overflow)();
                let line = serde_json::to_string(&item.event).unwrap_or_default();
                tracing::warn!(event = %line, "audit queue full for {MAX_WAIT:?}: event kept in this log line instead");
                Receipt(None)
            }
        }
    }

    /// Events committed since this recorder started.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Events waiting for the writer.
    pub fn queued(&self) -> usize {
        QUEUE_CAPACITY - self.queue.capacity()
    }

    /// Stops taking events and writes out everything queued.
    pub async fn shutdown(&self) {
        self.stop.notify_one();
        if let Some(writer) = self.writer.lock().await.take() {
            let _ = writer.await;
        }
    }
}

async fn write_loop(db: Db, mut rx: mpsc::Receiver<Queued>, stop: Arc<Notify>, written: Arc<AtomicU64>) {
    let mut stopping = false;
    let mut conn = None;
    // Reused: they grow to the biggest batch once (~7 MB at most) instead of reallocating
    // and moving every event again as each big batch is gathered.
    let mut queued = Vec::new();
    let mut events = Vec::new();
    let mut waiting = Vec::new();
    loop {
        let received = if stopping {
            rx.recv_many(&mut queued, MAX_BATCH).await
        } else {
            let idle_work = conn.as_ref().is_some_and(WriterConnection::wants_idle_checkpoint);
            tokio::select! {
                received = rx.recv_many(&mut queued, MAX_BATCH) => received,
                _ = stop.notified() => {
                    // No new events from here on; what is queued is still written.
                    rx.close();
                    stopping = true;
                    continue;
                }
                _ = tokio::time::sleep(IDLE_CHECKPOINT), if idle_work => {
                    if let Some(c) = conn.as_mut() {
                        c.idle(&db);
                    }
                    continue;
                }
            }
        };
        if received == 0 {
            // Closed and drained: the last commits go from the WAL into the database file.
            if let Some(c) = conn.as_mut() {
                c.finish(&db).await;
            }
            return;
        }
        for Queued { event, stored } in queued.drain(..) {
            events.push(event);
            waiting.push(stored);
        }
        write_with_retry(&db, &mut conn, &events).await;
        written.fetch_add(events.len() as u64, Ordering::Relaxed);
        events.clear();
        for stored in waiting.drain(..) {
            let _ = stored.send(()); // the caller may have stopped waiting
        }
    }
}

/// Writes the batch, retrying with exponential backoff until the database takes it.
async fn write_with_retry(db: &Db, conn: &mut Option<WriterConnection>, batch: &[AuditEvent]) {
    let mut backoff = Duration::from_millis(50);
    let mut attempt = 1;
    loop {
        let result = match conn {
            Some(c) => c.insert(db, batch).await,
            None => match WriterConnection::open(db).await {
                Ok(c) => conn.insert(c).insert(db, batch).await,
                Err(err) => Err(err),
            },
        };
        let Err(err) = result else { return };
        // The connection may be what failed: the next attempt takes a fresh one.
        *conn = None;
        tracing::error!(error = %err, events = batch.len(), attempt, "audit write failed; retrying");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        attempt += 1;
    }
}

/// Every text of `event` without NUL (see [`storable`]).
fn make_storable(event: &mut AuditEvent) {
    let AuditEvent { org_id, actor, resource, changes, metadata, ip, user_agent, .. } = event;
    for text in [org_id, &mut actor.id, &mut actor.name, &mut actor.email, &mut resource.id, ip, user_agent].into_iter().flatten() {
        storable(text);
    }
    for text in [&mut actor.kind, &mut actor.label, &mut resource.kind] {
        storable(text);
    }
    for change in changes {
        storable(&mut change.path);
        storable_json(&mut change.before);
        storable_json(&mut change.after);
    }
    storable_json(metadata);
}

/// An event as a feature describes it; the recorder adds id and time and applies redaction.
#[derive(Debug, Clone)]
pub struct NewEvent {
    org_id: Option<String>,
    action: &'static str,
    actor: Actor,
    resource: AuditResource,
    changes: Vec<AuditChange>,
    metadata: Value,
    client: ClientInfo,
}

impl NewEvent {
    pub fn new(org_id: Option<&str>, action: &'static str, actor: Actor, resource_type: &str, resource_id: Option<&str>) -> NewEvent {
        NewEvent {
            org_id: org_id.map(str::to_owned),
            action,
            actor,
            resource: AuditResource { kind: resource_type.to_owned(), id: resource_id.map(str::to_owned) },
            changes: Vec::new(),
            metadata: Value::Object(Default::default()),
            client: ClientInfo::default(),
        }
    }

    /// The changes between two states of the resource.
    pub fn changes(mut self, before: &Value, after: &Value) -> NewEvent {
        self.changes = super::changes::compute(before, after);
        self
    }

    pub fn metadata(mut self, metadata: Value) -> NewEvent {
        self.metadata = metadata;
        self
    }

    pub fn client(mut self, client: &ClientInfo) -> NewEvent {
        self.client = client.clone();
        self
    }

    pub(crate) fn finish(self) -> AuditEvent {
        let mut changes = self.changes;
        for c in &mut changes {
            if is_sensitive(c.path.rsplit('.').next().unwrap_or("")) {
                c.before = Value::String(REDACTED.into());
                c.after = Value::String(REDACTED.into());
            } else {
                redact(&mut c.before);
                redact(&mut c.after);
            }
        }
        let mut metadata = self.metadata;
        redact(&mut metadata);
        let mut event = AuditEvent {
            id: new_id(),
            org_id: self.org_id,
            action: self.action.to_owned(),
            actor: self.actor,
            resource: self.resource,
            changes,
            metadata,
            ip: self.client.ip,
            user_agent: self.client.user_agent,
            created_at: now(),
            seq: None,
            prev_hash: None,
            hash: None,
        };
        make_storable(&mut event);
        event
    }
}
