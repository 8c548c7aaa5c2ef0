use crate::components::error_panel::ErrorPanel;
use crate::components::mail_list::MailList;
use crate::components::shell::RoleGate;
use crate::model::Role;
use crate::server_fns::audit::list_outbox;
use leptos::prelude::*;
use leptos_meta::Title;

/// The org's outgoing mail (owners): what was sent, and what waits — all of it when no SMTP
/// relay is configured.
#[component]
pub fn OutboxPage() -> impl IntoView {
    let org = super::org_param();
    let mail = Resource::new(move || org.get(), list_outbox);
    view! {
        <Title text="Outbox · Chronicle"/>
        <RoleGate min=Role::Owner>
        <section class="panel">
            <h1>"Outbox"</h1>
            <p class="muted">"Security alerts sent to this organisation's owners. Without an SMTP relay (SMTP_URL) they stay here, pending."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading mail…"</p> }>
                {move || Suspend::new(async move {
                    match mail.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <p class="empty-state">"No mail yet."</p> }.into_any(),
                        Ok(list) => view! { <MailList list/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        </RoleGate>
    }
}
