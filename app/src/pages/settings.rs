//! Org settings (owner/admin): whether everyone needs two-step sign-in, email engagement (recording, PostHog forwarding), audit
//! retention, when a member's change waits for approval, and the org's
//! credentials, which `http_request` nodes send as a bearer token to their allowed hosts only.
//! Secrets go in once and never come back out.

use crate::components::error_panel::ErrorPanel;
use crate::components::time::{RelativeTime, TimeOrNever};
use crate::components::shell::RoleGate;
use crate::model::{CredentialPatch, OrgCredential, OrgSettings, Role, SettingsPatch};
use crate::server_fns::engagement::{load_settings, SettingsView, UpdateOrgSettings};
use crate::server_fns::executions::{list_credentials, CreateCredential, DeleteCredential, UpdateCredential};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Title text="Settings · Chronicle"/>
        <h1 class="page-title">"Settings"</h1>
        <RoleGate min=Role::Admin>
            <SignInSettings/>
            <EngagementSettings/>
            <ApprovalSettings/>
            <Credentials/>
        </RoleGate>
    }
}

#[component]
fn EngagementSettings() -> impl IntoView {
    let org = super::org_param();
    let save = ServerAction::<UpdateOrgSettings>::new();
    let view_of = Resource::new(move || (org.get(), save.version().get()), |(org, _)| load_settings(org));
    view! {
        <section class="panel" aria-labelledby="engagement-settings">
            <h2 id="engagement-settings">"Email engagement"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading settings…"</p> }>
                {move || Suspend::new(async move {
                    match view_of.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(current) => view! { <EngagementForm current save/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The form starts from the saved settings and sends only what changed.
#[component]
fn EngagementForm(current: SettingsView, save: ServerAction<UpdateOrgSettings>) -> impl IntoView {
    let org = super::org_param();
    let SettingsView { settings, forwarding } = current;
    let OrgSettings { capture_engagement_events, audit_retention_days, posthog_host, posthog_api_key_set, .. } = settings.clone();
    let capture = RwSignal::new(capture_engagement_events);
    let retention = RwSignal::new(audit_retention_days.map(|d| d.to_string()).unwrap_or_default());
    let host = RwSignal::new(posthog_host.clone().unwrap_or_default());
    let key = RwSignal::new(String::new());
    let remove_key = RwSignal::new(false);
    let local_error = RwSignal::new(None::<String>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        local_error.set(None);
        let mut patch = SettingsPatch::default();
        if capture.get_untracked() != settings.capture_engagement_events {
            patch.capture_engagement_events = Some(capture.get_untracked());
        }
        let days = retention.get_untracked().trim().to_owned();
        let days = if days.is_empty() {
            None
        } else {
            match days.parse::<i64>() {
                Ok(d) => Some(d),
                Err(_) => {
                    local_error.set(Some("Keep the audit trail for: enter a whole number of days, or leave it empty to keep everything.".into()));
                    return;
                }
            }
        };
        if days != settings.audit_retention_days {
            patch.audit_retention_days = Some(days);
        }
        let new_host = Some(host.get_untracked().trim().to_owned()).filter(|h| !h.is_empty());
        if new_host != settings.posthog_host {
            patch.posthog_host = Some(new_host);
        }
        if remove_key.get_untracked() {
            patch.posthog_api_key = Some(None);
        } else if !key.get_untracked().trim().is_empty() {
            patch.posthog_api_key = Some(Some(key.get_untracked()));
        }
        save.dispatch(UpdateOrgSettings { org: org.get_untracked(), patch });
    };
    let server_error = move || save.value().get().and_then(Result::err).map(|e| e.for_people());
    let saved = move || matches!(save.value().get(), Some(Ok(_)));
    view! {
        <form class="stacked-form settings-form" on:submit=on_submit>
            <label class="checkbox">
                <input type="checkbox" prop:checked=capture on:change=move |ev| capture.set(event_target_checked(&ev))/>
                " Record email engagement"
            </label>
            <p class="muted">
                "When on, mail sent by your workflows' Send email steps records engagement events: sent, delivered, opened, link clicked, bounced, blocked and failed — "
                "each attributed to the run's payload "<code>"distinct_id"</code>" or else the recipient, on the workflow's Engagement page and in "
                <code>"GET /api/v1/orgs/{org}/engagement"</code>". When off (the default), links in mail still work and nothing is recorded."
            </p>
            <fieldset>
                <legend>"Forward to PostHog (optional)"</legend>
                <label>"PostHog host"
                    <input type="url" placeholder="https://eu.i.posthog.com" prop:value=host on:input=move |ev| host.set(event_target_value(&ev))/>
                </label>
                <label>"Project API key"
                    <input type="password" autocomplete="off"
                        placeholder=if posthog_api_key_set { "A key is set — type to replace it" } else { "phc_…" }
                        prop:value=key on:input=move |ev| key.set(event_target_value(&ev))/>
                </label>
                {posthog_api_key_set.then(|| view! {
                    <label class="checkbox">
                        <input type="checkbox" prop:checked=remove_key on:change=move |ev| remove_key.set(event_target_checked(&ev))/>
                        " Remove the saved key (stops forwarding)"
                    </label>
                })}
                <p class="muted forwarding-status">
                    {format!("Forwarded: {} · waiting: {} · given up: {}", forwarding.sent, forwarding.pending, forwarding.failed)}
                    {forwarding.last_error.map(|e| view! { <br/><span class="form-error">"Last error: "{e}</span> })}
                </p>
            </fieldset>
            <label>"Keep the audit trail for (days)"
                <input type="number" min="1" max="36500" placeholder="Keep everything" prop:value=retention on:input=move |ev| retention.set(event_target_value(&ev))/>
            </label>
            <div class="form-actions">
                <button type="submit" class="primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save settings" }}
                </button>
                <span role="status" class="form-ok">{move || saved().then_some("Settings saved.")}</span>
            </div>
            {move || local_error.get().or_else(server_error).map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        </form>
    }
}

/// `require_mfa`: whether everyone needs two-step sign-in. Only an owner changes it (the
/// server says the same to an admin), and only with a second factor of their own.
#[component]
fn SignInSettings() -> impl IntoView {
    let org = super::org_param();
    let session = super::session();
    let save = ServerAction::<UpdateOrgSettings>::new();
    let current = Resource::new(move || (org.get(), save.version().get()), |(org, _)| load_settings(org));
    let on_change = move |ev: leptos::ev::Event| {
        let patch = SettingsPatch { require_mfa: Some(event_target_checked(&ev)), ..SettingsPatch::default() };
        save.dispatch(UpdateOrgSettings { org: org.get_untracked(), patch });
    };
    view! {
        <section class="panel" aria-labelledby="sign-in-settings">
            <h2 id="sign-in-settings">"Sign-in security"</h2>
            <p class="muted">"When required, members of every role need two-step sign-in (Account → Two-step sign-in) to open this organisation. Their open sessions stay, and reach only their own account until they set it up. API keys are unaffected."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading settings…"</p> }>
                {move || Suspend::new(async move {
                    let owner = session.info().await.and_then(|info| crate::components::shell::membership(&info, &org.get_untracked()).map(|m| m.role)) == Some(Role::Owner);
                    match current.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(v) => view! {
                            <label class="checkbox">
                                <input type="checkbox" checked=v.settings.require_mfa disabled=move || !owner || save.pending().get() on:change=on_change/>
                                " Require two-step sign-in for everyone"
                            </label>
                            {(!owner).then(|| view! { <p class="muted">"Only an owner can change this."</p> })}
                        }.into_any(),
                    }
                })}
            </Transition>
            <span role="status" class="form-ok">{move || matches!(save.value().get(), Some(Ok(_))).then_some("Saved.")}</span>
            {move || save.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.for_people()}</p> })}
        </section>
    }
}

/// `workflow_approval`: when a member's new version waits for an owner or admin.
#[component]
fn ApprovalSettings() -> impl IntoView {
    let org = super::org_param();
    let save = ServerAction::<UpdateOrgSettings>::new();
    let current = Resource::new(move || (org.get(), save.version().get()), |(org, _)| load_settings(org));
    let on_change = move |ev: leptos::ev::Event| {
        let patch = SettingsPatch { workflow_approval: Some(event_target_value(&ev)), ..SettingsPatch::default() };
        save.dispatch(UpdateOrgSettings { org: org.get_untracked(), patch });
    };
    let choice = |value: &'static str, label: &'static str, current: &str| {
        let selected = current == value;
        view! { <option value=value selected=selected>{label}</option> }
    };
    view! {
        <section class="panel" aria-labelledby="approval-settings">
            <h2 id="approval-settings">"Approval of members' changes"</h2>
            <p class="muted">"A member's new version can wait for an owner or admin (not its author) to approve it in the workflow's History. Until then, every run — Run button, API, webhook and schedule — uses the latest approved version."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading settings…"</p> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(v) => {
                            let mode = v.settings.workflow_approval;
                            view! {
                                <label>"Members' versions wait for approval"
                                    <select on:change=on_change disabled=move || save.pending().get()>
                                        {choice("credentials", "When the workflow uses a credential (recommended)", &mode)}
                                        {choice("all", "Always", &mode)}
                                        {choice("off", "Never", &mode)}
                                    </select>
                                </label>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            <span role="status" class="form-ok">{move || matches!(save.value().get(), Some(Ok(_))).then_some("Saved.")}</span>
            {move || save.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.for_people()}</p> })}
        </section>
    }
}

