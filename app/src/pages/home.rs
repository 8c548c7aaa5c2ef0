use leptos::prelude::*;
use leptos_router::components::Redirect;

/// The start page: straight to the first org, or a word on what to do without one. Drawn from
/// the session at once, without a suspense (see `Session::view`).
#[component]
pub fn HomePage() -> impl IntoView {
    super::session().view(
        |session| match session.ok().flatten().and_then(|info| info.orgs.first().map(|o| o.id.clone())) {
            Some(org) => view! { <Redirect path=format!("/orgs/{org}")/> }.into_any(),
            None => view! {
                <section class="panel empty-state">
                    <h1>"No organisation yet"</h1>
                    <p>"You are not a member of any organisation. Ask an owner to add you."</p>
                </section>
            }
            .into_any(),
        },
    )
}
