//! One file a page.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod audit_streams;
pub mod engagement;
pub mod executions;
pub mod files;
pub mod home;
pub mod invite;
pub mod login;
pub mod members;
pub mod not_found;
pub mod org_overview;
pub mod outbox;
pub mod settings;
pub mod usage;
pub mod workflow_editor;
pub mod workflows;

use crate::components::shell::Session;
use leptos::prelude::*;

/// A segment of the page's route (`org`, `id`), as the memo the pages read.
pub fn route_param(name: &str) -> Memo<String> {
    let value = crate::location::param(name).unwrap_or_default();
    Memo::new(move |_| value.clone())
}

/// The `:org` segment of the page's route.
pub fn org_param() -> Memo<String> {
    route_param("org")
}

pub fn session() -> Session {
    Session::of_page()
}
