use crate::error::{ApiError, ErrorKind};
use leptos::prelude::*;

/// An error as a person should read it: what happened and what they can do.
#[component]
pub fn ErrorPanel(error: ApiError) -> impl IntoView {
    // A session that ended while the app was open: to the sign-in form, which brings the
    // person back to this page.
    #[cfg(feature = "hydrate")]
    if error.code == ErrorKind::Unauthorized && crate::components::shell::Session::of_page().result().is_ok_and(|s| s.is_some()) {
        crate::location::go(&crate::location::login_path_here());
    }
    let title = match error.code {
        ErrorKind::Forbidden => "You don't have access to this page",
        ErrorKind::NotFound => "Not found",
        ErrorKind::Unauthorized => "Signed out",
        ErrorKind::MfaRequiredByOrg => "Two-step sign-in is required here",
        _ => "Something went wrong",
    };
    view! {
        <section class="panel error-panel" role="alert">
            <h2>{title}</h2>
            <p>{error.message}</p>
            {match error.code {
                ErrorKind::Unauthorized => view! { <a href="/login">"Sign in"</a> }.into_any(),
                ErrorKind::MfaRequiredByOrg => view! { <a class="button primary" href="/account#two-step-title">"Set up two-step sign-in"</a> }.into_any(),
                _ => view! { <a href="/">"Back to the start page"</a> }.into_any(),
            }}
        </section>
    }
}
