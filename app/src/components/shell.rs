//! The signed-in frame: header with org switcher and account menu around every page.

use crate::error::ApiError;
use crate::model::{OrgMembership, Role, SessionInfo};
use crate::server_fns::auth::Logout;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect};

pub type SessionResult = Result<Option<SessionInfo>, ApiError>;

/// Who is signed in. The server knows it before the page renders (`request::page_session`);
/// the page carries it to the browser (`data-session` on the page's `<main>`), so the shell,
/// the role gates and every island draw at once, without a suspense or a request.
#[derive(Clone, Copy)]
pub struct Session(StoredValue<SessionResult>);

impl Session {
    /// The page's session: the request's on the server, the page's in the browser.
    pub fn of_page() -> Self {
        if let Some(session) = use_context::<Session>() {
            return session;
        }
        #[cfg(feature = "ssr")]
        let result = crate::backend::request::page_session();
        #[cfg(not(feature = "ssr"))]
        let result = from_page();
        let session = Session(StoredValue::new(result));
        provide_context(session);
        session
    }

    /// Who is signed in.
    pub fn result(self) -> SessionResult {
        self.0.get_value()
    }

    /// The signed-in person and their orgs, if anyone is signed in.
    pub async fn info(self) -> Option<SessionInfo> {
        self.result().ok().flatten()
    }

    /// Shows `known` with who is signed in.
    pub fn view(self, known: impl FnOnce(SessionResult) -> AnyView) -> AnyView {
        known(self.result())
    }
}

