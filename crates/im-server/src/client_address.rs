//! Whose address a connection counts as, for the per-address limits (sign-in throttle,
//! sign-ups, connections): the TCP peer's, or, when the peer is a reverse proxy the server was
//! told to trust (`--trusted-proxies`), the client's that the proxy names in
//! `X-Forwarded-For`. From anyone else the header is ignored: it is only words a client chose.

use std::net::IpAddr;

use ipnet::IpNet;

/// Whether `address` is one of the trusted proxies.
pub fn is_trusted(address: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&address))
}

/// The address the connection from `peer` counts as. Reads `X-Forwarded-For` from the right
/// (each proxy appends the address it got the request from) past the trusted proxies; the
/// first address that is not one of them is the client. An entry that is not an address stops
/// the walk at the last trusted hop.
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for entry in header.rsplit(',') {
        let Some(address) = parse(entry.trim()) else {
            break;
        };
        client = address;
        if !is_trusted(address, trusted) {
            break;
        }
    }
    client
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:4711`,
/// `203.0.113.7:4711`.
fn parse(entry: &str) -> Option<IpAddr> {
    if let Ok(address) = entry.parse() {
        return Some(address);
    }
    if let Ok(socket) = entry.parse::<std::net::SocketAddr>() {
        return Some(socket.ip());
    }
    None
}

/// Parses `--trusted-proxies` entries: a network (`10.0.0.0/8`) or one address (`10.0.0.5`).
pub fn parse_trusted(entry: &str) -> Result<IpNet, String> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{entry:?} is not an address or a network (CIDR)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        let trusted = [
            parse_trusted("10.0.0.0/8").unwrap(),
            parse_trusted("127.0.0.1").unwrap(),
        ];
        // A client writing the header itself changes nothing.
        assert_eq!(
            client_address(ip("198.51.100.9"), Some("203.0.113.7"), &trusted),
            ip("198.51.100.9")
        );
        // Through one proxy.
        assert_eq!(
            client_address(ip("10.0.0.5"), Some("203.0.113.7"), &trusted),
            ip("203.0.113.7")
        );
        // Through two (a load balancer, then nginx); what the client wrote first is skipped.
        assert_eq!(
            client_address(
                ip("127.0.0.1"),
                Some("6.6.6.6, 203.0.113.7, 10.1.2.3"),
                &trusted
            ),
            ip("203.0.113.7")
        );
        // Several headers were joined in order; ports and brackets as some proxies write them.
        assert_eq!(
            client_address(ip("10.0.0.5"), Some("1.1.1.1,[2001:db8::7]:4711"), &trusted),
            ip("2001:db8::7")
        );
        // No header, or garbage at the right end: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.5"), None, &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client_address(ip("10.0.0.5"), Some("203.0.113.7, unknown"), &trusted),
            ip("10.0.0.5")
        );
        // Only trusted hops: the leftmost.
        assert_eq!(
            client_address(ip("10.0.0.5"), Some("10.9.9.9"), &trusted),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn trusted_proxies_are_networks_or_single_addresses() {
        assert!(parse_trusted("10.0.0.0/8").is_ok());
        assert!(parse_trusted("::1").is_ok());
        assert!(parse_trusted(" 192.0.2.1 ").is_ok());
        assert!(parse_trusted("proxy.example").is_err());
        assert!(parse_trusted("10.0.0.0/33").is_err());
    }
}
