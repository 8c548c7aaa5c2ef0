//! What a server function knows about its request: the app state, the caller, the client.

use super::auth::{self, Caller};
use super::sessions::ClientInfo;
use super::AppState;
use crate::error::{ApiError, ApiResult};
use axum::extract::ConnectInfo;
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

/// The signed-in caller of this server function, or 401.
pub async fn caller() -> ApiResult<(AppState, Caller)> {
    let state = state()?;
    let caller = auth::require_caller(&state.db, &headers().await?).await?;
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
    let caller = auth::require_caller(&state.db, &headers).await?;
    let client = client_from(&state, &headers).await?;
    Ok((state, caller, client))
}

async fn client_from(state: &AppState, headers: &HeaderMap) -> ApiResult<ClientInfo> {
    let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await.ok().map(|c| c.0);
    Ok(client_info(headers, peer, state.config.trusted_proxy_header.as_deref()))
}

/// The client's address and user agent. A forwarding header counts only when configured as
/// trusted: otherwise any client could claim any address.
pub fn client_info(headers: &HeaderMap, peer: Option<SocketAddr>, trusted_header: Option<&str>) -> ClientInfo {
    let forwarded = trusted_header
        .and_then(|name| headers.get(name))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|ip| ip.trim().to_owned())
        .filter(|ip| !ip.is_empty());
    ClientInfo {
        ip: forwarded.or_else(|| peer.map(|p| p.ip().to_string())),
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarding_header_counts_only_when_trusted() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.7, 10.0.0.1".parse().unwrap());
        h.insert(header::USER_AGENT, "curl/8".parse().unwrap());
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(client_info(&h, Some(peer), None).ip.as_deref(), Some("127.0.0.1"));
        let trusted = client_info(&h, Some(peer), Some("x-forwarded-for"));
        assert_eq!(trusted.ip.as_deref(), Some("203.0.113.7"));
        assert_eq!(trusted.user_agent.as_deref(), Some("curl/8"));
    }
}