/// The session the server wrote into the page (outside the shell — the sign-in form — none).
#[cfg(not(feature = "ssr"))]
fn from_page() -> SessionResult {
    thread_local! {
        static FROM_PAGE: SessionResult = document()
            .get_element_by_id("content")
            .and_then(|main| main.get_attribute("data-session"))
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or(Ok(None));
    }
    FROM_PAGE.with(Clone::clone)
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
    Session::of_page().view(
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

/// The signed-in frame, rendered on the server; its header is an island.
#[component]
pub fn Shell() -> impl IntoView {
    let session = Session::of_page().result();
    let page_data = serde_json::to_string(&session).unwrap_or_default();
    let header = match session {
        Ok(Some(info)) => view! { <Header info pathname=crate::location::pathname()/> }.into_any(),
        // Signed out: to the sign-in form, which comes back here afterwards.
        Ok(None) => view! { <Redirect path=crate::location::login_path_here()/> }.into_any(),
        Err(error) => view! { <crate::components::error_panel::ErrorPanel error/> }.into_any(),
    };
    view! {
        {header}
        <main class="page" id="content" tabindex="-1" data-session=page_data><Outlet/></main>
    }
}

/// Puts the focus on the page's content (the skip link, a page reached from the menu).
fn focus_content() {
    if let Some(main) = document().get_element_by_id("content") {
        use leptos::wasm_bindgen::JsCast;
        let _ = main.unchecked_into::<web_sys::HtmlElement>().focus();
    }
}

/// Set when a link of the menu is followed: the next page starts with the focus on its
/// content, not at the top of the document.
const FOCUS_CONTENT_NEXT: &str = "chronicle.focus-content";

/// A link of the main navigation, `aria-current="page"` on its page and the pages below it
/// (`exact`: on its page only).
#[component]
fn NavLink(href: String, pathname: String, #[prop(optional)] exact: bool, children: Children) -> impl IntoView {
    let current = path_is_under(&pathname, &href, exact).then_some("page");
    let focus_next = |_| {
        if let Ok(Some(storage)) = window().session_storage() {
            let _ = storage.set_item(FOCUS_CONTENT_NEXT, "1");
        }
    };
    view! { <a href=href aria-current=current on:click=focus_next>{children()}</a> }
}

fn path_is_under(path: &str, href: &str, exact: bool) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    path == href || (!exact && path.strip_prefix(href).is_some_and(|rest| rest.starts_with('/')))
}

/// The header: org switcher, the main navigation (folded behind a Menu button on a phone),
/// the account and sign-out; a banner when the org's payment failed. An island.
#[island]
fn Header(info: SessionInfo, pathname: String) -> impl IntoView {
    let current_org = crate::location::param_in_path(&pathname, "org");
    let logout = ServerAction::<Logout>::new();
    // Below ~720 px the navigation folds behind a Menu button.
    let menu_open = RwSignal::new(false);
    // A page reached from the menu starts with the focus on its content, not in the menu.
    Effect::new(move |_| {
        if let Ok(Some(storage)) = window().session_storage() {
            if storage.get_item(FOCUS_CONTENT_NEXT).ok().flatten().is_some() {
                let _ = storage.remove_item(FOCUS_CONTENT_NEXT);
                focus_content();
            }
        }
    });
    let nav = current_org.as_deref().and_then(|org| {
        let role = membership(&info, org)?.role;
        let link = |page: &str| if page.is_empty() { format!("/orgs/{org}") } else { format!("/orgs/{org}/{page}") };
        let admin = role >= Role::Admin;
        let pathname = || pathname.clone();
        Some(view! {
            <NavLink pathname=pathname() href=link("") exact=true>"Overview"</NavLink>
            <NavLink pathname=pathname() href=link("workflows")>"Workflows"</NavLink>
            <NavLink pathname=pathname() href=link("executions")>"Executions"</NavLink>
            <NavLink pathname=pathname() href=link("files")>"Files"</NavLink>
            {admin.then(|| view! {
                <NavLink pathname=pathname() href=link("members")>"Members"</NavLink>
                <NavLink pathname=pathname() href=link("audit")>"Audit log"</NavLink>
            })}
            <NavLink pathname=pathname() href=link("api-keys")>"API keys"</NavLink>
            {admin.then(|| view! {
                <NavLink pathname=pathname() href=link("usage")>"Usage & billing"</NavLink>
                <NavLink pathname=pathname() href=link("settings")>"Settings"</NavLink>
            })}
            {(role == Role::Owner).then(|| view! { <NavLink pathname=pathname() href=link("outbox")>"Outbox"</NavLink> })}
        })
    });
    let banner = current_org.as_deref().and_then(|org| {
        let m = membership(&info, org)?;
        m.past_due.then(|| {
            let fix = (m.role >= Role::Admin).then(|| view! { " "<a href=format!("/orgs/{org}/usage")>"See Usage & billing"</a>"." });
            view! { <p class="banner warning" role="alert">"Payment failed: this organisation's subscription is past due."{fix}</p> }
        })
    });
    let orgs = info.orgs.iter().map(|org| {
        let selected = current_org.as_deref() == Some(org.id.as_str());
        view! { <option value=org.id.clone() selected=selected>{org.name.clone()}</option> }
    }).collect_view();
    view! {
        <a class="skip-link" href="#content" on:click=|ev| { ev.prevent_default(); focus_content(); }>"Skip to content"</a>
        <header class="topbar" class:menu-open=move || menu_open.get()>
            <a class="brand" href="/">"Chronicle"</a>
            <label class="org-switcher">
                <span class="visually-hidden">"Organisation"</span>
                <select aria-label="Organisation" on:change=move |ev| crate::location::go(&format!("/orgs/{}", event_target_value(&ev)))>
                    {orgs}
                </select>
            </label>
            <button type="button" class="menu-toggle" aria-controls="mainnav" aria-expanded=move || menu_open.get().to_string()
                on:click=move |_| menu_open.update(|open| *open = !*open)>"Menu"</button>
            <nav id="mainnav" class="mainnav" aria-label="Main">{nav}</nav>
            <div class="account">
                <a class="who" href="/account" title=format!("{} — account, password, sessions", info.user.email)>{info.user.name.clone()}</a>
                <ActionForm action=logout>
                    <button type="submit" class="link-button">"Log out"</button>
                </ActionForm>
            </div>
        </header>
        {banner}
    }
}

#[cfg(test)]
mod tests {
    use super::path_is_under;

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
}
