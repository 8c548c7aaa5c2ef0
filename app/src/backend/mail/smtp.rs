//! SMTP transport: a relay from `SMTP_URL` (`smtp://host[:port]`, plain SMTP) and one send.

use crate::error::{ApiError, ApiResult};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

const FROM: &str = "Chronicle <chronicle@localhost>";

pub type Smtp = AsyncSmtpTransport<Tokio1Executor>;

/// An SMTP relay from `SMTP_URL` (`smtp://host:port`, plain SMTP to a local relay).
pub fn transport(url: &str) -> ApiResult<Smtp> {
    let rest = url.trim().strip_prefix("smtp://").ok_or_else(|| ApiError::invalid("SMTP_URL", "must look like smtp://host:port"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| ApiError::invalid("SMTP_URL", "the port must be a number"))?),
        None => (rest, 25),
    };
    if host.is_empty() {
        return Err(ApiError::invalid("SMTP_URL", "names no host"));
    }
    Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port).timeout(Some(Duration::from_secs(10))).build())
}

pub async fn send(smtp: &Smtp, to: &str, subject: &str, body: String) -> Result<(), String> {
    let message = Message::builder()
        .from(FROM.parse().map_err(|e| format!("{e}"))?)
        .to(to.parse().map_err(|e| format!("bad recipient {to}: {e}"))?)
        .subject(subject)
        .body(body)
        .map_err(|e| e.to_string())?;
    smtp.send(message).await.map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_url_is_checked() {
        assert!(transport("smtp://127.0.0.1:2525").is_ok());
        assert!(transport("smtp://localhost").is_ok());
        assert_eq!(transport("http://x").err().unwrap().field.as_deref(), Some("SMTP_URL"));
        assert!(transport("smtp://host:port").is_err());
    }
}
