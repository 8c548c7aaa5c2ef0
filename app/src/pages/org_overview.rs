use crate::components::shell::membership;
use crate::error::ApiError;
use crate::model::Role;
use leptos::prelude::*;
use leptos_meta::Title;

/// What this org is, and the caller's place in it. Drawn from the session at once, without a
/// suspense (see `Session::view`).
#[component]
pub fn OrgOverviewPage() -> impl IntoView {
    let org = super::org_param();
    super::session().view(
        move |session| {
            let info = session.ok().flatten();
            (move || {
                let info = info.as_ref()?;
                let Some(m) = membership(info, &org.get()).cloned() else {
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
                        {(m.role >= Role::Admin).then(|| view! { <p><a href=members_href>"Manage members"</a></p> })}
                    </section>
                }.into_any())
            })
            .into_any()
        },
    )
}
