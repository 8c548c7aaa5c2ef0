//! Chronicle: the governance layer of a workflow-automation platform.
//!
//! `model`, `error` and the UI compile for both the server and the browser; `backend`
//! (storage, identity, roles) exists only in the server build.

#![recursion_limit = "256"]

pub mod components;
pub mod error;
pub mod model;
pub mod pages;
pub mod server_fns;
pub mod workflow;

#[cfg(feature = "ssr")]
pub mod backend;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    backend::csp::provide_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/chronicle.css"/>
        <Title text="Chronicle"/>
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") view=pages::login::LoginPage/>
                <ParentRoute path=path!("") view=components::shell::Shell>
                    <Route path=path!("/") view=pages::home::HomePage/>
                    <Route path=path!("/orgs/:org") view=pages::org_overview::OrgOverviewPage/>
                    <Route path=path!("/account") view=pages::account::AccountPage/>
                    <Route path=path!("/orgs/:org/members") view=pages::members::MembersPage/>
                    <Route path=path!("/orgs/:org/audit") view=pages::audit::AuditExplorerPage/>
                    <Route path=path!("/orgs/:org/api-keys") view=pages::api_keys::ApiKeysPage/>
                    <Route path=path!("/orgs/:org/outbox") view=pages::outbox::OutboxPage/>
                    <Route path=path!("/orgs/:org/executions") view=pages::executions::ExecutionsPage/>
                    <Route path=path!("/orgs/:org/executions/:id") view=pages::executions::ExecutionDetailPage/>
                    <Route path=path!("/orgs/:org/settings") view=pages::settings::SettingsPage/>
                    <Route path=path!("/orgs/:org/workflows") view=pages::workflows::WorkflowsPage/>
                    <Route path=path!("/orgs/:org/workflows/:id") view=pages::workflow_editor::WorkflowEditorPage/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
