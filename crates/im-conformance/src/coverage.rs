//! What the kit must cover, derived from docs/PROTOCOL.md (its tables of ops, events, error
//! codes and close codes) and from im-proto's lists (`OPS`, `EVENTS`, `ErrorCode::ALL`), plus
//! the plain HTTP answers and the RFC 6455 closes; and the few things that cannot be provoked
//! on a server the kit does not control, with the reason.

use std::collections::BTreeSet;

use crate::checks::all_checks;

/// Close codes the kit checks: the normal close handshake, the document's 1009 and 1013, and
/// the RFC 6455 answers to a text frame that is not UTF-8 (1007) and to a protocol violation
/// (1002).
pub const CLOSES: &[&str] = &[
    "close:1000",
    "close:1001",
    "close:1002",
    "close:1007",
    "close:1009",
    "close:1013",
];

/// The plain HTTP answers of the WebSocket port (§2.1).
pub const HTTP: &[&str] = &[
    "http:400", "http:403", "http:404", "http:405", "http:426", "http:429", "http:431",
];

/// What cannot be checked against an arbitrary remote server, and why.
pub const NOT_REMOTE: &[(&str, &str)] = &[
    (
        "error:shutting_down",
        "needs the server to stop while requests are in flight; checked in-process by \
         tests/against_im_server.rs",
    ),
    (
        "error:internal",
        "needs a database transaction to fail inside the server",
    ),
    ("error:storage_full", "needs the server's disk to be full"),
    (
        "event:sync_needed",
        "needs a cluster of nodes losing NATS; im-server's tests/cluster.rs and im-sdk's \
         tests/cluster.rs check it",
    ),
    (
        "error:store_unavailable",
        "needs the server's PostgreSQL to be down; im-server's tests/store_outage.rs checks it",
    ),
    (
        "error:window_closed",
        "needs a message older than the server's edit or recall window (48 h and 24 h by \
         default); im-server's tests/messaging.rs checks it with short windows",
    ),
    (
        "error:quota_exceeded",
        "needs a user's storage quota (5 GiB by default) filled; im-server's tests/blobs.rs \
         checks it with a small quota",
    ),
    (
        "error:sign_up_closed",
        "needs a server started with --sign-up closed; im-server's tests/accounts.rs checks it",
    ),
    (
        "error:invite_required",
        "needs a server started with --sign-up invite; im-server's tests/accounts.rs checks it",
    ),
    (
        "error:invite_invalid",
        "needs a server started with --sign-up invite and its operator's codes; im-server's \
         tests/accounts.rs checks it",
    ),
    (
        "error:account_disabled",
        "needs the server's operator to disable an account; im-server's tests/accounts.rs checks \
         it",
    ),
    (
        "http:429",
        "needs more connections than the per-address limit (512 by default) from one address that \
         is not the server's own host; im-server's tests/abuse.rs checks it with a small limit",
    ),
    (
        "close:1001",
        "sent when the server shuts down (checked in-process by tests/against_im_server.rs) or \
         after 90 s of silence (im-server's own test, with a short idle timeout)",
    ),
];

/// Everything that must be covered: im-proto's ops, events and error codes, the close codes
/// and the HTTP answers.
pub fn required() -> BTreeSet<String> {
    let mut all: BTreeSet<String> = BTreeSet::new();
    all.extend(im_proto::OPS.iter().map(|op| format!("op:{op}")));
    all.extend(im_proto::EVENTS.iter().map(|e| format!("event:{e}")));
    all.extend(
        im_proto::ErrorCode::ALL
            .iter()
            .map(|c| format!("error:{}", c.as_str())),
    );
    all.extend(CLOSES.iter().map(|c| (*c).to_owned()));
    all.extend(HTTP.iter().map(|h| (*h).to_owned()));
    all
}

