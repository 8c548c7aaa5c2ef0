//! Where the page is, and how to move on from it.
//!
//! Pages are islands (Leptos islands mode): the server renders the whole page and the browser
//! runs code only for the interactive parts, so no router runs in the browser. On the server
//! the router knows the address; in the browser it is `window.location`. Another page is a
//! page load; a change of the query alone (filters, an open overlay) stays on the page and
//! updates the history, and `query()` follows it (Back and Forward included).

use leptos::prelude::*;
use leptos_router::params::ParamsMap;

/// The page's path, e.g. `/orgs/acme/workflows/w1`.
pub fn pathname() -> String {
    #[cfg(feature = "ssr")]
    return leptos_router::hooks::use_location().pathname.get_untracked();
    #[cfg(not(feature = "ssr"))]
    window().location().pathname().unwrap_or_default()
}

/// The page's query with its `?`, or nothing.
pub fn search() -> String {
    #[cfg(feature = "ssr")]
    let search = leptos_router::hooks::use_location().search.get_untracked();
    #[cfg(not(feature = "ssr"))]
    let search = browser::search().get_untracked();
    let search = search.trim_start_matches('?');
    if search.is_empty() {
        String::new()
    } else {
        format!("?{search}")
    }
}

/// A segment of the page's route by its name in the routes (`org`, `id`, `token`).
pub fn param(name: &str) -> Option<String> {
    param_in_path(&pathname(), name)
}

/// The route segment `name` of `path`: `/orgs/:org/…`, `/orgs/:org/workflows/:id/…`,
/// `/orgs/:org/executions/:id`, `/invite/:token`.
pub fn param_in_path(path: &str, name: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let found = match (name, segments.as_slice()) {
        ("org", ["orgs", org, ..]) => *org,
        ("id", ["orgs", _, "workflows" | "executions", id, ..]) => *id,
        ("token", ["invite", token, ..]) => *token,
        _ => return None,
    };
    (!found.is_empty()).then(|| percent_decode(found))
}

fn percent_decode(segment: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={}", segment.replace('+', "%2B")))
        .ok()
        .and_then(|pairs| pairs.into_iter().next())
        .map_or_else(|| segment.to_owned(), |(_, value)| value)
}

/// The page's query, following changes made with [`set_query`] and the history.
pub fn query() -> Memo<ParamsMap> {
    #[cfg(feature = "ssr")]
    return leptos_router::hooks::use_query_map();
    #[cfg(not(feature = "ssr"))]
    {
        let search = browser::search();
        Memo::new(move |_| parse_query(&search.get()))
    }
}

/// The pairs of a query string (with or without its `?`).
pub fn parse_query(search: &str) -> ParamsMap {
    serde_urlencoded::from_str::<Vec<(String, String)>>(search.trim_start_matches('?'))
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// Stays on this page with another query (`a=b` or `?a=b`; "" for none): the address and
/// the history change (`replace`: without a new history entry), the page does not reload.
pub fn set_query(search: &str, replace: bool) {
    #[cfg(not(feature = "ssr"))]
    {
        let search = search.trim_start_matches('?');
        browser::set_query(&if search.is_empty() { String::new() } else { format!("?{search}") }, replace);
    }
    #[cfg(feature = "ssr")]
    let _ = (search, replace);
}

/// Moves to another page (a page load).
pub fn go(href: &str) {
    #[cfg(not(feature = "ssr"))]
    {
        let _ = window().location().assign(href);
    }
    #[cfg(feature = "ssr")]
    let _ = href;
}

/// The sign-in form's address that comes back to this page, query included.
pub fn login_path_here() -> String {
    crate::server_fns::auth::login_path(&format!("{}{}", pathname(), search()))
}

#[cfg(not(feature = "ssr"))]
mod browser {
    use leptos::prelude::*;
    use leptos::wasm_bindgen::{closure::Closure, JsCast, JsValue};

    thread_local! {
        /// The query as the page shows it: one for all islands of the page, kept in step with
        /// the history (Back, Forward).
        static SEARCH: ArcRwSignal<String> = {
            let search = ArcRwSignal::new(window().location().search().unwrap_or_default());
            let follow = search.clone();
            let on_pop = Closure::<dyn Fn()>::new(move || follow.set(window().location().search().unwrap_or_default()));
            let _ = window().add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
            on_pop.forget();
            search
        };
    }

    pub fn search() -> ArcRwSignal<String> {
        SEARCH.with(Clone::clone)
    }

    pub fn set_query(search_now: &str, replace: bool) {
        let url = format!("{}{search_now}", window().location().pathname().unwrap_or_default());
        if let Ok(history) = window().history() {
            let _ = if replace {
                history.replace_state_with_url(&JsValue::NULL, "", Some(&url))
            } else {
                history.push_state_with_url(&JsValue::NULL, "", Some(&url))
            };
        }
        search().set(search_now.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::{param_in_path, parse_query};

    #[test]
    fn reads_route_segments_from_a_path() {
        assert_eq!(param_in_path("/orgs/acme/workflows/w1", "org").as_deref(), Some("acme"));
        assert_eq!(param_in_path("/orgs/acme/workflows/w1", "id").as_deref(), Some("w1"));
        assert_eq!(param_in_path("/orgs/acme/workflows/w1/engagement", "id").as_deref(), Some("w1"));
        assert_eq!(param_in_path("/orgs/acme/executions/e%201", "id").as_deref(), Some("e 1"));
        assert_eq!(param_in_path("/orgs/acme/workflows", "id"), None);
        assert_eq!(param_in_path("/orgs/", "org"), None);
        assert_eq!(param_in_path("/invite/t0k", "token").as_deref(), Some("t0k"));
        assert_eq!(param_in_path("/login", "org"), None);
    }

    #[test]
    fn reads_a_query() {
        let q = parse_query("?actor=a%40b.test&action=x&action=y");
        assert_eq!(q.get("actor").as_deref(), Some("a@b.test"));
        assert_eq!(q.get_all("action"), Some(vec!["x".to_owned(), "y".to_owned()]));
        assert_eq!(parse_query("").get("actor"), None);
    }
}