/// Hosts as typed: separated by commas, spaces or new lines.
fn host_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace()).filter(|h| !h.is_empty()).map(str::to_owned).collect()
}

#[component]
fn Credentials() -> impl IntoView {
    let org = super::org_param();
    let create = ServerAction::<CreateCredential>::new();
    let delete = ServerAction::<DeleteCredential>::new();
    let update = ServerAction::<UpdateCredential>::new();
    let list = Resource::new(
        move || (org.get(), create.version().get(), delete.version().get(), update.version().get()),
        |(org, _, _, _)| list_credentials(org),
    );
    let (name, secret, hosts) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            name.set(String::new());
            secret.set(String::new());
            hosts.set(String::new());
        }
    });
    let error = move || {
        create.value().get().and_then(Result::err).or_else(|| delete.value().get().and_then(Result::err)).or_else(|| update.value().get().and_then(Result::err))
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateCredential { org: org.get_untracked(), name: name.get_untracked(), secret: secret.get_untracked(), allowed_hosts: host_list(&hosts.get_untracked()) });
    };
    view! {
        <section class="panel" aria-labelledby="credentials">
            <h2 id="credentials">"Credentials"</h2>
            <p class="muted">"Secrets your workflows send as a bearer token (an HTTP request node's Credential), only to the hosts you allow: a request to any other host fails its step and sends nothing. Stored encrypted; never shown again, not even to you. Each use and each refusal is in the audit log."</p>
            <form class="key-form" on:submit=on_submit>
                <label>"Name"
                    <input type="text" required maxlength="100" placeholder="e.g. Billing API" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <label>"Secret"
                    <input type="password" required autocomplete="off" prop:value=secret on:input=move |ev| secret.set(event_target_value(&ev))/>
                </label>
                <label>"Allowed hosts"
                    <input type="text" required placeholder="api.example.com, *.example.net" aria-describedby="allowed-hosts-help"
                        prop:value=hosts on:input=move |ev| hosts.set(event_target_value(&ev))/>
                </label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Saving…" } else { "Add credential" }}
                </button>
            </form>
            <p class="muted" id="allowed-hosts-help">"Allowed hosts: exact names or IP addresses, or *.domain for its sub-domains; separate them with commas. No scheme, port or path."</p>
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e.for_people()}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading credentials…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty-state">"No credentials yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table credentials">
                                <thead><tr><th>"Name"</th><th>"Allowed hosts"</th><th>"Id (for the node's Credential field)"</th><th>"Created"</th><th>"Last used"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
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
                                                <td><AllowedHosts credential=c.clone() update/></td>
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

