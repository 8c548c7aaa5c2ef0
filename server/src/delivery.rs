//! What the browser receives (SPEC "Delivery to the browser"): the site's code precompressed
//! at build time (`cargo leptos build --precompress`: a `.br` and a `.gz` beside each file)
//! and sent as brotli, else gzip, as the browser accepts; under content-hashed names
//! (`hash-files`) cached for a year; HTML and JSON answers compressed as they go out.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Version};
use leptos::config::LeptosOptions;
use tower::ServiceBuilder;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// A year: the most `max-age` means, for names that change whenever their content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Names without a hash (a debug build) can change content under the same name.
const REVALIDATE: &str = "no-cache";

/// `/pkg`: the WASM, JS and CSS of the site. A precompressed `.br` or `.gz` is sent when the
/// browser accepts it (nothing is compressed per request); a missing file is a 404.
pub fn site_code(options: &LeptosOptions) -> axum::routing::MethodRouter<(), std::convert::Infallible> {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let caching = HeaderValue::from_static(if options.hash_files { IMMUTABLE } else { REVALIDATE });
    let files = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, move |res: &axum::http::Response<_>| {
            res.status().is_success().then(|| caching.clone())
        }))
        .service(ServeDir::new(dir).precompressed_br().precompressed_gzip());
    axum::routing::get_service(files)
}

/// Compression for what the server writes as it answers: pages and JSON (server functions,
/// the REST API). Files, exports and the precompressed code keep their bytes as they are.
pub fn compression() -> CompressionLayer<impl Predicate> {
    let written_here = |_: StatusCode, _: Version, headers: &HeaderMap, _: &axum::http::Extensions| {
        let kind = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        !headers.contains_key(header::CONTENT_ENCODING) && (kind.starts_with("text/html") || kind.starts_with("application/json"))
    };
    CompressionLayer::new().br(true).gzip(true).compress_when(SizeAbove::new(256).and(written_here))
}

/// Pages are never kept without asking: each names the code of the build that served it, and
/// what a signed-in person sees changes with every action.
pub async fn pages_revalidate(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let mut res = next.run(req).await;
    let page = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
    if page && !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(REVALIDATE));
    }
    res
}
