//! The editor's saves. They outlive the editor: an edit made as the page goes away (a link
//! clicked while a field still has focus, Back, a palette node added a moment before) still
//! goes out. Saves leave one at a time, each from the version the previous one made (its
//! `base_version`), and only the newest waiting snapshot is sent.

use crate::error::ErrorKind;
use crate::server_fns::workflows::save_workflow;
use crate::workflow::Definition;
use leptos::task::spawn_local;
use std::sync::{Arc, Mutex, PoisonError};

/// The whole workflow as it stood after edit number `seq`.
pub struct Snapshot {
    pub seq: u64,
    pub name: String,
    pub definition: Definition,
}

/// What became of a save, told to whoever shows it (perhaps no one: the editor may be gone).
pub enum Outcome {
    Saved { seq: u64, version: i64, versioned: bool, approval: Waiting },
    /// Someone else saved `current` since this editor's base version; nothing waiting is sent.
    Conflict { message: String, current: i64 },
    Failed(String),
}

/// Whether the saved version waits for approval, and which version runs use meanwhile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waiting {
    pub pending: bool,
    pub approved_version: Option<i64>,
}

type Report = Box<dyn Fn(Outcome) + Send + Sync>;

pub struct Saver {
    org: String,
    id: String,
    report: Report,
    state: Mutex<State>,
}

struct State {
    base: i64,
    waiting: Option<Snapshot>,
    sending: bool,
}

impl Saver {
    pub fn new(org: String, id: String, base: i64, report: impl Fn(Outcome) + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self { org, id, report: Box::new(report), state: Mutex::new(State { base, waiting: None, sending: false }) })
    }

    /// The next save builds on `version` (after a restore, or "keep mine" over a conflict).
    pub fn rebase(&self, version: i64) {
        self.with(|s| s.base = version);
    }

    /// A save is on its way or waiting to leave.
    pub fn busy(&self) -> bool {
        self.with(|s| s.sending || s.waiting.is_some())
    }

    /// Sends `snapshot` once the save in flight (if any) returns; a newer one replaces it.
    pub fn save(self: &Arc<Self>, snapshot: Snapshot) {
        let start = self.with(|s| {
            s.waiting = Some(snapshot);
            !std::mem::replace(&mut s.sending, true)
        });
        if start {
            let saver = Arc::clone(self);
            spawn_local(async move { saver.send_all().await });
        }
    }

    async fn send_all(self: Arc<Self>) {
        loop {
            let Some((next, base)) = self.with(|s| {
                let next = s.waiting.take().map(|n| (n, s.base));
                s.sending = next.is_some();
                next
            }) else {
                return;
            };
            let Snapshot { seq, name, definition } = next;
            let outcome = match save_workflow(self.org.clone(), self.id.clone(), Some(name), definition, Some(base)).await {
                Ok(saved) => {
                    self.rebase(saved.version);
                    let approval = Waiting { pending: saved.pending, approved_version: saved.approved_version };
                    Outcome::Saved { seq, version: saved.version, versioned: saved.versioned, approval }
                }
                Err(e) => {
                    // What waits was built on the refused save: the person decides (retry,
                    // reload, keep mine) with the editor's latest state.
                    self.with(|s| s.waiting = None);
                    match e.code {
                        ErrorKind::VersionConflict => Outcome::Conflict { message: e.for_people(), current: e.version.unwrap_or(base) },
                        _ => Outcome::Failed(e.for_people()),
                    }
                }
            };
            (self.report)(outcome);
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}
