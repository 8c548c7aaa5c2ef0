//! Org settings (owner/admin): the org's credentials, which `http_request` nodes send as a
//! bearer token. A secret goes in once and never comes back out.

use crate::components::error_panel::ErrorPanel;
use crate::components::time::{RelativeTime, TimeOrNever};
use crate::server_fns::executions::{list_credentials, CreateCredential, DeleteCredential};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let org = super::org_param();
    let create = ServerAction::<CreateCredential>::new();
    let delete = ServerAction::<DeleteCredential>::new();
    let list = Resource::new(move || (org.get(), create.version().get(), delete.version().get()), |(org, _, _)| list_credentials(org));
    let (name, secret) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            name.set(String::new());
            secret.set(String::new());
        }
    });
    let error = move || create.value().get().and_then(Result::err).or_else(|| delete.value().get().and_then(Result::err));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateCredential { org: org.get_untracked(), name: name.get_untracked(), secret: secret.get_untracked() });
    };
    view! {
        <Title text="Settings · Chronicle"/>
        <section class="panel" aria-labelledby="credentials">
            <h1 id="credentials">"Credentials"</h1>
            <p class="muted">"Secrets your workflows send as a bearer token (an HTTP request node's Credential). Stored encrypted; never shown again, not even to you. Each use by a run is in the audit log."</p>
            <form class="key-form" on:submit=on_submit>
                <label>"Name"
                    <input type="text" required maxlength="100" placeholder="e.g. Billing API" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <label>"Secret"
                    <input type="password" required autocomplete="off" prop:value=secret on:input=move |ev| secret.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Saving…" } else { "Add credential" }}
                </button>
            </form>
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading credentials…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty-state">"No credentials yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table credentials">
                                <thead><tr><th>"Name"</th><th>"Id (for the node's Credential field)"</th><th>"Created"</th><th>"Last used"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|c| {
                                        let (id, label) = (c.id.clone(), c.name.clone());
                                        let on_delete = move |_| {
                                            if window().confirm_with_message(&format!("Delete credential {label}? Workflows using it will fail at that step.")).unwrap_or(false) {
                                                delete.dispatch(DeleteCredential { org: org.get_untracked(), id: id.clone() });
                                            }
                                        };
                                        view! {
                                            <tr>
                                                <td>{c.name.clone()}</td>
                                                <td><code>{c.id.clone()}</code></td>
                                                <td><RelativeTime at=c.created_at.clone()/>" by "{c.created_by.name.clone()}</td>
                                                <td><TimeOrNever at=c.last_used_at.clone()/></td>
                                                <td><button type="button" class="danger small" aria-label=format!("Delete {}", c.name) on:click=on_delete>"Delete"</button></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
