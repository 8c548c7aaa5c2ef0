//! The signed-in frame: header with org switcher and account menu around every page.

use crate::error::ApiError;
use crate::model::{OrgMembership, Role, SessionInfo};
use crate::server_fns::auth::{get_session, login_path, Logout};
use leptos::prelude::*;
use leptos::reactive::computed::ScopedFuture;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::{use_location, use_navigate};
use std::future::IntoFuture;

pub type SessionResult = Result<Option<SessionInfo>, ApiError>;

/// Who is signed in. The server knows it before the page renders (`request::page_session`)
/// and hands it to the browser inside the page, so the shell and the role gates draw at once,
/// without a suspense; it is fetched only when the shell first appears in the browser (after
/// signing in).
#[derive(Clone, Copy)]
pub enum Session {
    /// Read before the page rendered: on the server, or from the page while hydrating.
    Known(StoredValue<SessionResult>),
    /// Being fetched: the shell's first appearance in the browser.
    Fetched(Resource<SessionResult>),
}

impl Session {
    fn new() -> Self {
        let known = SharedValue::new(|| {
            #[cfg(feature = "ssr")]
            return Some(crate::backend::request::page_session());
            #[cfg(not(feature = "ssr"))]
            None
        })
        .into_inner();
        match known {
            Some(result) => Session::Known(StoredValue::new(result)),
            None => Session::Fetched(Resource::new(|| (), |_| get_session())),
        }
    }

    /// Who is signed in, once known.
    pub async fn result(self) -> SessionResult {
        match self {
            Session::Known(result) => result.get_value(),
            // Untracked: a Suspend that tracked it would run (and build its page) again.
            Session::Fetched(fetched) => ScopedFuture::new_untracked(fetched.into_future()).await,
        }
    }

    /// The signed-in person and their orgs, if anyone is signed in.
    pub async fn info(self) -> Option<SessionInfo> {
        self.result().await.ok().flatten()
    }

    /// Shows `known` with what is known now; while the session is being fetched, `waiting`
    /// until it arrives. No suspense: on the server and while hydrating it draws at once.
    pub fn view(self, waiting: impl Fn() -> AnyView + Send + Sync + 'static, known: impl Fn(SessionResult) -> AnyView + Send + Sync + 'static) -> AnyView {
        match self {
            Session::Known(result) => known(result.get_value()),
            Session::Fetched(fetched) => (move || fetched.get().map(&known).unwrap_or_else(&waiting)).into_any(),
        }
    }
}

/// The org id in the current path (`/orgs/{org}/…`), if any.
pub fn org_in_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/orgs/")?;
    let id = rest.split('/').next()?;
    (!id.is_empty()).then(|| id.to_owned())
}

/// The signed-in user's membership in `org`, if they have one.
pub fn membership<'a>(info: &'a SessionInfo, org: &str) -> Option<&'a OrgMembership> {
    info.orgs.iter().find(|o| o.id == org)
}

/// Shows `children` only to a member of the page's org with at least `min` role; anyone else
/// sees why — "not found" for another org, the role needed otherwise — and nothing of the
/// page (no filters or forms that cannot work). The server checks again on every call.
#[component]
pub fn RoleGate(min: Role, children: ChildrenFn) -> impl IntoView {
    let org = crate::pages::org_param();
    expect_context::<Session>().view(
        || view! { <p class="loading">"Loading…"</p> }.into_any(),
        move |session| {
            let role = session.ok().flatten().and_then(|info| membership(&info, &org.get_untracked()).map(|m| m.role));
            let refused = match role {
                Some(role) if role >= min => return children().into_any(),
                Some(_) => ApiError::forbidden(min.as_str()),
                None => ApiError::not_found("Organisation"),
            };
            view! { <crate::components::error_panel::ErrorPanel error=refused/> }.into_any()
        },
    )
}

#[component]
pub fn Shell() -> impl IntoView {
    let session = Session::new();
    provide_context(session);
    let header = session.view(
        || view! { <header class="topbar"><span class="brand">"Chronicle"</span></header> }.into_any(),
        move |session| match session {
            Ok(Some(info)) => view! { <Header info/> }.into_any(),
            // Signed out: to the sign-in form, which comes back here afterwards.
            Ok(None) => view! { <Redirect path=login_path_here()/> }.into_any(),
            Err(error) => view! { <crate::components::error_panel::ErrorPanel error/> }.into_any(),
        },
    );
    view! {
        <a class="skip-link" href="#content" on:click=|ev| { ev.prevent_default(); focus_content(); }>"Skip to content"</a>
        {header}
        <main class="page" id="content" tabindex="-1"><Outlet/></main>
    }
}

/// Puts the focus on the page's content (the skip link, a page reached from the menu).
fn focus_content() {
    if let Some(main) = document().get_element_by_id("content") {
        use leptos::wasm_bindgen::JsCast;
        let _ = main.unchecked_into::<web_sys::HtmlElement>().focus();
    }
}

/// The sign-in form's address that comes back to the current page, query included.
pub fn login_path_here() -> String {
    let location = use_location();
    let query = location.search.get_untracked();
    let query = query.trim_start_matches('?');
    let query = if query.is_empty() { String::new() } else { format!("?{query}") };
    login_path(&format!("{}{query}", location.pathname.get_untracked()))
}

