//! Identifiers on the wire: 32 lowercase hex characters (a 128-bit value), like the seed's
//! `9896d0783afa55ff194248ecc408baeb`, and the sender-chosen [`ClientId`].

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// What a malformed id error says; [`crate::parse_request`] looks for it to answer `bad_id`.
pub(crate) const ID_EXPECTATION: &str = "an id of 32 lowercase hex characters";

/// Why a string is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{found:?} is not {ID_EXPECTATION}")]
pub struct BadId {
    found: String,
}

fn parse_hex_id(s: &str) -> Result<Uuid, BadId> {
    let well_formed = s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !well_formed {
        let mut found: String = s.chars().take(40).collect();
        if s.chars().count() > 40 {
            found.push('…');
        }
        return Err(BadId { found });
    }
    Uuid::try_parse(s).map_err(|_| BadId {
        found: s.to_owned(),
    })
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new random id (UUID v4 bits).
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            /// A new id whose leading bits are the current time (UUID v7), so ids sort by creation.
            pub fn time_ordered() -> Self {
                Self(Uuid::now_v7())
            }

            /// The id as 16 bytes.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// The id from 16 bytes.
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
        }

        impl FromStr for $name {
            type Err = BadId;
            fn from_str(s: &str) -> Result<Self, BadId> {
                parse_hex_id(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.simple(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.simple())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut buf = [0u8; 32];
                serializer.serialize_str(self.0.simple().encode_lower(&mut buf))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(ID_EXPECTATION)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$name, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

hex_id!(
    /// A user's id (`uid`).
    Uid
);
hex_id!(
    /// A conversation's id.
    ConversationId
);
hex_id!(
    /// A message's server-assigned id (time-ordered).
    MessageId
);

/// The sender-chosen idempotency key of a message: 1 to 64 characters from `[A-Za-z0-9_-]`
/// (a UUID in any common spelling fits). A retried send with the same client id returns the
/// original message instead of storing a second one.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ClientId(String);

/// Why a string is not a [`ClientId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client_id must be 1 to {max} characters from A-Z a-z 0-9 _ -", max = ClientId::MAX_LEN)]
pub struct BadClientId;

impl ClientId {
    /// The longest client id accepted.
    pub const MAX_LEN: usize = 64;

    /// A fresh random client id (32 hex characters).
    pub fn random() -> Self {
        Self(Uuid::new_v4().simple().to_string())
    }

    /// A fresh client id whose leading bits are the current time (UUID v7, 32 hex characters):
    /// a sender's ids sort by creation, so the server's idempotency index grows at its end
    /// instead of at random places.
    pub fn time_ordered() -> Self {
        Self(Uuid::now_v7().simple().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ClientId {
    type Err = BadClientId;
    fn from_str(s: &str) -> Result<Self, BadClientId> {
        let ok = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(BadClientId)
        }
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({})", self.0)
    }
}

impl<'de> Deserialize<'de> for ClientId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_uid_round_trips() {
        let uid: Uid = "9896d0783afa55ff194248ecc408baeb".parse().unwrap();
        assert_eq!(uid.to_string(), "9896d0783afa55ff194248ecc408baeb");
        let json = serde_json::to_string(&uid).unwrap();
        assert_eq!(json, "\"9896d0783afa55ff194248ecc408baeb\"");
        assert_eq!(serde_json::from_str::<Uid>(&json).unwrap(), uid);
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "9896d0783afa55ff194248ecc408bae",   // 31
            "9896d0783afa55ff194248ecc408baebb", // 33
            "9896D0783AFA55FF194248ECC408BAEB",  // upper case
            "9896d078-3afa-55ff-1942-48ecc408baeb",
            "zz96d0783afa55ff194248ecc408baeb",
        ] {
            assert!(bad.parse::<Uid>().is_err(), "{bad:?} accepted");
            let err = serde_json::from_value::<ConversationId>(serde_json::json!(bad)).unwrap_err();
            assert!(err.to_string().contains(ID_EXPECTATION), "{err}");
        }
        assert!(serde_json::from_value::<Uid>(serde_json::json!(5)).is_err());
    }

    #[test]
    fn random_ids_are_distinct_and_well_formed() {
        let a = Uid::random();
        let b = Uid::random();
        assert_ne!(a, b);
        assert_eq!(a.to_string().len(), 32);
        assert_eq!(a.to_string().parse::<Uid>().unwrap(), a);
        let m1 = MessageId::time_ordered();
        let m2 = MessageId::time_ordered();
        assert!(m1 < m2);
        assert_eq!(MessageId::from_bytes(*m1.as_bytes()), m1);
    }

    #[test]
    fn client_ids() {
        assert!("a".parse::<ClientId>().is_ok());
        assert!("0b5c1c2e-4d7f-4c55-9a36-6f0b8f3f2a11"
            .parse::<ClientId>()
            .is_ok());
        assert!("".parse::<ClientId>().is_err());
        assert!("has space".parse::<ClientId>().is_err());
        assert!("x".repeat(65).parse::<ClientId>().is_err());
        // Time-ordered ids are valid, and a later one sorts after an earlier one.
        let first = ClientId::time_ordered();
        let second = ClientId::time_ordered();
        assert!(first.as_str().parse::<ClientId>().is_ok());
        assert_eq!(first.as_str().len(), 32);
        assert!(first.as_str() < second.as_str(), "{first:?} {second:?}");
        assert_eq!(ClientId::random().as_str().len(), 32);
    }
}
