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
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, Lazy, LazyRoute, SsrMode};

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
                // The stylesheet under its content-hashed name (cargo-leptos `hash-files`).
                <HashedStylesheet options=options.clone() id="leptos"/>
                // The code loads after the first paint (no preloads in the head).
                <components::code_loader::CodeAfterPaint options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Every page behind the sign-in is rendered whole before it is sent (`SsrMode::Async`): its
/// data are a few milliseconds of queries away, so streaming a fallback first and then the
/// content in a template with a script to swap it in cost more than it saved (the server wrote
/// each page in several chunks; the browser flashed "Loading…").
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Chronicle"/>
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                <Route path=path!("/login") view=pages::login::LoginPage/>
                <Route path=path!("/invite/:token") view=pages::invite::InvitePage/>
                <ParentRoute path=path!("") view=components::shell::Shell ssr=SsrMode::Async>
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

/// Pages whose code the browser loads when one of them is first visited (cargo-leptos
/// `--split`), so the first load — the login page — carries the shell and the login form only.
/// Pages are split in a few groups, not one split each: wasm-split makes a chunk for every
/// distinct set of splits that share code, and with a split a page, a page needed up to 167
/// chunks — each a preload link in every page the server renders and a fetch in the browser.
macro_rules! lazy_pages {
    ($($group:ident / $preload:ident { $($route:ident => $page:path),+ $(,)? })+) => {$(
        #[allow(non_snake_case)]
        #[leptos::lazy]
        fn $group(route: &'static str) -> AnyView {
            $(if route == stringify!($route) {
                return $page().into_any();
            })+
            unreachable!("{route} is not a page of {}", stringify!($group))
        }

        $(
            pub struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> AnyView {
                    $group(stringify!($route)).await
                }

                async fn preload() {
                    #[cfg(target_arch = "wasm32")]
                    $preload().await;
                }
            }
        )+
    )+};
}

lazy_pages! {
    // Where a member lands: the lightest pages.
    start_pages / __preload_start_pages {
        OrgOverview => pages::org_overview::OrgOverviewPage,
        Workflows => pages::workflows::WorkflowsPage,
    }
    // Runs, files and what they cost.
    run_pages / __preload_run_pages {
        Executions => pages::executions::ExecutionsPage,
        ExecutionDetail => pages::executions::ExecutionDetailPage,
        Files => pages::files::FilesPage,
        UsageBilling => pages::usage::UsagePage,
    }
    // The canvas, history and diff: the heaviest code, loaded when a workflow is opened.
    editor_pages / __preload_editor_pages {
        WorkflowEditor => pages::workflow_editor::WorkflowEditorPage,
        Engagement => pages::engagement::EngagementPage,
    }
    // The audit log alone: what an owner opens to answer "who changed this?".
    audit_pages / __preload_audit_pages {
        AuditExplorer => pages::audit::AuditExplorerPage,
    }
    // Administration (audit streams included: set up once, by an owner or admin), and the
    // account page.
    admin_pages / __preload_admin_pages {
        AuditStreams => pages::audit_streams::AuditStreamsPage,
        Members => pages::members::MembersPage,
        ApiKeys => pages::api_keys::ApiKeysPage,
        Outbox => pages::outbox::OutboxPage,
        Settings => pages::settings::SettingsPage,
        Account => pages::account::AccountPage,
    }
}
