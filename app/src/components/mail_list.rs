//! Outgoing mail as a list — the org's Outbox and a user's own security mail.

use crate::components::time::RelativeTime;
use crate::model::OutboxMail;
use leptos::prelude::*;

/// A workflow mail's engagement in words: "opened 2× · clicked 1×", or that nothing is known yet.
fn tracking_state(t: &crate::model::MailTracking) -> String {
    let parts: Vec<String> = [("delivered", t.delivered), ("opened", t.opened), ("clicked", t.clicked), ("bounced", t.bounced), ("blocked", t.blocked)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| if n == 1 { what.to_owned() } else { format!("{what} {n}×") })
        .collect();
    if parts.is_empty() { "tracked · no engagement yet".into() } else { format!("tracked · {}", parts.join(" · ")) }
}

/// Mail as a list: status, subject, recipient, time; the body on expand.
#[component]
pub fn MailList(list: Vec<OutboxMail>) -> impl IntoView {
    view! {
        <ul class="mail-list">
            {list.into_iter().map(|m| view! {
                <li class="mail">
                    <details>
                        <summary>
                            <span class=format!("badge status-{}", m.status)>{m.status.clone()}</span>" "
                            <strong>{m.subject.clone()}</strong>" · to "{m.recipient.clone()}" · "
                            <RelativeTime at=m.created_at.clone()/>
                            {m.tracking.clone().map(|t| view! { " · "<span class="tracking-state">{tracking_state(&t)}</span> })}
                        </summary>
                        <pre class="mail-body">{m.body.clone()}</pre>
                        {m.last_error.clone().map(|e| view! {
                            <p class="form-error">{if m.status == "failed" {
                                format!("Given up after {} attempts: {e}", m.attempts)
                            } else {
                                format!("Delivery failed ({} attempts, retrying): {e}", m.attempts)
                            }}</p>
                        })}
                    </details>
                </li>
            }).collect_view()}
        </ul>
    }
}
