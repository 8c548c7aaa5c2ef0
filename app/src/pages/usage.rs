//! Usage & billing (owner/admin): plan, billing status, storage used against the quota, the
//! largest files, and what the billing provider told us (from the trail).

use super::files::human_size;
use crate::components::error_panel::ErrorPanel;
use crate::components::time::RelativeTime;
use crate::server_fns::files::load_usage;
use leptos::prelude::*;
use leptos_meta::Title;

fn action_label(action: &str) -> &'static str {
    match action {
        "billing.subscription_changed" => "Subscription changed",
        "billing.invoice_paid" => "Invoice paid",
        "billing.payment_failed" => "Payment failed",
        "billing.dispute_created" => "Charge disputed",
        _ => "Billing event",
    }
}

fn shown(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[component]
pub fn UsagePage() -> impl IntoView {
    let org = super::org_param();
    let view_of = Resource::new(move || org.get(), load_usage);
    view! {
        <Title text="Usage & billing · Chronicle"/>
        <section class="panel" aria-labelledby="usage-title">
            <h1 id="usage-title">"Usage & billing"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading usage…"</p> }>
                {move || Suspend::new(async move {
                    match view_of.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(v) => {
                            let u = v.usage;
                            let share = if u.storage_quota_bytes > 0 { (u.storage_used_bytes as f64 / u.storage_quota_bytes as f64).min(1.0) } else { 1.0 };
                            let level = if share >= 0.9 { "bar-fill danger" } else if share >= 0.75 { "bar-fill warn" } else { "bar-fill" };
                            view! {
                                <dl class="facts tiles">
                                    <div><dt>"Plan"</dt><dd class="plan">{u.plan.clone()}</dd></div>
                                    <div><dt>"Billing status"</dt><dd class=format!("billing-status {}", u.billing_status)>{if u.billing_status == "past_due" { "Past due: the last payment failed" } else { "Active" }}</dd></div>
                                    <div><dt>"Seats"</dt><dd>{u.seats.map_or("—".to_owned(), |s| s.to_string())}</dd></div>
                                    <div><dt>"Files"</dt><dd>{u.files}</dd></div>
                                </dl>
                                <h2>"Storage"</h2>
                                <div class="usage-bar" role="meter" aria-label="Storage used" aria-valuemin="0" aria-valuemax=u.storage_quota_bytes
                                    aria-valuenow=u.storage_used_bytes aria-valuetext=format!("{} of {}", human_size(u.storage_used_bytes), human_size(u.storage_quota_bytes))>
                                    <div class=level style=format!("width: {:.2}%", share * 100.0)></div>
                                </div>
                                <p class="usage-text">{format!("{} of {} used ({:.1}%)", human_size(u.storage_used_bytes), human_size(u.storage_quota_bytes), share * 100.0)}</p>
                                <h2>"Largest files"</h2>
                                {if v.largest.is_empty() {
                                    view! { <p class="empty-state">"No files yet. "<a href=move || format!("/orgs/{}/files", org.get())>"Upload one"</a>"."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="table">
                                            <thead><tr><th>"Name"</th><th>"Size"</th><th>"Uploaded"</th></tr></thead>
                                            <tbody>{v.largest.into_iter().map(|f| view! {
                                                <tr><td>{f.name}</td><td>{human_size(f.size)}</td><td><RelativeTime at=f.created_at/></td></tr>
                                            }).collect_view()}</tbody>
                                        </table>
                                    }.into_any()
                                }}
                                <h2>"Billing events"</h2>
                                {if v.billing_events.is_empty() {
                                    view! { <p class="empty-state">"No billing events yet. They appear when the billing provider reports a subscription, an invoice or a dispute."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="table billing-events">
                                            <thead><tr><th>"When"</th><th>"Event"</th><th>"Details"</th></tr></thead>
                                            <tbody>{v.billing_events.into_iter().map(|e| {
                                                let details = e.changes.iter().map(|c| format!("{}: {} → {}", c.path, shown(&c.before), shown(&c.after))).collect::<Vec<_>>().join(", ");
                                                view! { <tr><td><RelativeTime at=e.created_at.clone()/></td><td>{action_label(&e.action)}</td><td>{details}</td></tr> }
                                            }).collect_view()}</tbody>
                                        </table>
                                    }.into_any()
                                }}
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </section>
    }
}
