//! The org's files (any member): upload with progress, download, delete; owners and admins
//! also share a file by a public link (shown once, copyable) and revoke it.

use crate::components::error_panel::ErrorPanel;
use crate::components::time::RelativeTime;
use crate::components::upload::{self, UploadState};
use crate::model::{FileShare, Role};
use crate::server_fns::files::{list_files, DeleteFile, RevokeFileShare, ShareFile};
use leptos::prelude::*;
use leptos_meta::Title;

/// Bytes as people read them.
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{size:.1} {}", UNITS[unit]) }
}

#[component]
pub fn FilesPage() -> impl IntoView {
    let org = super::org_param();
    let state = RwSignal::new(UploadState::Idle);
    let delete = ServerAction::<DeleteFile>::new();
    let share = ServerAction::<ShareFile>::new();
    let revoke = ServerAction::<RevokeFileShare>::new();
    let uploaded = Memo::new(move |_| matches!(state.get(), UploadState::Done(_)));
    let list = Resource::new(
        move || (org.get(), uploaded.get(), delete.version().get(), share.version().get(), revoke.version().get()),
        |(org, ..)| list_files(org),
    );
    let on_choose = move |ev: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        let url = format!("/api/v1/orgs/{}/files?name={}", org.get_untracked(), encode(&file.name()));
        upload::send(&url, file, state);
        input.set_value("");
    };
    let error = move || {
        [delete.value().get(), revoke.value().get().map(|r| r.map(|_| ()))].into_iter().flatten().find_map(Result::err).or_else(|| share.value().get().and_then(Result::err))
    };
    view! {
        <Title text="Files · Chronicle"/>
        <section class="panel" aria-labelledby="files-title">
            <h1 id="files-title">"Files"</h1>
            <p class="muted">"Files your organisation keeps here count against its storage. Every download and public link is in the audit log."</p>
            <div class="upload">
                <label class="button primary file-picker">
                    "Upload a file…"
                    <input type="file" class="visually-hidden" on:change=on_choose disabled=move || matches!(state.get(), UploadState::Sending(..))/>
                </label>
                <div role="status" aria-live="polite" class="upload-state">
                    {move || match state.get() {
                        UploadState::Idle => ().into_any(),
                        UploadState::Sending(name, share) => view! {
                            <span>{format!("Uploading {name}… {:.0}%", share * 100.0)}</span>
                            <progress max="100" value=format!("{:.0}", share * 100.0) aria-label=format!("Upload of {name}")></progress>
                        }.into_any(),
                        UploadState::Done(name) => view! { <span class="form-ok">{format!("Uploaded {name}.")}</span> }.into_any(),
                        UploadState::Failed(why) => view! { <span class="form-error" role="alert">{format!("Not uploaded: {why}")}</span> }.into_any(),
                    }}
                </div>
            </div>
            {move || share.value().get().and_then(Result::ok).map(|s| view! { <ShareReveal share=s on_done=move || share.clear()/> })}
            {move || error().map(|e| view! { <p class="form-error" role="alert">{e.for_people()}</p> })}
            <Transition fallback=|| view! { <p class="loading">"Loading files…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        Ok((files, _)) if files.is_empty() => view! { <p class="empty-state">"No files yet. Upload one to keep it here."</p> }.into_any(),
                        Ok((files, role)) => view! {
                            <div class="table-scroll">
                                <table class="table files">
                                    <thead><tr><th>"Name"</th><th>"Size"</th><th>"Uploaded"</th><th>"Public link"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                    <tbody>
                                        {files.into_iter().map(|f| {
                                            let org_now = org.get_untracked();
                                            let (id_share, id_revoke, id_delete, name) = (f.id.clone(), f.id.clone(), f.id.clone(), f.name.clone());
                                            let on_delete = move |_| {
                                                if window().confirm_with_message(&format!("Delete {name}? Its public links stop working.")).unwrap_or(false) {
                                                    delete.dispatch(DeleteFile { org: org.get_untracked(), id: id_delete.clone() });
                                                }
                                            };
                                            view! {
                                                <tr>
                                                    <td><a href=format!("/api/v1/orgs/{org_now}/files/{}/content", f.id) download=f.name.clone() rel="external">{f.name.clone()}</a></td>
                                                    <td>{human_size(f.size)}</td>
                                                    <td><RelativeTime at=f.created_at.clone()/>" by "{f.created_by.name.clone()}</td>
                                                    <td>{if f.shared { "Shared" } else { "—" }}</td>
                                                    <td class="actions">
                                                        {(role >= Role::Admin).then(|| view! {
                                                            <button type="button" class="small" aria-label=format!("Share {}", f.name)
                                                                on:click=move |_| { share.dispatch(ShareFile { org: org.get_untracked(), id: id_share.clone() }); }>"Share"</button>
                                                            {f.shared.then(|| view! {
                                                                <button type="button" class="small" aria-label=format!("Revoke the public link of {}", f.name)
                                                                    on:click=move |_| { revoke.dispatch(RevokeFileShare { org: org.get_untracked(), id: id_revoke.clone() }); }>"Revoke link"</button>
                                                            })}
                                                        })}
                                                        <button type="button" class="danger small" aria-label=format!("Delete {}", f.name) on:click=on_delete>"Delete"</button>
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// A new public link, once: copy it now.
#[component]
fn ShareReveal(share: FileShare, on_done: impl Fn() + 'static) -> impl IntoView {
    let (copied, set_copied) = signal(false);
    let url = share.url.clone();
    let copy = move |_| {
        let _ = window().navigator().clipboard().write_text(&url);
        set_copied.set(true);
    };
    view! {
        <div class="secret-reveal" role="status">
            <p><strong>"Public link created."</strong>" Anyone with it can download the file until you revoke it. Copy it now: it is not shown again."</p>
            <div class="secret-row">
                <input type="text" readonly class="secret" aria-label="Public link" prop:value=share.url
                    on:focus=|ev| { let _ = event_target::<web_sys::HtmlInputElement>(&ev).select(); }/>
                <button type="button" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
                <button type="button" class="primary" on:click=move |_| on_done()>"Done"</button>
            </div>
        </div>
    }
}

fn encode(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
