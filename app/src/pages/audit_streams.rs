//! Audit streams: where the org's trail goes as it is sealed (a SIEM's HTTP endpoint), each
//! with its health — how far behind it is, its last success and last error — a test button,
//! and removal. The signing secret is shown once, when the stream is added.

use crate::components::error_panel::ErrorPanel;
use crate::components::secret_reveal::SecretReveal;
use crate::components::time::{RelativeTime, TimeOrNever};
use crate::components::shell::RoleGate;
use crate::model::{AuditStream, CreatedStream, Role};
use crate::server_fns::audit::{list_streams, test_stream, CreateStream, DeleteStream};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AuditStreamsPage() -> impl IntoView {
    let org = super::org_param();
    let create = ServerAction::<CreateStream>::new();
    let delete = ServerAction::<DeleteStream>::new();
    let refreshed = RwSignal::new(0u32);
    let streams = Resource::new(
        move || (org.get(), create.version().get(), delete.version().get(), refreshed.get()),
        |(org, ..)| list_streams(org),
    );
    let (url, format) = (RwSignal::new(String::new()), RwSignal::new("json".to_owned()));
    let revealed = RwSignal::new(None::<CreatedStream>);
    Effect::new(move |_| {
        if let Some(Ok(created)) = create.value().get() {
            url.set(String::new());
            revealed.set(Some(created));
        }
    });
    let error = move || create.value().get().and_then(Result::err).or_else(|| delete.value().get().and_then(Result::err));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        revealed.set(None);
        create.dispatch(CreateStream { org: org.get_untracked(), url: url.get_untracked(), format: format.get_untracked() });
    };
    view! {
        <Title text="Audit streams · Chronicle"/>
        <RoleGate min=Role::Admin>
        <section class="panel">
            <div class="panel-head">
                <h1>"Audit streams"</h1>
                <a href=move || format!("/orgs/{}/audit", org.get())>"Back to the audit log"</a>
            </div>
            <p class="muted">
                "Every event of this organisation is POSTed to each stream once it is sealed, in order, one event per request, signed per Standard Webhooks ("
                <code>"webhook-id"</code>", "<code>"webhook-timestamp"</code>", "<code>"webhook-signature"</code>
                "). A receiver that is down gets everything once it is back; retries back off up to 30 s."
            </p>
            <form class="key-form" on:submit=on_submit>
                <label class="grow">"Receiver URL"
                    <input type="url" required maxlength="2048" placeholder="https://siem.example.com/chronicle" prop:value=url on:input=move |ev| url.set(event_target_value(&ev))/>
                </label>
                <label>"Format"
                    <select prop:value=format on:change=move |ev| format.set(event_target_value(&ev))>
                        <option value="json">"JSON (as the JSON Lines export)"</option>
                        <option value="ocsf">"OCSF 1.5.0"</option>
                    </select>
                </label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Adding…" } else { "Add stream" }}
                </button>
            </form>
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e.for_people()}</p> })}
            {move || revealed.get().map(|c| view! {
                <SecretReveal name=c.stream.url.clone() secret=c.secret what="stream signing secret"
                    heading=format!("Stream to {} added.", c.stream.url) on_done=move || revealed.set(None)/>
            })}
            <div class="panel-head">
                <h2>"Streams"</h2>
                <button type="button" on:click=move |_| refreshed.update(|n| *n += 1)>"Refresh"</button>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading streams…"</p> }>
                {move || Suspend::new(async move {
                    match streams.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty-state">"No streams yet. Add your SIEM's HTTP endpoint above."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-scroll">
                                <table class="table streams">
                                    <thead><tr>
                                        <th>"Receiver"</th><th>"Format"</th><th>"Status"</th><th>"Waiting"</th><th>"Delivered"</th>
                                        <th>"Last success"</th><th>"Last error"</th><th><span class="visually-hidden">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|s| view! { <StreamRow stream=s org delete/> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
        </RoleGate>
    }
}

fn status(s: &AuditStream) -> (&'static str, String) {
    if s.failures > 0 {
        let attempts = if s.failures == 1 { "1 failed attempt".to_owned() } else { format!("{} failed attempts in a row", s.failures) };
        ("status failed", format!("Failing ({attempts})"))
    } else if s.lag > 0 {
        ("status running", "Catching up".to_owned())
    } else {
        ("status succeeded", "Up to date".to_owned())
    }
}

#[component]
fn StreamRow(stream: AuditStream, org: Memo<String>, delete: ServerAction<DeleteStream>) -> impl IntoView {
    let (class, label) = status(&stream);
    let test = Action::new(move |id: &String| test_stream(org.get_untracked(), id.clone()));
    let (id, url) = (stream.id.clone(), stream.url.clone());
    let on_delete = move |_| {
        if window().confirm_with_message(&format!("Delete the stream to {url}? Events stop going there.")).unwrap_or(false) {
            delete.dispatch(DeleteStream { org: org.get_untracked(), id: id.clone() });
        }
    };
    let id = stream.id.clone();
    let outcome = move || {
        test.value().get().map(|result| match result {
            Ok(None) => view! { <span class="ok" role="status">"Test event delivered"</span> }.into_any(),
            Ok(Some(why)) => view! { <span class="form-error" role="status">{format!("Test event not delivered: {why}")}</span> }.into_any(),
            Err(e) => view! { <span class="form-error" role="status">{e.for_people()}</span> }.into_any(),
        })
    };
    view! {
        <tr>
            <td class="stream-url"><code>{stream.url.clone()}</code><br/><span class="muted">"Added "<RelativeTime at=stream.created_at.clone()/></span></td>
            <td>{if stream.format == "ocsf" { "OCSF 1.5.0" } else { "JSON" }}</td>
            <td><span class=class>{label}</span></td>
            <td>{crate::components::count::count(stream.lag, "event")}</td>
            <td>{stream.delivered}</td>
            <td><TimeOrNever at=stream.last_success_at.clone()/></td>
            <td>
                {match (stream.last_error.clone(), stream.last_error_at.clone()) {
                    (Some(error), Some(at)) => view! { <span>{error}</span><br/><span class="muted"><RelativeTime at/></span> }.into_any(),
                    _ => view! { <span class="muted">"None"</span> }.into_any(),
                }}
            </td>
            <td class="actions">
                <button type="button" class="small" disabled=move || test.pending().get() on:click=move |_| { test.dispatch(id.clone()); }>
                    {move || if test.pending().get() { "Sending…" } else { "Send test event" }}
                </button>
                <button type="button" class="danger small" aria-label=format!("Delete the stream to {}", stream.url) on:click=on_delete>"Delete"</button>
                {outcome}
            </td>
        </tr>
    }
}
