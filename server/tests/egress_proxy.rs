//! The egress client ignores `HTTP(S)_PROXY`: a proxy would connect on its behalf, past the
//! address rule its resolver applies. Its own test binary, because the proxy variables are
//! read once per process and would reach every other test's clients.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A loopback listener that answers every connection with `body`, counting them.
async fn answering(body: &'static str) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (format!("http://{addr}"), hits)
}

#[tokio::test]
async fn the_egress_client_connects_itself_whatever_the_proxy_variables_say() {
    let (proxy, proxy_hits) = answering("from the proxy").await;
    let (target, target_hits) = answering("from the target").await;
    for name in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        std::env::set_var(name, &proxy);
    }
    for name in ["NO_PROXY", "no_proxy"] {
        std::env::remove_var(name);
    }
    // Loopback is allowed here only so the test never leaves this machine.
    let client = app::backend::executions::egress::client(true);
    let request = app::backend::executions::egress::Request { url: &format!("{target}/x"), method: "GET", body: None, bearer: None };
    let response = app::backend::executions::egress::send(&client, true, request).await.unwrap();
    assert_eq!(response.body, "from the target");
    assert_eq!(target_hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(proxy_hits.load(std::sync::atomic::Ordering::SeqCst), 0, "the proxy was used");
}
