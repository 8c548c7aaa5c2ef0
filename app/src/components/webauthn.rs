//! The browser's half of a passkey ceremony: the server's options in WebAuthn's JSON form go
//! to `navigator.credentials`, and the credential comes back as JSON text
//! (`PublicKeyCredential.parse…OptionsFromJSON` and `toJSON`: Chromium 129, Firefox 119,
//! Safari 18.4 and later).

/// Creates a passkey with `options` (`{publicKey: …}`): the credential as JSON text.
pub async fn create(options: &serde_json::Value) -> Result<String, String> {
    ceremony("create", "parseCreationOptionsFromJSON", options).await
}

/// Signs with a passkey the browser offers for `options`: the assertion as JSON text.
pub async fn get(options: &serde_json::Value) -> Result<String, String> {
    ceremony("get", "parseRequestOptionsFromJSON", options).await
}

#[cfg(feature = "hydrate")]
async fn ceremony(method: &str, parse: &str, options: &serde_json::Value) -> Result<String, String> {
    use js_sys::{Function, Object, Promise, Reflect, JSON};
    use wasm_bindgen::{JsCast, JsValue};
    let too_old = || "This browser cannot use passkeys here. Try a current Chrome, Edge, Firefox or Safari.".to_owned();
    // A refusal as the person should read it; a cancelled prompt is not an error of theirs.
    let said = |e: JsValue| match Reflect::get(&e, &"name".into()).ok().and_then(|n| n.as_string()).as_deref() {
        Some("NotAllowedError") => "The passkey prompt was closed or timed out. Try again when you are ready.".to_owned(),
        Some("InvalidStateError") => "This device already holds a passkey for your account.".to_owned(),
        _ => Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).unwrap_or_else(too_old),
    };
    let window = web_sys::window().ok_or_else(too_old)?;
    let class = Reflect::get(&window, &"PublicKeyCredential".into()).map_err(said)?;
    let parse: Function = Reflect::get(&class, &parse.into()).map_err(said)?.dyn_into().map_err(|_| too_old())?;
    let public_key = options.get("publicKey").ok_or_else(too_old)?;
    let json = JSON::parse(&public_key.to_string()).map_err(said)?;
    let request = Object::new();
    Reflect::set(&request, &"publicKey".into(), &parse.call1(&class, &json).map_err(said)?).map_err(said)?;
    let credentials = Reflect::get(&window.navigator(), &"credentials".into()).map_err(said)?;
    let call: Function = Reflect::get(&credentials, &method.into()).map_err(said)?.dyn_into().map_err(|_| too_old())?;
    let promise: Promise = call.call1(&credentials, &request).map_err(said)?.dyn_into().map_err(|_| too_old())?;
    let credential = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(said)?;
    let to_json: Function = Reflect::get(&credential, &"toJSON".into()).map_err(said)?.dyn_into().map_err(|_| too_old())?;
    let text = JSON::stringify(&to_json.call0(&credential).map_err(said)?).map_err(said)?;
    Ok(String::from(text))
}

/// On the server a ceremony never runs: it needs the person's browser.
#[cfg(not(feature = "hydrate"))]
async fn ceremony(_method: &str, _parse: &str, _options: &serde_json::Value) -> Result<String, String> {
    Err("Passkeys work in the browser.".to_owned())
}
