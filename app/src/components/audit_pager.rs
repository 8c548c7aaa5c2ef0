//! Keyset paging of audit events in the browser: a first page from a resource, later pages
//! appended by "Load more" — shared by the audit explorer and the keys' Activity.

use crate::error::ApiError;
use crate::model::{AuditEvent, AuditPage};
use leptos::prelude::*;
use std::future::Future;

type PageResult = Result<AuditPage, ApiError>;

#[derive(Clone, Copy)]
pub struct AuditPager {
    /// Events of the pages loaded after the first.
    pub extra: ReadSignal<Vec<AuditEvent>>,
    cursor: ReadSignal<Option<String>>,
    more: Action<String, PageResult>,
}

/// Pages on from `first` with `fetch(cursor)`; a refetch of `first` starts over.
pub fn audit_pager<F, Fut>(first: Resource<PageResult>, fetch: F) -> AuditPager
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = PageResult> + Send + 'static,
{
    let (extra, set_extra) = signal(Vec::<AuditEvent>::new());
    let (cursor, set_cursor) = signal(None::<String>);
    let more = Action::new(move |cursor: &String| fetch(cursor.clone()));
    Effect::new(move |_| {
        if let Some(Ok(page)) = first.get() {
            set_extra.set(Vec::new());
            set_cursor.set(page.next_cursor);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(page)) = more.value().get() {
            set_extra.update(|list| list.extend(page.events));
            set_cursor.set(page.next_cursor);
        }
    });
    AuditPager { extra, cursor, more }
}

/// The "Load more" button while there is more, and the error of a failed load.
#[component]
pub fn LoadMore(pager: AuditPager) -> impl IntoView {
    let more = pager.more;
    view! {
        {move || pager.cursor.get().map(|c| view! {
            <button type="button" class="load-more" disabled=move || more.pending().get()
                on:click=move |_| { more.dispatch(c.clone()); }>
                {move || if more.pending().get() { "Loading…" } else { "Load more" }}
            </button>
        })}
        {move || more.value().get().and_then(Result::err).map(|e| view! { <p class="form-error" role="alert">{e.for_people()}</p> })}
    }
}
