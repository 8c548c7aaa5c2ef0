//! SMTP transport: a relay from `SMTP_URL` (`smtp://host[:port]`, plain SMTP) and one send.

use crate::error::{ApiError, ApiResult};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::MultiPart;
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

/// One mail: plain text, or text and HTML with its tracking code in the headers.
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: String,
    pub html: Option<String>,
    pub tracking_code: Option<&'a str>,
}

pub async fn send(smtp: &Smtp, mail: Outgoing<'_>) -> Result<(), String> {
    let to = mail.to;
    let mut builder = Message::builder()
        .from(FROM.parse().map_err(|e| format!("{e}"))?)
        .to(to.parse().map_err(|e| format!("bad recipient {to}: {e}"))?)
        .subject(mail.subject);
    if let Some(code) = mail.tracking_code {
        let header = |name: &str, value: String| HeaderValue::new(HeaderName::new_from_ascii(name.to_owned()).expect("an ASCII header name"), value);
        builder = builder
            .raw_header(header("X-Chronicle-Tracking-Code", code.to_owned()))
            // SES's SMTP interface turns this into the message tag its events carry.
            .raw_header(header("X-SES-MESSAGE-TAGS", format!("chronicle_code={code}")));
    }
    let message = match mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(mail.text, html)),
        None => builder.body(mail.text),
    }
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
