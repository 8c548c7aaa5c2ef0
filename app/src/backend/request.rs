//! What a server function knows about its request: the app state, the caller, the client.

use super::auth::{self, Caller};
use super::sessions::ClientInfo;
use super::{AppState, Config};
use crate::error::{ApiError, ApiResult};
use crate::model::SessionInfo;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use std::net::SocketAddr;

pub fn state() -> ApiResult<AppState> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        ApiError::internal()
    })
}

pub async fn headers() -> ApiResult<HeaderMap> {
    leptos_axum::extract::<HeaderMap>().await.map_err(|_| ApiError::internal())
}

/// Who is calling, looked up once before a page renders or a server function runs (the
/// server's `identify_caller` middleware puts it in the request): the shell draws at once, and
/// a page's server functions share the lookup.
#[derive(Clone)]
pub struct RequestCaller(pub ApiResult<Option<Caller>>);

/// The caller behind this request's credentials, if any (see [`auth::authenticate`]).
pub async fn authenticated(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<Caller>> {
    match request_caller() {
        Some(known) => known,
        None => auth::authenticate(&state.db, headers).await,
    }
}

fn request_caller() -> Option<ApiResult<Option<Caller>>> {
    leptos::reactive::owner::with_context::<Parts, _>(|parts| parts.extensions.get::<RequestCaller>().map(|c| c.0.clone())).flatten()
}

/// Who is signed in on the page being rendered.
pub fn page_session() -> ApiResult<Option<SessionInfo>> {
    let Some(caller) = request_caller() else {
        tracing::error!("a page rendered without the identify_caller middleware");
        return Err(ApiError::internal());
    };
    session_of(caller)
}

/// Who is signed in on this request (the browser asks when it first draws the shell).
pub async fn session() -> ApiResult<Option<SessionInfo>> {
    let state = state()?;
    session_of(authenticated(&state, &headers().await?).await)
}

fn session_of(caller: ApiResult<Option<Caller>>) -> ApiResult<Option<SessionInfo>> {
    caller?.map(|caller| auth::session_info(&caller)).transpose()
}

/// The signed-in caller of this server function, or 401.
pub async fn caller() -> ApiResult<(AppState, Caller)> {
    let state = state()?;
    let caller = authenticated(&state, &headers().await?).await?.ok_or_else(ApiError::unauthorized)?;
    Ok((state, caller))
}

pub async fn client() -> ApiResult<ClientInfo> {
    let state = state()?;
    client_from(&state, &headers().await?).await
}

/// The signed-in caller and where they call from, for audited server functions.
pub async fn caller_and_client() -> ApiResult<(AppState, Caller, ClientInfo)> {
    let state = state()?;
    let headers = headers().await?;
    let caller = authenticated(&state, &headers).await?.ok_or_else(ApiError::unauthorized)?;
    let client = client_from(&state, &headers).await?;
    Ok((state, caller, client))
}

async fn client_from(state: &AppState, headers: &HeaderMap) -> ApiResult<ClientInfo> {
    let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await.ok().map(|c| c.0);
    Ok(client_info(headers, peer, &state.config))
}

/// The client's address and user agent. A forwarding header counts only when configured as
/// trusted, and then only the entry our own proxies wrote (`trusted_proxy_hops` from the
/// right): anything to its left came from the client, who could claim any address.
pub fn client_info(headers: &HeaderMap, peer: Option<SocketAddr>, config: &Config) -> ClientInfo {
    let forwarded = config.trusted_proxy_header.as_deref().and_then(|name| {
        // A header may be repeated: its entries read as one list, in order.
        let entries: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let hop = entries.len().checked_sub(config.trusted_proxy_hops)?;
        Some(entries[hop]).filter(|ip| !ip.is_empty()).map(str::to_owned)
    });
    ClientInfo {
        ip: forwarded.or_else(|| peer.map(|p| p.ip().to_string())),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| ua.chars().take(512).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarding_header_counts_only_when_trusted_and_only_from_the_right() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.1".parse().unwrap());
        h.insert(header::USER_AGENT, "curl/8".parse().unwrap());
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let untrusted = Config::default();
        assert_eq!(client_info(&h, Some(peer), &untrusted).ip.as_deref(), Some("127.0.0.1"));
        let one_hop = Config { trusted_proxy_header: Some("x-forwarded-for".into()), ..Config::default() };
        let trusted = client_info(&h, Some(peer), &one_hop);
        assert_eq!(trusted.ip.as_deref(), Some("10.0.0.1"), "our proxy appended the address it saw");
        assert_eq!(trusted.user_agent.as_deref(), Some("curl/8"));
        let two_hops = Config { trusted_proxy_hops: 2, ..one_hop.clone() };
        assert_eq!(client_info(&h, Some(peer), &two_hops).ip.as_deref(), Some("203.0.113.7"));
        // More hops than entries: the header cannot be trusted, the peer is the client.
        let five_hops = Config { trusted_proxy_hops: 5, ..one_hop.clone() };
        assert_eq!(client_info(&h, Some(peer), &five_hops).ip.as_deref(), Some("127.0.0.1"));
        // A repeated header is one list.
        let mut repeated = HeaderMap::new();
        repeated.append("x-forwarded-for", "6.6.6.6".parse().unwrap());
        repeated.append("x-forwarded-for", "198.51.100.23".parse().unwrap());
        assert_eq!(client_info(&repeated, Some(peer), &one_hop).ip.as_deref(), Some("198.51.100.23"));
    }
}
