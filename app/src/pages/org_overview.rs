use crate::components::shell::membership;
use crate::error::ApiError;
use crate::model::Role;
use leptos::prelude::*;
use leptos_meta::Title;

/// What this org is, and the caller's place in it.
#[component]
pub fn OrgOverviewPage() -> impl IntoView {
    let session = super::session();
    let org = super::org_param();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let info = session.info().await?;
                let org = org.get();
                let Some(m) = membership(&info, &org).cloned() else {
                    return Some(view! { <crate::components::error_panel::ErrorPanel error=ApiError::not_found("Organisation")/> }.into_any());
                };
                let members_href = format!("/orgs/{}/members", m.id);
                let workflows_href = format!("/orgs/{}/workflows", m.id);
                Some(view! {
                    <Title text=format!("{} · Chronicle", m.name)/>
                    <section class="panel">
                        <h1>{m.name.clone()}</h1>
                        <p>"You are " <strong class="role-badge">{m.role.as_str()}</strong> " in this organisation."</p>
                        <p><a href=workflows_href>"Open the workflows"</a></p>
                        <Show when=move || { m.role >= Role::Admin }>
                            <p><a href=members_href.clone()>"Manage members"</a></p>
                        </Show>
                    </section>
                }.into_any())
            })}
        </Suspense>
    }
}
