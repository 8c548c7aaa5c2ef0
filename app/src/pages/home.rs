use leptos::prelude::*;
use leptos_router::components::Redirect;

/// The start page: straight to the first org, or a word on what to do without one.
#[component]
pub fn HomePage() -> impl IntoView {
    let session = super::session();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let first = session.info().await.and_then(|info| info.orgs.first().map(|o| o.id.clone()));
                match first {
                    Some(org) => view! { <Redirect path=format!("/orgs/{org}")/> }.into_any(),
                    None => view! {
                        <section class="panel empty-state">
                            <h1>"No organisation yet"</h1>
                            <p>"You are not a member of any organisation. Ask an owner to add you."</p>
                        </section>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
