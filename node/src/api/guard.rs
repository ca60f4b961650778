//! Who may call the API. A node's API spends its client's deposit, so a web page the
//! operator opens must not reach it:
//! - every request that changes something (any method but GET and HEAD) carries
//!   `Authorization: Bearer <token>`, the token the node created in its data dir at first
//!   start (`api-token`, mode 0600); without it, 401. A page can neither read that file
//!   nor set the header on a cross-site request without a CORS preflight, which this API
//!   never answers;
//! - its `Host` names the machine by an IP address or `localhost` (any port), token or
//!   not: a page whose name an attacker resolves to 127.0.0.1 (DNS rebinding) sends its
//!   own name, and is refused (403);
//! - reads (GET, HEAD) are open without the token only when the API listens on a
//!   loopback address, and only to a `Host` as above (403 otherwise); a read with the
//!   token may name the node any way (a scrape target);
//! - a request with two `Host` headers, or whose target names another authority than
//!   its `Host`, is refused (403).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error;

/// The API's rule for callers.
#[derive(Clone)]
pub struct Guard {
    token: Arc<str>,
    open_reads: bool,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("token", &"(secret)")
            .field("open_reads", &self.open_reads)
            .finish()
    }
}

impl Guard {
    /// Requests need `token` to change anything, and to read unless `open_reads` (the API
    /// listens on loopback).
    pub fn new(token: &str, open_reads: bool) -> Self {
        Self {
            token: Arc::from(token),
            open_reads,
        }
    }

    fn authorized(&self, header: Option<&HeaderValue>) -> bool {
        // The scheme's name is case-insensitive (RFC 9110, 11.1).
        header
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.trim_start().split_once(char::is_whitespace))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .is_some_and(|(_, given)| same(given.trim().as_bytes(), self.token.as_bytes()))
    }
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a `Host` header names this machine by address or as `localhost`, with or
/// without a port.
pub fn host_allowed(host: Option<&HeaderValue>) -> bool {
    let Some(host) = host.and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port or [v6]
        match rest.split_once(']') {
            Some((v6, port)) if port.is_empty() || is_port(port.strip_prefix(':')) => v6,
            _ => return false,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if is_port(Some(port)) => name,
            Some(_) => return false,
            None => host,
        }
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok()
}

fn is_port(port: Option<&str>) -> bool {
    port.is_some_and(|p| p.parse::<u16>().is_ok())
}

/// The middleware: refuses what [`Guard`] does not allow, before any handler runs.
pub async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let hosts = headers.get_all(HOST).iter().count();
    let other_authority = request.uri().authority().is_some_and(|authority| {
        headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .is_none_or(|host| !host.eq_ignore_ascii_case(authority.as_str()))
    });
    if hosts > 1 || other_authority {
        return error(
            StatusCode::FORBIDDEN,
            "one Host header, naming the authority of the request target",
        );
    }
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    let host_ok = host_allowed(headers.get(HOST));
    let authorized = guard.authorized(headers.get(AUTHORIZATION));
    // A change names the machine by address or as localhost, token or not; a read with
    // the token may name it any way (a scrape target).
    let scrape = read && authorized;
    if !host_ok && !scrape {
        return error(
            StatusCode::FORBIDDEN,
            "the Host header must be an IP address or localhost",
        );
    }
    if authorized {
        return next.run(request).await;
    }
    if !(read && guard.open_reads) {
        let mut answer = error(
            StatusCode::UNAUTHORIZED,
            "this needs the node's API token: `Authorization: Bearer <token>`, the token in \
             the node's data dir (api-token; `provernet client --token-file`)",
        );
        answer
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return answer.into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> bool {
        host_allowed(Some(&HeaderValue::from_str(text).expect("header")))
    }

    #[test]
    fn only_addresses_and_localhost_are_hosts() {
        for ok in [
            "127.0.0.1:8645",
            "127.0.0.1",
            "localhost:8645",
            "LOCALHOST",
            "[::1]:8645",
            "[::1]",
            "10.0.0.7:80",
        ] {
            assert!(host(ok), "{ok}");
        }
        for refused in [
            "evil.example:8645",
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io:8645",
            "[::1]x",
            "127.0.0.1:port",
            "127.0.0.1:70000",
            "",
        ] {
            assert!(!host(refused), "{refused}");
        }
        assert!(!host_allowed(None));
    }

    #[test]
    fn only_the_exact_token_authorizes() {
        let guard = Guard::new("ab12", true);
        let header = |text: &str| HeaderValue::from_str(text).expect("header");
        for ok in [
            "Bearer ab12",
            "bearer ab12",
            "BEARER  ab12 ",
            "Bearer\tab12",
        ] {
            assert!(guard.authorized(Some(&header(ok))), "{ok}");
        }
        assert!(
            !format!("{guard:?}").contains("ab12"),
            "the token is not printed"
        );
        for refused in [
            "Bearer ab1",
            "Bearer ab123",
            "ab12",
            "Basic ab12",
            "Bearer ",
            "Bearerab12",
        ] {
            assert!(!guard.authorized(Some(&header(refused))), "{refused}");
        }
        assert!(!guard.authorized(None));
    }
}
