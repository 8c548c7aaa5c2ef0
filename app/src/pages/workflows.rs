use crate::components::error_panel::ErrorPanel;
use crate::components::shell::membership;
use crate::components::time::RelativeTime;
use crate::model::Role;
use crate::server_fns::workflows::{list_workflows, CreateWorkflow, DeleteWorkflow};
use leptos::prelude::*;
use leptos_meta::Title;

/// The org's workflows: name, last change, author, versions; create, open, delete.
#[component]
pub fn WorkflowsPage() -> impl IntoView {
    let org = super::org_param();
    let session = super::session();
    let create = ServerAction::<CreateWorkflow>::new();
    let delete = ServerAction::<DeleteWorkflow>::new();
    let list = Resource::new(move || (org.get(), delete.version().get()), |(org, _)| list_workflows(org));
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            crate::location::go(&format!("/orgs/{}/workflows/{id}", org.get_untracked()));
        }
    });
    let action_error = move || create.value().get().and_then(Result::err).or_else(|| delete.value().get().and_then(Result::err));
    view! {
        <Title text="Workflows · Chronicle"/>
        <section class="panel">
            <div class="panel-head">
                <h1>"Workflows"</h1>
                <ActionForm action=create attr:class="inline-form">
                    <input type="hidden" name="org" prop:value=move || org.get()/>
                    <label>
                        <span class="visually-hidden">"New workflow name"</span>
                        <input type="text" name="name" placeholder="New workflow name" aria-label="New workflow name" required/>
                    </label>
                    <button type="submit" class="primary">"Create workflow"</button>
                </ActionForm>
            </div>
            {move || action_error().map(|e| view! { <p class="form-error" role="alert">{e.for_people()}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading workflows…"</p> }>
                {move || Suspend::new(async move {
                    let my_role = session.info().await.and_then(|i| membership(&i, &org.get()).map(|m| m.role)).unwrap_or(Role::Member);
                    match list.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok(items) if items.is_empty() => view! {
                            <p class="empty-state">"No workflows yet. Name one above to create it."</p>
                        }.into_any(),
                        Ok(items) => view! {
                            <table class="table cards">
                                <thead><tr><th>"Name"</th><th>"Last change"</th><th>"By"</th><th>"Versions"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                <tbody>
                                    {items.into_iter().map(|w| {
                                        let (org_id, id, name) = (w.org_id.clone(), w.id.clone(), w.name.clone());
                                        let confirm_delete = move |_| {
                                            if window().confirm_with_message(&format!("Delete {name} and its whole version history?")).unwrap_or(false) {
                                                delete.dispatch(DeleteWorkflow { org: org_id.clone(), id: id.clone() });
                                            }
                                        };
                                        view! {
                                            <tr>
                                                <td class="key"><a href=format!("/orgs/{}/workflows/{}", w.org_id, w.id)>{w.name.clone()}</a></td>
                                                <td data-label="Last change"><RelativeTime at=w.updated_at.clone()/></td>
                                                <td data-label="By">{w.updated_by.clone()}</td>
                                                <td data-label="Versions">{w.version}</td>
                                                <td class="row-actions">
                                                    <Show when=move || { my_role >= Role::Admin }>
                                                        <button type="button" class="danger small" aria-label=format!("Delete {}", w.name) on:click=confirm_delete.clone()>"Delete"</button>
                                                    </Show>
                                                </td>
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
