//! A workflow's webhook keys (owner/admin), in its editor: the hook's URL, create (secret
//! shown once), revoke.

use crate::components::error_panel::ErrorPanel;
use crate::components::secret_reveal::SecretReveal;
use crate::components::time::{RelativeTime, TimeOrNever};
use crate::model::CreatedWebhookKey;
use crate::server_fns::executions::{list_webhook_keys, CreateWebhookKey, RevokeWebhookKey};
use leptos::prelude::*;

#[component]
pub fn WebhookKeysPanel(org: String, workflow_id: String) -> impl IntoView {
    let create = ServerAction::<CreateWebhookKey>::new();
    let revoke = ServerAction::<RevokeWebhookKey>::new();
    let (org_l, id_l) = (org.clone(), workflow_id.clone());
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        move |_| list_webhook_keys(org_l.clone(), id_l.clone()),
    );
    let name = RwSignal::new(String::new());
    let revealed = RwSignal::new(None::<CreatedWebhookKey>);
    Effect::new(move |_| {
        if let Some(Ok(created)) = create.value().get() {
            revealed.set(Some(created));
            name.set(String::new());
        }
    });
    let error = move || create.value().get().and_then(Result::err).or_else(|| revoke.value().get().and_then(Result::err));
    let (org_c, id_c) = (org.clone(), workflow_id.clone());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateWebhookKey { org: org_c.clone(), workflow_id: id_c.clone(), name: name.get_untracked() });
    };
    let hook_path = format!("/api/v1/hooks/{workflow_id}");
    view! {
        <section class="panel webhook-keys" aria-labelledby="webhook-keys">
            <h2 id="webhook-keys">"Webhook keys"</h2>
            <p class="muted">"An enabled workflow with a Webhook trigger runs on "<code>{format!("POST {hook_path}")}</code>
                " with "<code>"Authorization: Bearer whk_…"</code>"; the JSON body is the run's payload. Creating or revoking a key emails the owners."</p>
            <form class="key-form" on:submit=on_submit>
                <label>"Name"
                    <input type="text" required maxlength="100" placeholder="e.g. Shop orders" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create webhook key"</button>
            </form>
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e.for_people()}</p> })}
            {move || revealed.get().map(|c| view! { <SecretReveal name=c.key.name secret=c.secret what="webhook key" on_done=move || revealed.set(None)/> })}
            <Transition fallback=|| view! { <p class="loading">"Loading keys…"</p> }>
                {move || {
                    let (org, workflow_id) = (org.clone(), workflow_id.clone());
                    Suspend::new(async move {
                        match keys.await {
                            Err(error) => view! { <ErrorPanel error/> }.into_any(),
                            Ok(list) if list.is_empty() => view! { <p class="empty-state">"No webhook keys yet."</p> }.into_any(),
                            Ok(list) => view! {
                                <table class="table keys">
                                    <thead><tr><th>"Name"</th><th>"Key"</th><th>"Created"</th><th>"Last used"</th><th>"Status"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|k| {
                                            let (org, workflow_id, id, label) = (org.clone(), workflow_id.clone(), k.id.clone(), format!("{} ({})", k.name, k.display));
                                            let on_revoke = move |_| {
                                                if window().confirm_with_message(&format!("Revoke {label}? Calls with it are refused at once.")).unwrap_or(false) {
                                                    revoke.dispatch(RevokeWebhookKey { org: org.clone(), workflow_id: workflow_id.clone(), id: id.clone() });
                                                }
                                            };
                                            view! {
                                                <tr class:revoked=k.revoked_at.is_some()>
                                                    <td>{k.name.clone()}</td>
                                                    <td><code>{k.display.clone()}</code></td>
                                                    <td><RelativeTime at=k.created_at.clone()/>" by "{k.created_by.name.clone()}</td>
                                                    <td><TimeOrNever at=k.last_used_at.clone()/></td>
                                                    <td>{match k.revoked_at.clone() {
                                                        Some(t) => view! { <span class="badge">"Revoked "<RelativeTime at=t/></span> }.into_any(),
                                                        None => view! { <button type="button" class="danger small" aria-label=format!("Revoke {}", k.name) on:click=on_revoke>"Revoke"</button> }.into_any(),
                                                    }}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
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
