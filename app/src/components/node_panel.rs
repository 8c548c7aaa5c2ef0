//! The side panel: edits the selected node's label and its config fields, per node type.

use super::canvas::EditKind;
use crate::workflow::catalog::{self, FieldKind, FieldSpec};
use crate::workflow::Definition;
use leptos::prelude::*;
use serde_json::Value;

#[component]
pub fn NodePanel(id: String, graph: RwSignal<Definition>, on_edit: Callback<EditKind>, on_delete: Callback<()>) -> impl IntoView {
    let kind = graph.with_untracked(|d| d.node(&id).map(|n| n.kind.clone())).unwrap_or_default();
    let spec = catalog::spec(&kind);
    let id_label = id.clone();
    let label = move || graph.with(|d| d.node(&id_label).map(|n| n.data.label.clone()).unwrap_or_default());
    let id_set = id.clone();
    // Every keystroke reaches the model (so leaving at once loses nothing); leaving the field
    // ends the edit.
    let set_label = move |value: String| {
        graph.update(|d| {
            if let Some(n) = d.nodes.iter_mut().find(|n| n.id == id_set) {
                n.data.label = value;
            }
        });
        on_edit.run(EditKind::Typing);
    };
    view! {
        <aside class="side-panel" aria-label="Node settings">
            <h2>{spec.map(|s| s.title).unwrap_or("Node")}</h2>
            <label class="field">
                "Label"
                <input type="text" aria-label="Node label" prop:value=label on:input=move |ev| set_label(event_target_value(&ev))
                    on:change=move |_| on_edit.run(EditKind::Semantic)/>
            </label>
            {spec.map(|s| s.fields.iter().map(|f| view! { <ConfigField id=id.clone() field=*f graph on_edit/> }).collect_view())}
            <Connections id=id.clone() graph on_edit/>
            <button type="button" class="danger" on:click=move |_| on_delete.run(())>"Delete node"</button>
        </aside>
    }
}

#[component]
fn ConfigField(id: String, field: FieldSpec, graph: RwSignal<Definition>, on_edit: Callback<EditKind>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let id_read = id.clone();
    let as_text = Signal::derive(move || {
        match graph.with(|d| d.node(&id_read).and_then(|n| n.data.config.get(field.key).cloned())) {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        }
    });
    let write = Callback::new(move |(value, kind): (Option<Value>, EditKind)| {
        graph.update(|d| {
            if let Some(n) = d.nodes.iter_mut().find(|n| n.id == id) {
                match value {
                    Some(v) => n.data.config.insert(field.key.to_owned(), v),
                    None => n.data.config.remove(field.key),
                };
            }
        });
        on_edit.run(kind);
    });
    let set = Callback::new(move |value: Option<Value>| write.run((value, EditKind::Semantic)));
    let text = |text: String| (!text.is_empty()).then(|| Value::String(text));
    let set_text = move |t: String| set.run(text(t));
    // Text fields reach the model as they are typed; leaving the field ends the edit.
    let typed = move |ev| write.run((text(event_target_value(&ev)), EditKind::Typing));
    let done = move |_| on_edit.run(EditKind::Semantic);
    let required = if field.required { " *" } else { "" };
    let control = match field.kind {
        FieldKind::LongText => view! {
            <textarea rows="6" aria-label=field.label prop:value=as_text on:input=typed on:change=done></textarea>
        }
        .into_any(),
        FieldKind::Choice(options) => view! {
            <select aria-label=field.label on:change=move |ev| set_text(event_target_value(&ev))>
                <option value="" selected=move || as_text.get().is_empty()>"—"</option>
                {options.iter().map(|o| view! { <option value=*o selected=move || as_text.get() == *o>{*o}</option> }).collect_view()}
            </select>
        }
        .into_any(),
        FieldKind::List => view! {
            <input type="text" aria-label=field.label placeholder="[\"arg\", 1]" prop:value=as_text on:change=move |ev| {
                let text = event_target_value(&ev);
                if text.trim().is_empty() {
                    error.set(None);
                    set.run(None);
                    return;
                }
                match serde_json::from_str::<Value>(&text) {
                    Ok(v @ Value::Array(_)) => { error.set(None); set.run(Some(v)); }
                    _ => error.set(Some("Enter a JSON list, for example [\"0xabc\", 1]".into())),
                }
            }/>
        }
        .into_any(),
        FieldKind::Credential => view! { <CredentialSelect label=field.label value=as_text set=Callback::new(set_text)/> }.into_any(),
        FieldKind::Text | FieldKind::Url => view! {
            <input type="text" aria-label=field.label prop:value=as_text on:input=typed on:change=done/>
        }
        .into_any(),
    };
    view! {
        <label class="field">
            {format!("{}{required}", field.label)}
            {control}
            {move || error.get().map(|e| view! { <span class="form-error" role="alert">{e}</span> })}
        </label>
    }
}

