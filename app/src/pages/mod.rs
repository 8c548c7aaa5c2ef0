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
use leptos_router::hooks::use_params_map;

/// The `:org` segment of the current route.
pub fn org_param() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("org").unwrap_or_default())
}

pub fn session() -> Session {
    expect_context::<Session>()
}
