use crate::components::error_panel::ErrorPanel;
use crate::components::shell::membership;
use crate::model::{Member, Role};
use crate::server_fns::members::{list_members, ChangeRole, RemoveMember};
use leptos::prelude::*;
use leptos_meta::Title;

/// Members of an org and their roles (owner/admin). Owners change anyone's role; admins
/// cannot touch owners nor make new ones; the server enforces the same rules.
#[component]
pub fn MembersPage() -> impl IntoView {
    let org = super::org_param();
    let session = super::session();
    let change = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let members = Resource::new(
        move || (org.get(), change.version().get(), remove.version().get()),
        |(org, _, _)| list_members(org),
    );
    let action_error = move || {
        change.value().get().and_then(Result::err).or_else(|| remove.value().get().and_then(Result::err))
    };
    view! {
        <Title text="Members · Chronicle"/>
        <Transition fallback=|| view! { <p class="loading">"Loading members…"</p> }>
            {move || Suspend::new(async move {
                let my_role = session.await.ok().flatten()
                    .and_then(|info| membership(&info, &org.get()).map(|m| m.role))
                    .unwrap_or(Role::Member);
                match members.await {
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    Ok(list) => view! {
                        <section class="panel">
                            <h1>"Members"</h1>
                            {move || action_error().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
                            <table class="table">
                                <thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|m| view! { <MemberRow member=m my_role org=org.get() change remove/> }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn MemberRow(
    member: Member,
    my_role: Role,
    org: String,
    change: ServerAction<ChangeRole>,
    remove: ServerAction<RemoveMember>,
) -> impl IntoView {
    let may_touch = my_role == Role::Owner || member.role != Role::Owner;
    let choices: Vec<Role> = Role::ALL.into_iter().filter(|r| my_role == Role::Owner || *r != Role::Owner).collect();
    let (org_for_change, user_for_change) = (org.clone(), member.user_id.clone());
    let name = member.name.clone();
    let on_remove = move |_| {
        let question = format!("Remove {name} from this organisation?");
        if window().confirm_with_message(&question).unwrap_or(false) {
            remove.dispatch(RemoveMember { org: org.clone(), user_id: member.user_id.clone() });
        }
    };
    view! {
        <tr>
            <td>{member.name.clone()}</td>
            <td>{member.email.clone()}</td>
            <td>
                {if may_touch {
                    view! {
                        <select
                            aria-label=format!("Role of {}", member.name)
                            on:change=move |ev| {
                                if let Ok(role) = event_target_value(&ev).parse::<Role>() {
                                    change.dispatch(ChangeRole { org: org_for_change.clone(), user_id: user_for_change.clone(), role });
                                }
                            }
                        >
                            {choices.into_iter().map(|r| view! {
                                <option value=r.as_str() selected=r == member.role>{r.as_str()}</option>
                            }).collect_view()}
                        </select>
                    }.into_any()
                } else {
                    view! { <span class="role-badge">{member.role.as_str()}</span> }.into_any()
                }}
            </td>
            <td>
                <Show when=move || may_touch>
                    <button type="button" class="danger small" on:click=on_remove.clone()>
                        {format!("Remove {}", member.name)}
                    </button>
                </Show>
            </td>
        </tr>
    }
}