/// A link of the main navigation, `aria-current="page"` on its page and the pages below it
/// (`exact`: on its page only). A plain anchor — the router still takes the click — because
/// `<A>` resolves its href against the route and keeps memos of its own, ten times a page.
#[component]
fn NavLink(href: String, pathname: Memo<String>, #[prop(optional)] exact: bool, children: Children) -> impl IntoView {
    let current = {
        let href = href.clone();
        move || pathname.with(|path| path_is_under(path, &href, exact)).then_some("page")
    };
    view! { <a href=href aria-current=current>{children()}</a> }
}

fn path_is_under(path: &str, href: &str, exact: bool) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    path == href || (!exact && path.strip_prefix(href).is_some_and(|rest| rest.starts_with('/')))
}

#[component]
fn Header(info: SessionInfo) -> impl IntoView {
    let pathname = use_location().pathname;
    let current_org = Memo::new(move |_| org_in_path(&pathname.get()));
    let logout = ServerAction::<Logout>::new();
    let orgs = info.orgs.clone();
    let nav_info = info.clone();
    let banner_info = info.clone();
    let navigate = use_navigate();
    // Below ~720 px the navigation folds behind a Menu button; moving to a page folds it again.
    let menu_open = RwSignal::new(false);
    // A page reached from the menu starts with the focus on its content, not in the menu.
    Effect::new(move |before: Option<()>| {
        pathname.track();
        menu_open.set(false);
        let in_menu = document().active_element().is_some_and(|el| el.closest("#mainnav").ok().flatten().is_some());
        if before.is_some() && in_menu {
            focus_content();
        }
    });
    view! {
        <header class="topbar" class:menu-open=move || menu_open.get()>
            <a class="brand" href="/">"Chronicle"</a>
            <label class="org-switcher">
                <span class="visually-hidden">"Organisation"</span>
                <select
                    aria-label="Organisation"
                    on:change=move |ev| navigate(&format!("/orgs/{}", event_target_value(&ev)), Default::default())
                >
                    {orgs.into_iter().map(|org| {
                        let id = org.id.clone();
                        view! {
                            <option value=org.id.clone() selected=move || current_org.get().as_deref() == Some(id.as_str())>
                                {org.name}
                            </option>
                        }
                    }).collect_view()}
                </select>
            </label>
            <button type="button" class="menu-toggle" aria-controls="mainnav" aria-expanded=move || menu_open.get().to_string()
                on:click=move |_| menu_open.update(|open| *open = !*open)>"Menu"</button>
            <nav id="mainnav" class="mainnav" aria-label="Main">
                {move || current_org.get().and_then(|org| {
                    let role = membership(&nav_info, &org)?.role;
                    let (members, audit, outbox) = (format!("/orgs/{org}/members"), format!("/orgs/{org}/audit"), format!("/orgs/{org}/outbox"));
                    let (settings, usage) = (format!("/orgs/{org}/settings"), format!("/orgs/{org}/usage"));
                    let admin = role >= Role::Admin;
                    Some(view! {
                        <NavLink pathname href=format!("/orgs/{org}") exact=true>"Overview"</NavLink>
                        <NavLink pathname href=format!("/orgs/{org}/workflows")>"Workflows"</NavLink>
                        <NavLink pathname href=format!("/orgs/{org}/executions")>"Executions"</NavLink>
                        <NavLink pathname href=format!("/orgs/{org}/files")>"Files"</NavLink>
                        {admin.then(|| view! {
                            <NavLink pathname href=members>"Members"</NavLink>
                            <NavLink pathname href=audit>"Audit log"</NavLink>
                        })}
                        <NavLink pathname href=format!("/orgs/{org}/api-keys")>"API keys"</NavLink>
                        {admin.then(|| view! {
                            <NavLink pathname href=usage>"Usage & billing"</NavLink>
                            <NavLink pathname href=settings>"Settings"</NavLink>
                        })}
                        {(role == Role::Owner).then(|| view! { <NavLink pathname href=outbox>"Outbox"</NavLink> })}
                    })
                })}
            </nav>
            <div class="account">
                <a class="who" href="/account" title=format!("{} — account, password, sessions", info.user.email)>{info.user.name.clone()}</a>
                <ActionForm action=logout>
                    <button type="submit" class="link-button">"Log out"</button>
                </ActionForm>
            </div>
        </header>
        {move || current_org.get().and_then(|org| {
            let m = membership(&banner_info, &org)?;
            m.past_due.then(|| {
                let fix = (m.role >= Role::Admin).then(|| view! { " "<A href=format!("/orgs/{org}/usage")>"See Usage & billing"</A>"." });
                view! { <p class="banner warning" role="alert">"Payment failed: this organisation's subscription is past due."{fix}</p> }
            })
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::{org_in_path, path_is_under};

    #[test]
    fn marks_a_link_current_on_its_page_and_below() {
        assert!(path_is_under("/orgs/a/workflows", "/orgs/a/workflows", false));
        assert!(path_is_under("/orgs/a/workflows/", "/orgs/a/workflows", false));
        assert!(path_is_under("/orgs/a/workflows/w1", "/orgs/a/workflows", false));
        assert!(!path_is_under("/orgs/a/workflows-old", "/orgs/a/workflows", false));
        assert!(path_is_under("/orgs/a", "/orgs/a", true));
        assert!(!path_is_under("/orgs/a/members", "/orgs/a", true));
        assert!(!path_is_under("/orgs/ab", "/orgs/a", false));
    }

    #[test]
    fn reads_the_org_from_the_path() {
        assert_eq!(org_in_path("/orgs/abc"), Some("abc".into()));
        assert_eq!(org_in_path("/orgs/abc/members"), Some("abc".into()));
        assert_eq!(org_in_path("/orgs/"), None);
        assert_eq!(org_in_path("/login"), None);
    }
}
