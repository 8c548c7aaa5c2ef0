//! Chronicle: the governance layer of a workflow-automation platform.
//!
//! `model`, `error` and the UI compile for both the server and the browser; `backend`
//! (storage, identity, roles) exists only in the server build.

#![recursion_limit = "256"]

pub mod components;
pub mod error;
pub mod location;
pub mod model;
pub mod pages;
pub mod server_fns;
pub mod workflow;

#[cfg(feature = "ssr")]
pub mod backend;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

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
                <Route path=path!("/login") view=Login/>
                <Route path=path!("/invite/:token") view=Invite/>
                <ParentRoute path=path!("") view=components::shell::Shell ssr=SsrMode::Async>
                    <Route path=path!("/") view=pages::home::HomePage/>
                    <Route path=path!("/orgs/:org") view=pages::org_overview::OrgOverviewPage/>
                    <Route path=path!("/account") view=Account/>
                    <Route path=path!("/orgs/:org/members") view=Members/>
                    <Route path=path!("/orgs/:org/audit") view=AuditExplorer/>
                    <Route path=path!("/orgs/:org/audit/streams") view=AuditStreams/>
                    <Route path=path!("/orgs/:org/api-keys") view=ApiKeys/>
                    <Route path=path!("/orgs/:org/outbox") view=pages::outbox::OutboxPage/>
                    <Route path=path!("/orgs/:org/executions") view=Executions/>
                    <Route path=path!("/orgs/:org/executions/:id") view=ExecutionDetail/>
                    <Route path=path!("/orgs/:org/settings") view=Settings/>
                    <Route path=path!("/orgs/:org/files") view=Files/>
                    <Route path=path!("/orgs/:org/usage") view=pages::usage::UsagePage/>
                    <Route path=path!("/orgs/:org/workflows") view=Workflows/>
                    <Route path=path!("/orgs/:org/workflows/:id") view=WorkflowEditor/>
                    <Route path=path!("/orgs/:org/workflows/:id/engagement") view=Engagement/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Pages as islands (Leptos islands mode): the server renders each page whole; in the browser
/// a page's island is hydrated by the function its group exports under the page's name. A
/// `#[leptos::lazy]` group's code is fetched when one of its pages is first hydrated (`cargo
/// leptos build --split`); the first group's is in the main module. Groups follow where people
/// go together: few groups, because wasm-split makes a chunk for every set of groups that share
/// code (`#[island(lazy)]`, a group a page, cut the shared code into ~200 chunks a page, whose
/// separate compression cost a third more bytes).
macro_rules! page_islands {
    ($($(#[$lazy:meta])? $group:ident { $($page:ident => $view:path),+ $(,)? })+) => {$(
        $(
            #[allow(non_snake_case)]
            fn $page() -> impl IntoView {
                page_island(stringify!($page), $view)
            }
        )+

        /// Hydrates a page of the group.
        #[cfg(feature = "hydrate")]
        #[allow(non_snake_case)]
        $(#[$lazy])?
        async fn $group(el: leptos::web_sys::HtmlElement, page: &'static str) {
            use leptos::tachys::view::{Position, RenderHtml};
            $(if page == stringify!($page) {
                // Lives as long as the page, like the islands Leptos hydrates itself.
                std::mem::forget(page_island(stringify!($page), $view).hydrate_from_position::<true>(&el, Position::Current));
                return;
            })+
        }

        /// What the page's loader calls for each page island, by the page's name.
        #[cfg(feature = "hydrate")]
        #[allow(non_snake_case)]
        mod $group {
            $(
                #[leptos::wasm_bindgen::prelude::wasm_bindgen(
                    js_name = $page,
                    wasm_bindgen = ::leptos::wasm_bindgen,
                    wasm_bindgen_futures = ::leptos::__reexports::wasm_bindgen_futures
                )]
                pub async fn $page(el: leptos::web_sys::HtmlElement) {
                    super::$group(el, stringify!($page)).await
                }
            )+
        }
    )+};
}

/// A page rendered as an island named `name`, hydrated as the `#[island]` macro's islands are.
fn page_island<V: IntoView + 'static>(name: &'static str, page: fn() -> V) -> impl IntoView {
    use leptos::reactive::owner::Owner;
    // On the server, what the page creates from here on is sent for the browser to pick up —
    // its resources included, also those created after an `.await` in a suspense, which the
    // macro's `with_hydration` (for the synchronous part only) would leave out, so the browser
    // would fetch them again and hydrate a fallback over the server's content.
    #[cfg(feature = "ssr")]
    if let Some(context) = Owner::current_shared_context() {
        context.set_is_hydrating(true);
    }
    leptos::tachys::html::islands::Island::new(
        name,
        leptos::reactive::graph::untrack_with_diagnostics(move || {
            Owner::new().with(|| Owner::with_hydration(move || leptos::tachys::reactive_graph::OwnedView::new(page())))
        }),
    )
}

page_islands! {
    // The first visit: the sign-in form, then where people land. In the main module.
    first_pages {
        Login => pages::login::LoginPage,
        Workflows => pages::workflows::WorkflowsPage,
    }
    // Runs and the files they use; and accepting an invitation, which is once a person (a
    // group of its own made every other group's shared code a few chunks more).
    #[leptos::lazy]
    run_pages {
        Executions => pages::executions::ExecutionsPage,
        ExecutionDetail => pages::executions::ExecutionDetailPage,
        Files => pages::files::FilesPage,
        Invite => pages::invite::InvitePage,
    }
    // The canvas, history and diff: the heaviest code, loaded when a workflow is opened.
    #[leptos::lazy]
    editor_pages {
        WorkflowEditor => pages::workflow_editor::WorkflowEditorPage,
        Engagement => pages::engagement::EngagementPage,
    }
    // The audit log alone: what an owner opens to answer "who changed this?".
    #[leptos::lazy]
    audit_pages {
        AuditExplorer => pages::audit::AuditExplorerPage,
    }
    // Administration (audit streams included: set up once), and the account page.
    #[leptos::lazy]
    admin_pages {
        AuditStreams => pages::audit_streams::AuditStreamsPage,
        Members => pages::members::MembersPage,
        ApiKeys => pages::api_keys::ApiKeysPage,
        Settings => pages::settings::SettingsPage,
        Account => pages::account::AccountPage,
    }
}