/// A credential's allowed hosts, and an inline editor for them.
#[component]
fn AllowedHosts(credential: OrgCredential, update: ServerAction<UpdateCredential>) -> impl IntoView {
    let org = super::org_param();
    let editing = RwSignal::new(false);
    let text = RwSignal::new(credential.allowed_hosts.join(", "));
    let (id, name) = (credential.id.clone(), credential.name.clone());
    let on_save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let patch = CredentialPatch { allowed_hosts: Some(host_list(&text.get_untracked())), ..CredentialPatch::default() };
        update.dispatch(UpdateCredential { org: org.get_untracked(), id: id.clone(), patch });
    };
    let hosts = credential.allowed_hosts.clone();
    view! {
        <Show when=move || editing.get() fallback=move || {
            let hosts = hosts.clone();
            view! {
                {if hosts.is_empty() {
                    view! { <span class="form-error">"None: every request is refused"</span> }.into_any()
                } else {
                    view! { <span class="hosts">{hosts.into_iter().map(|h| view! { <code>{h}</code>" " }).collect_view()}</span> }.into_any()
                }}
                " "
                <button type="button" class="small" aria-label=format!("Edit allowed hosts of {}", credential.name) on:click=move |_| editing.set(true)>"Edit"</button>
            }
        }>
            <form class="inline-form" on:submit=on_save.clone()>
                <input type="text" aria-label=format!("Allowed hosts of {name}") prop:value=text on:input=move |ev| text.set(event_target_value(&ev))/>
                <button type="submit" class="primary small" disabled=move || update.pending().get()>"Save hosts"</button>
                <button type="button" class="small" on:click=move |_| editing.set(false)>"Cancel"</button>
            </form>
        </Show>
    }
}
