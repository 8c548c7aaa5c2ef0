//! A semantic diff as a change list: icons for added / removed / changed, `before → after`
//! for fields, inline word or line changes for long text, `A → B` for connections.

use crate::workflow::catalog;
use crate::workflow::diff::{FieldChange, SpanOp, WorkflowDiff};
use leptos::prelude::*;
use serde_json::Value;

#[component]
pub fn DiffView(diff: WorkflowDiff) -> impl IntoView {
    if diff.is_empty() {
        return view! { <p class="muted diff-empty">"No semantic changes."</p> }.into_any();
    }
    let type_title = |kind: &str| catalog::spec(kind).map(|s| s.title).unwrap_or("Unknown").to_owned();
    view! {
        <ul class="diff-list" aria-label="Changes">
            {diff.name.map(|n| view! {
                <li class="diff-item changed"><span class="diff-icon" aria-label="changed">"~"</span>
                    "Renamed " <strong>{format!("“{}”", n.before)}</strong>" → "<strong>{format!("“{}”", n.after)}</strong></li>
            })}
            {diff.nodes_added.into_iter().map(|n| view! {
                <li class="diff-item added"><span class="diff-icon" aria-label="added">"+"</span>
                    "Added " <strong>{n.label.clone()}</strong> <span class="muted">{format!(" ({})", type_title(&n.kind))}</span></li>
            }).collect_view()}
            {diff.nodes_removed.into_iter().map(|n| view! {
                <li class="diff-item removed"><span class="diff-icon" aria-label="removed">"−"</span>
                    "Removed " <strong>{n.label.clone()}</strong> <span class="muted">{format!(" ({})", type_title(&n.kind))}</span></li>
            }).collect_view()}
            {diff.nodes_changed.into_iter().map(|n| view! {
                <li class="diff-item changed"><span class="diff-icon" aria-label="changed">"~"</span>
                    "Changed " <strong>{n.label.clone()}</strong> <span class="muted">{format!(" ({})", type_title(&n.kind))}</span>
                    <ul class="field-changes">
                        {n.fields.into_iter().map(|f| view! { <FieldLine field=f/> }).collect_view()}
                    </ul>
                </li>
            }).collect_view()}
            {diff.edges_added.into_iter().map(|e| view! {
                <li class="diff-item added"><span class="diff-icon" aria-label="connection added">"+"</span>
                    "Connected " <strong>{format!("{} → {}", e.source_label, e.target_label)}</strong></li>
            }).collect_view()}
            {diff.edges_removed.into_iter().map(|e| view! {
                <li class="diff-item removed"><span class="diff-icon" aria-label="connection removed">"−"</span>
                    "Disconnected " <strong>{format!("{} → {}", e.source_label, e.target_label)}</strong></li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn FieldLine(field: FieldChange) -> impl IntoView {
    let path = field.path.clone();
    match field.text_diff {
        Some(spans) => view! {
            <li class="field-change">
                <code class="field-path">{path}</code> ":"
                <pre class="text-diff">
                    {spans.into_iter().map(|s| match s.op {
                        SpanOp::Equal => view! { <span>{s.text}</span> }.into_any(),
                        SpanOp::Insert => view! { <ins>{s.text}</ins> }.into_any(),
                        SpanOp::Delete => view! { <del>{s.text}</del> }.into_any(),
                    }).collect_view()}
                </pre>
            </li>
        }
        .into_any(),
        None => view! {
            <li class="field-change">
                <code class="field-path">{path}</code> ": "
                <span class="before">{show(&field.before)}</span>
                " → "
                <span class="after">{show(&field.after)}</span>
            </li>
        }
        .into_any(),
    }
}

/// A value as a person reads it: strings quoted, absence as "(none)".
fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}
