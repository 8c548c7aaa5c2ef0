//! A file upload with progress: the browser streams the file straight to the REST endpoint
//! (`XMLHttpRequest`, the one browser API that reports upload progress), with the session
//! cookie; the server's JSON error, if any, becomes the message.

use leptos::prelude::*;
use leptos::wasm_bindgen::closure::Closure;
use leptos::wasm_bindgen::JsCast;

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadState {
    Idle,
    /// Name and the share sent so far (0.0–1.0).
    Sending(String, f64),
    Done(String),
    Failed(String),
}

/// Starts sending `file` to `url`; `state` follows it.
pub fn send(url: &str, file: web_sys::File, state: RwSignal<UploadState>) {
    let name = file.name();
    let Ok(xhr) = web_sys::XmlHttpRequest::new() else {
        state.set(UploadState::Failed("This browser cannot upload files.".into()));
        return;
    };
    if xhr.open("POST", url).is_err() {
        state.set(UploadState::Failed("Could not start the upload.".into()));
        return;
    }
    state.set(UploadState::Sending(name.clone(), 0.0));
    let progress_name = name.clone();
    let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
        if ev.length_computable() && ev.total() > 0.0 {
            state.set(UploadState::Sending(progress_name.clone(), ev.loaded() / ev.total()));
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    on_progress.forget();
    let done_xhr = xhr.clone();
    let on_done = Closure::<dyn FnMut()>::new(move || {
        let status = done_xhr.status().unwrap_or(0);
        if status == 201 {
            state.set(UploadState::Done(name.clone()));
        } else {
            let body = done_xhr.response_text().ok().flatten().unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("The upload failed (HTTP {status})."));
            state.set(UploadState::Failed(message));
        }
    });
    xhr.set_onload(Some(on_done.as_ref().unchecked_ref()));
    on_done.forget();
    let on_error = Closure::<dyn FnMut()>::new(move || state.set(UploadState::Failed("The upload was cut off (network error).".into())));
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    if xhr.send_with_opt_blob(Some(&file)).is_err() {
        state.set(UploadState::Failed("Could not send the file.".into()));
    }
}