/// The node's outgoing connections, made and removed without a pointer (the canvas's
/// handles need one).
#[component]
fn Connections(id: String, graph: RwSignal<Definition>, on_edit: Callback<EditKind>) -> impl IntoView {
    let label = |d: &Definition, id: &str| d.node(id).map(crate::workflow::diff::display_label).unwrap_or_default();
    let source = id.clone();
    let outgoing = move || {
        graph.with(|d| d.edges.iter().filter(|e| e.source == source).map(|e| (e.id.clone(), label(d, &e.target))).collect::<Vec<_>>())
    };
    let source = id.clone();
    let candidates = move || {
        graph.with(|d| {
            d.nodes
                .iter()
                .filter(|n| n.id != source && !d.edges.iter().any(|e| e.source == source && e.target == n.id))
                .map(|n| (n.id.clone(), label(d, &n.id)))
                .collect::<Vec<_>>()
        })
    };
    let remove = move |edge: String| {
        graph.update(|d| d.edges.retain(|e| e.id != edge));
        on_edit.run(EditKind::Semantic);
    };
    view! {
        <div class="field connections">
            <span>"Next steps"</span>
            <ul class="plain">
                {move || outgoing().into_iter().map(|(edge, to)| view! {
                    <li>{format!("→ {to} ")}
                        <button type="button" class="link-button" aria-label=format!("Disconnect {to}") on:click=move |_| remove(edge.clone())>"Disconnect"</button>
                    </li>
                }).collect_view()}
            </ul>
            <select aria-label="Connect to" prop:value="" on:change=move |ev| {
                let target = event_target_value(&ev);
                if !target.is_empty() {
                    super::canvas::connect(graph, &id, &target);
                    on_edit.run(EditKind::Semantic);
                }
            }>
                <option value="">"Connect to…"</option>
                {move || candidates().into_iter().map(|(node, name)| view! { <option value=node>{name}</option> }).collect_view()}
            </select>
        </div>
    }
}

/// The org's credentials by name (never their secrets); the stored value is the id.
#[component]
fn CredentialSelect(label: &'static str, value: Signal<String>, set: Callback<String>) -> impl IntoView {
    let org = crate::pages::org_param();
    let choices = LocalResource::new(move || crate::server_fns::executions::credential_choices(org.get()));
    view! {
        <select aria-label=label on:change=move |ev| set.run(event_target_value(&ev))>
            <option value="" selected=move || value.get().is_empty()>"None"</option>
            {move || {
                let list = choices.get().and_then(Result::ok).unwrap_or_default();
                let current = value.get();
                let unknown = (!current.is_empty() && !list.iter().any(|(id, _)| *id == current)).then(|| {
                    view! { <option value=current.clone() selected=true>{format!("Unknown credential ({current})")}</option> }
                });
                view! {
                    {unknown}
                    {list.into_iter().map(|(id, name)| {
                        let selected = id == value.get_untracked();
                        view! { <option value=id selected=selected>{name}</option> }
                    }).collect_view()}
                }
            }}
        </select>
    }
}
