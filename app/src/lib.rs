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
use leptos_router::{lazy_route, path, Lazy, LazyRoute};

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
                    <Route path=path!("/orgs/:org") view={Lazy::<OrgOverview>::new()}/>
                    <Route path=path!("/account") view={Lazy::<Account>::new()}/>
                    <Route path=path!("/orgs/:org/members") view={Lazy::<Members>::new()}/>
                    <Route path=path!("/orgs/:org/audit") view={Lazy::<AuditExplorer>::new()}/>
                    <Route path=path!("/orgs/:org/audit/streams") view={Lazy::<AuditStreams>::new()}/>
                    <Route path=path!("/orgs/:org/api-keys") view={Lazy::<ApiKeys>::new()}/>
                    <Route path=path!("/orgs/:org/outbox") view={Lazy::<Outbox>::new()}/>
                    <Route path=path!("/orgs/:org/executions") view={Lazy::<Executions>::new()}/>
                    <Route path=path!("/orgs/:org/executions/:id") view={Lazy::<ExecutionDetail>::new()}/>
                    <Route path=path!("/orgs/:org/settings") view={Lazy::<Settings>::new()}/>
                    <Route path=path!("/orgs/:org/files") view={Lazy::<Files>::new()}/>
                    <Route path=path!("/orgs/:org/usage") view={Lazy::<UsageBilling>::new()}/>
                    <Route path=path!("/orgs/:org/workflows") view={Lazy::<Workflows>::new()}/>
                    <Route path=path!("/orgs/:org/workflows/:id") view={Lazy::<WorkflowEditor>::new()}/>
                    <Route path=path!("/orgs/:org/workflows/:id/engagement") view={Lazy::<Engagement>::new()}/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A page whose code the browser loads when the page is first visited (cargo-leptos
/// `--split`), so the first load — the login page — carries the shell and the login form only.
macro_rules! lazy_page {
    ($($route:ident => $page:path),* $(,)?) => {$(
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )*};
}

lazy_page! {
    OrgOverview => pages::org_overview::OrgOverviewPage,
    Account => pages::account::AccountPage,
    Members => pages::members::MembersPage,
    AuditExplorer => pages::audit::AuditExplorerPage,
    AuditStreams => pages::audit_streams::AuditStreamsPage,
    ApiKeys => pages::api_keys::ApiKeysPage,
    Outbox => pages::outbox::OutboxPage,
    Executions => pages::executions::ExecutionsPage,
    ExecutionDetail => pages::executions::ExecutionDetailPage,
    Settings => pages::settings::SettingsPage,
    Workflows => pages::workflows::WorkflowsPage,
    WorkflowEditor => pages::workflow_editor::WorkflowEditorPage,
    Engagement => pages::engagement::EngagementPage,
    Files => pages::files::FilesPage,
    UsageBilling => pages::usage::UsagePage,
}