/// What the checks claim to cover.
pub fn claimed() -> BTreeSet<&'static str> {
    all_checks()
        .iter()
        .flat_map(|c| c.covers.iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROTOCOL_MD: &str = include_str!("../../../docs/PROTOCOL.md");

    /// The section of the document whose heading starts with `heading`.
    fn section(heading: &str) -> &'static str {
        let start = PROTOCOL_MD
            .find(heading)
            .unwrap_or_else(|| panic!("no section {heading:?} in PROTOCOL.md"));
        let rest = &PROTOCOL_MD[start + heading.len()..];
        let end = rest.find("\n## ").unwrap_or(rest.len());
        &rest[..end]
    }

    /// The first backquoted word of each row of the first table in `text` whose first cell
    /// holds one.
    fn table_names(text: &str) -> BTreeSet<String> {
        text.lines()
            .skip_while(|line| !line.starts_with("| "))
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| {
                let cell = line.split('|').nth(1)?;
                let start = cell.find('`')? + 1;
                let end = start + cell[start..].find('`')?;
                Some(cell[start..end].to_owned())
            })
            .collect()
    }

    /// What the document itself lists: §5's table of ops, §6's events, §7's error codes, §2.5's
    /// close codes and §2.1's HTTP answers.
    fn documented() -> BTreeSet<String> {
        let mut all = BTreeSet::new();
        let ops = table_names(section("## 5. Operations"));
        let events = table_names(section("## 6. Events"));
        let codes = table_names(section("## 7. Error codes"));
        assert!(ops.contains("send_text") && ops.len() >= 19, "{ops:?}");
        assert!(
            events.contains("receipt") && events.len() >= 7,
            "{events:?}"
        );
        assert!(
            codes.contains("not_member") && codes.len() >= 25,
            "{codes:?}"
        );
        all.extend(ops.iter().map(|op| format!("op:{op}")));
        all.extend(events.iter().map(|e| format!("event:{e}")));
        all.extend(codes.iter().map(|c| format!("error:{c}")));
        for line in section("### 2.5 Close codes").lines() {
            if let Some(code) = line
                .strip_prefix("| **")
                .and_then(|rest| rest.split("**").next())
            {
                all.insert(format!("close:{code}"));
            }
        }
        assert!(all.contains("close:1013"), "{all:?}");
        for line in section("### 2.1 URL and WebSocket handshake").lines() {
            if let Some(status) = line
                .split("**")
                .nth(1)
                .and_then(|bold| bold.split(' ').next())
                .filter(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
            {
                all.insert(format!("http:{status}"));
            }
        }
        assert!(all.contains("http:431"), "{all:?}");
        all
    }

    #[test]
    fn everything_documented_or_defined_is_covered_or_listed_as_not_remote() {
        let not_remote: BTreeSet<&str> = NOT_REMOTE.iter().map(|(what, _)| *what).collect();
        let claimed = claimed();
        let missing: BTreeSet<String> = required()
            .into_iter()
            .chain(documented())
            .filter(|what| !claimed.contains(what.as_str()) && !not_remote.contains(what.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "no check covers {missing:?}: write one, or list it in NOT_REMOTE with the reason"
        );
    }

    #[test]
    fn the_not_remote_list_names_only_real_uncovered_things() {
        let known: BTreeSet<String> = required().into_iter().chain(documented()).collect();
        let claimed = claimed();
        for (what, why) in NOT_REMOTE {
            assert!(
                known.contains(*what),
                "{what} is neither documented nor defined"
            );
            assert!(
                !claimed.contains(what),
                "{what} is covered by a check after all"
            );
            assert!(!why.is_empty());
        }
    }

    #[test]
    fn every_claim_names_something_that_exists() {
        let known: BTreeSet<String> = required().into_iter().chain(documented()).collect();
        for check in all_checks() {
            for claim in check.covers {
                assert!(
                    known.contains(*claim),
                    "{} claims {claim}, which names nothing",
                    check.name
                );
            }
            assert!(!check.covers.is_empty(), "{} claims nothing", check.name);
        }
    }

    #[test]
    fn check_names_are_unique_and_area_dot_name() {
        let mut seen = BTreeSet::new();
        for check in all_checks() {
            assert!(seen.insert(check.name), "{} twice", check.name);
            let (area, name) = check.name.split_once('.').expect("area.name");
            assert!(!area.is_empty() && !name.is_empty());
        }
    }
}
