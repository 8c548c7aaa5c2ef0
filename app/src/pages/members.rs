use crate::components::error_panel::ErrorPanel;
use crate::components::shell::membership;
use crate::components::time::RelativeTime;
use crate::model::{Invitation, Member, Role};
use crate::server_fns::members::{list_invitations, list_members, ChangeRole, Invite, RemoveMember, RevokeInvitation};
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
    // The outcome of the latest change or removal, in words (an older one never lingers).
    let notice = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| {
        if let Some(result) = change.value().get() {
            notice.set(Some(result.map(|_| "Role changed.".to_owned()).map_err(|e| e.for_people())));
        }
    });
    Effect::new(move |_| {
        if let Some(result) = remove.value().get() {
            notice.set(Some(result.map(|_| "Member removed.".to_owned()).map_err(|e| e.for_people())));
        }
    });
    view! {
        <Title text="Members · Chronicle"/>
        <Transition fallback=|| view! { <p class="loading">"Loading members…"</p> }>
            {move || Suspend::new(async move {
                let my_role = session.info().await
                    .and_then(|info| membership(&info, &org.get()).map(|m| m.role))
                    .unwrap_or(Role::Member);
                match members.await {
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    Ok(list) => view! {
                        <section class="panel">
                            <h1>"Members"</h1>
                            {move || notice.get().map(|outcome| match outcome {
                                Ok(done) => view! { <p class="notice ok" role="status">{done}</p> }.into_any(),
                                Err(why) => view! { <p class="form-error" role="alert">{why}</p> }.into_any(),
                            })}
                            <table class="table">
                                <thead><tr><th>"Name"</th><th>"Email"</th><th>"Role"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|m| view! { <MemberRow member=m my_role org=org.get() change remove/> }).collect_view()}
                                </tbody>
                            </table>
                        </section>
                        <Invitations org=org.get() my_role/>
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
    // What the select shows: the stored role until the server has taken a new one, so a
    // cancelled or refused change puts it back.
    let shown = RwSignal::new(member.role);
    let (who, from) = (member.name.clone(), member.role);
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
                            prop:value=move || shown.get().as_str()
                            on:change=move |ev| {
                                let Ok(role) = event_target_value(&ev).parse::<Role>() else { return };
                                let question = format!("Change {who}'s role from {} to {}?", from.as_str(), role.as_str());
                                if window().confirm_with_message(&question).unwrap_or(false) {
                                    change.dispatch(ChangeRole { org: org_for_change.clone(), user_id: user_for_change.clone(), role });
                                } else {
                                    shown.set(from);
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

/// Invite someone by email, and the invitations still waiting, each with Revoke. An admin
/// invites admins and members; an owner anyone (the server checks the same).
#[component]
fn Invitations(org: String, my_role: Role) -> impl IntoView {
    let invite = ServerAction::<Invite>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let org_for_list = org.clone();
    let pending = Resource::new(move || (invite.version().get(), revoke.version().get()), move |_| list_invitations(org_for_list.clone()));
    let open = RwSignal::new(false);
    let form = NodeRef::<leptos::html::Form>::new();
    let notice = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| {
        if let Some(result) = invite.value().get() {
            if let (Ok(_), Some(form)) = (&result, form.get()) {
                form.reset();
            }
            notice.set(Some(result.map(|i| format!("Invitation sent to {}. The link works once, for 7 days.", i.email)).map_err(|e| e.for_people())));
        }
    });
    Effect::new(move |_| {
        if let Some(result) = revoke.value().get() {
            notice.set(Some(result.map(|_| "Invitation revoked: its link no longer works.".to_owned()).map_err(|e| e.for_people())));
        }
    });
    let roles: Vec<Role> = [Role::Member, Role::Admin, Role::Owner].into_iter().filter(|r| my_role == Role::Owner || *r != Role::Owner).collect();
    let (roles, org_for_form) = (StoredValue::new(roles), StoredValue::new(org.clone()));
    view! {
        <section class="panel" aria-labelledby="invitations-title">
            <div class="panel-head">
                <h2 id="invitations-title">"Invitations"</h2>
                <button type="button" class="primary" aria-expanded=move || open.get().to_string() aria-controls="invite-form"
                    on:click=move |_| open.update(|o| *o = !*o)>"Invite"</button>
            </div>
            <Show when=move || open.get()>
                <ActionForm action=invite node_ref=form attr:class="stacked-form" attr:id="invite-form">
                    <input type="hidden" name="org" value=org_for_form.get_value()/>
                    <label>"Email"<input type="email" name="email" autocomplete="off" required autofocus/></label>
                    <label>"Role"
                        <select name="role">
                            {roles.get_value().into_iter().map(|r| view! { <option value=r.as_str()>{r.as_str()}</option> }).collect_view()}
                        </select>
                    </label>
                    <button type="submit" class="primary" disabled=move || invite.pending().get()>
                        {move || if invite.pending().get() { "Sending…" } else { "Send invitation" }}
                    </button>
                </ActionForm>
            </Show>
            {move || notice.get().map(|outcome| match outcome {
                Ok(done) => view! { <p class="notice ok" role="status">{done}</p> }.into_any(),
                Err(why) => view! { <p class="form-error" role="alert">{why}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="loading">"Loading invitations…"</p> }>
                {move || {
                    let org = org.clone();
                    Suspend::new(async move {
                        match pending.await {
                            Err(error) => view! { <ErrorPanel error/> }.into_any(),
                            Ok(list) if list.is_empty() => view! { <p class="empty-state">"No invitations waiting for an answer."</p> }.into_any(),
                            Ok(list) => view! {
                                <table class="table">
                                    <thead><tr><th>"Email"</th><th>"Role"</th><th>"Invited by"</th><th>"Expires"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|i| view! { <InvitationRow invitation=i org=org.clone() my_role revoke/> }).collect_view()}
                                    </tbody>
                                </table>
                            }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn InvitationRow(invitation: Invitation, org: String, my_role: Role, revoke: ServerAction<RevokeInvitation>) -> impl IntoView {
    let may_revoke = my_role == Role::Owner || invitation.role != Role::Owner;
    let (id, email) = (invitation.id.clone(), invitation.email.clone());
    let on_revoke = move |_| {
        if window().confirm_with_message(&format!("Revoke the invitation to {email}?")).unwrap_or(false) {
            revoke.dispatch(RevokeInvitation { org: org.clone(), id: id.clone() });
        }
    };
    view! {
        <tr>
            <td>{invitation.email.clone()}</td>
            <td><span class="role-badge">{invitation.role.as_str()}</span></td>
            <td>{invitation.invited_by.clone()}</td>
            <td><RelativeTime at=invitation.expires_at.clone()/></td>
            <td>
                <Show when=move || may_revoke>
                    <button type="button" class="danger small" on:click=on_revoke.clone()>{format!("Revoke {}", invitation.email)}</button>
                </Show>
            </td>
        </tr>
    }
}
