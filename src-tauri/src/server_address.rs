//! What a person types as their server (`chat.example.org`, `chat.example.org:8443`,
//! `https://chat.example.org`, `wss://chat.example.org/ws`) turned into the WebSocket URL the
//! SDK connects to. Encrypted (`wss://`) unless the address says `ws://`/`http://`, which is
//! allowed without asking only for this computer (loopback): anywhere else it needs the
//! person's explicit "connect without encryption".

use serde::Serialize;
use tauri::Url;

use crate::error::AppError;

/// A server address, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerAddress {
    /// The WebSocket URL (`wss://host[:port]/path`).
    pub url: String,
    /// Encrypted (TLS).
    pub secure: bool,
    /// This computer (`localhost`, `127.0.0.0/8`, `::1`).
    pub loopback: bool,
}

/// Resolves what was typed; `invalid_server_address` says what is wrong with it.
pub fn resolve(input: &str) -> Result<ServerAddress, AppError> {
    let invalid = |why: &str| {
        AppError::new(
            "invalid_server_address",
            format!("{input:?} is not a server address: {why}"),
        )
    };
    let typed = input.trim();
    if typed.is_empty() {
        return Err(invalid("it is empty"));
    }
    if typed.chars().any(char::is_whitespace) {
        return Err(invalid("it contains spaces"));
    }
    let (scheme, rest) = match typed.split_once("://") {
        Some((scheme, rest)) => {
            let scheme = match scheme.to_ascii_lowercase().as_str() {
                "wss" | "https" => "wss",
                "ws" | "http" => "ws",
                _ => return Err(invalid("use a web address (https://… or wss://…)")),
            };
            (scheme, rest)
        }
        None => ("wss", typed),
    };
    let mut url = Url::parse(&format!("{scheme}://{rest}")).map_err(|e| invalid(&e.to_string()))?;
    let Some(host) = url.host_str().filter(|h| !h.is_empty()).map(str::to_owned) else {
        return Err(invalid("it names no host"));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not carry a user name or password"));
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path(im_proto::WS_PATH);
    }
    url.set_fragment(None);
    let loopback = is_loopback(&host);
    Ok(ServerAddress {
        url: url.to_string(),
        secure: scheme == "wss",
        loopback,
    })
}

/// Resolves the address and refuses an unencrypted one to another computer unless the person
/// confirmed it (`insecure_server`).
pub fn resolve_for_sign_in(input: &str, allow_insecure: bool) -> Result<ServerAddress, AppError> {
    let address = resolve(input)?;
    if !address.secure && !address.loopback && !allow_insecure {
        return Err(AppError::new(
            "insecure_server",
            format!(
                "{} is not encrypted: your password and messages would travel in clear. \
                 Use its https:// or wss:// address, or confirm connecting without encryption.",
                address.url
            ),
        ));
    }
    Ok(address)
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(input: &str) -> String {
        resolve(input).unwrap().url
    }

    #[test]
    fn what_people_type_becomes_a_wss_url() {
        assert_eq!(url("chat.example.org"), "wss://chat.example.org/ws");
        assert_eq!(url("  chat.example.org  "), "wss://chat.example.org/ws");
        assert_eq!(
            url("chat.example.org:8443"),
            "wss://chat.example.org:8443/ws"
        );
        assert_eq!(url("https://chat.example.org"), "wss://chat.example.org/ws");
        assert_eq!(
            url("https://chat.example.org/"),
            "wss://chat.example.org/ws"
        );
        assert_eq!(url("HTTPS://Chat.Example.org"), "wss://chat.example.org/ws");
        assert_eq!(
            url("wss://chat.example.org/ws"),
            "wss://chat.example.org/ws"
        );
        // Behind a reverse proxy on a sub-path: kept as given.
        assert_eq!(url("https://example.org/im/ws"), "wss://example.org/im/ws");
        // The default port of the scheme is dropped, like a browser does.
        assert_eq!(
            url("wss://chat.example.org:443"),
            "wss://chat.example.org/ws"
        );
        assert_eq!(url("[::1]:7822"), "wss://[::1]:7822/ws");
        assert!(resolve("chat.example.org").unwrap().secure);
    }

    #[test]
    fn plain_addresses_are_insecure_and_allowed_only_to_this_computer() {
        for local in [
            "ws://localhost:7822",
            "http://127.0.0.1:7822/ws",
            "ws://[::1]:7822",
            "ws://127.8.9.10:1",
        ] {
            let address = resolve_for_sign_in(local, false).unwrap();
            assert!(!address.secure && address.loopback, "{local}");
        }
        assert_eq!(url("http://localhost:7822"), "ws://localhost:7822/ws");
        for remote in [
            "ws://chat.example.org",
            "http://10.0.0.2:7822",
            "ws://localhost.evil.org",
        ] {
            let refused = resolve_for_sign_in(remote, false).unwrap_err();
            assert_eq!(refused.code, "insecure_server", "{remote}");
            let confirmed = resolve_for_sign_in(remote, true).unwrap();
            assert!(!confirmed.secure && !confirmed.loopback, "{remote}");
        }
    }

    #[test]
    fn what_is_not_an_address_says_so() {
        for bad in [
            "",
            "   ",
            "ftp://chat.example.org",
            "://chat",
            "chat example.org",
            "wss://",
            "https://user:pw@chat.example.org",
        ] {
            let error = resolve(bad).unwrap_err();
            assert_eq!(error.code, "invalid_server_address", "{bad:?}");
        }
    }
}
