//! What nodes say to each other on NATS: committed batches (their order, their origin, their
//! pushes) and typing notices, as JSON.

use std::sync::Arc;

use im_proto::Uid;
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::NodeId;
use crate::store::Push;

/// The subjects of one cluster (`--cluster-name`).
#[derive(Debug, Clone)]
pub struct Subjects {
    pub batches: String,
    pub volatile: String,
    pub sign_ins: String,
}

impl Subjects {
    pub fn new(cluster: &str) -> Self {
        Self {
            batches: format!("im.{cluster}.batches"),
            volatile: format!("im.{cluster}.volatile"),
            sign_ins: format!("im.{cluster}.sign_ins"),
        }
    }
}

/// A sign-in's outcome, for the other nodes' throttles.
#[derive(Debug, Serialize, Deserialize)]
pub struct SignInOutcome {
    pub origin: NodeId,
    pub username: String,
    pub address: std::net::IpAddr,
    pub ok: bool,
}

/// One push as another node carries it out (the origin's connection to skip means nothing
/// there).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WirePush {
    Deliver {
        to: Vec<Uid>,
        frame: String,
    },
    Revoke {
        uid: Uid,
        #[serde(with = "hex32")]
        session: [u8; 32],
        frame: String,
    },
}

/// One part of a batch: a batch larger than [`PART_BYTES`] goes in several (NATS refuses
/// messages over its `max_payload`, 1 MiB by default; a batch of 1,024 long texts is ~15 MiB).
#[derive(Debug, Serialize, Deserialize)]
struct WireBatch {
    order: u64,
    origin: NodeId,
    part: u32,
    parts: u32,
    pushes: Vec<WirePush>,
}

/// The most bytes of pushes in one part (one push larger than that goes alone).
pub const PART_BYTES: usize = 256 * 1024;

/// One part of a published batch, as received.
#[derive(Debug)]
pub struct Part {
    pub order: u64,
    pub origin: NodeId,
    pub part: u32,
    pub parts: u32,
    pub pushes: Vec<Push>,
}

#[derive(Debug, Serialize, Deserialize)]
struct WireVolatile {
    origin: NodeId,
    to: Vec<Uid>,
    frame: String,
}

/// A committed batch as published: one message, or several parts of at most `part_bytes` of
/// pushes each (an empty batch is one empty part: the others still need its number).
pub fn encode_batch(
    order: u64,
    origin: NodeId,
    pushes: &[&Push],
    part_bytes: usize,
) -> Vec<Vec<u8>> {
    let mut groups: Vec<Vec<WirePush>> = vec![Vec::new()];
    let mut size = 0;
    for push in pushes.iter().map(|push| wire_push(push)) {
        let bytes = serde_json::to_vec(&push).map_or(0, |b| b.len());
        if size + bytes > part_bytes && !groups.last().is_some_and(Vec::is_empty) {
            groups.push(Vec::new());
            size = 0;
        }
        size += bytes;
        groups.last_mut().expect("one group at least").push(push);
    }
    let parts = groups.len() as u32;
    groups
        .into_iter()
        .enumerate()
        .map(|(part, pushes)| {
            serde_json::to_vec(&WireBatch {
                order,
                origin,
                part: part as u32,
                parts,
                pushes,
            })
            .expect("a batch serialises")
        })
        .collect()
}

fn wire_push(push: &Push) -> WirePush {
    match push {
        Push::Deliver { to, frame, .. } => WirePush::Deliver {
            to: to.to_vec(),
            frame: frame.as_str().to_owned(),
        },
        Push::Revoke {
            uid,
            session,
            frame,
            ..
        } => WirePush::Revoke {
            uid: *uid,
            session: *session,
            frame: frame.as_str().to_owned(),
        },
    }
}

/// A published part of a batch: its order, origin, place and pushes (with nothing to skip).
pub fn decode_batch(payload: &[u8]) -> serde_json::Result<Part> {
    let batch: WireBatch = serde_json::from_slice(payload)?;
    let pushes = batch
        .pushes
        .into_iter()
        .map(|push| match push {
            WirePush::Deliver { to, frame } => Push::Deliver {
                to: Arc::from(to),
                frame: Utf8Bytes::from(frame),
                skip: None,
            },
            WirePush::Revoke {
                uid,
                session,
                frame,
            } => Push::Revoke {
                uid,
                session,
                // Connection numbers start at 1: nothing is skipped.
                skip: 0,
                frame: Utf8Bytes::from(frame),
            },
        })
        .collect();
    Ok(Part {
        order: batch.order,
        origin: batch.origin,
        part: batch.part,
        parts: batch.parts,
        pushes,
    })
}

/// A typing notice as published.
pub fn encode_volatile(origin: NodeId, to: &[Uid], frame: &Utf8Bytes) -> Vec<u8> {
    serde_json::to_vec(&WireVolatile {
        origin,
        to: to.to_vec(),
        frame: frame.as_str().to_owned(),
    })
    .expect("a notice serialises")
}

/// A published typing notice: origin, recipients, frame.
pub fn decode_volatile(payload: &[u8]) -> serde_json::Result<(NodeId, Vec<Uid>, Utf8Bytes)> {
    let notice: WireVolatile = serde_json::from_slice(payload)?;
    Ok((notice.origin, notice.to, Utf8Bytes::from(notice.frame)))
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(64);
        for b in bytes {
            text.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut bytes = [0u8; 32];
        if text.len() != 64 {
            return Err(serde::de::Error::custom("a session hash of 64 hex digits"));
        }
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(serde::de::Error::custom)?;
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_round_trips_without_its_skips() {
        let (tom, jerry) = (Uid::random(), Uid::random());
        let pushes = [
            Push::Deliver {
                to: Arc::from(vec![tom, jerry]),
                frame: Utf8Bytes::from(
                    r#"{"type":"event","name":"message","data":{"text":"耗子，起床啦\n"}}"#,
                ),
                skip: Some(7),
            },
            Push::Revoke {
                uid: tom,
                session: [0xab; 32],
                skip: 9,
                frame: Utf8Bytes::from("bye"),
            },
        ];
        let parts = encode_batch(42, 5, &pushes.iter().collect::<Vec<_>>(), PART_BYTES);
        assert_eq!(parts.len(), 1);
        let part = decode_batch(&parts[0]).unwrap();
        assert_eq!(
            (part.order, part.origin, part.part, part.parts),
            (42, 5, 0, 1)
        );
        let back = part.pushes;
        match &back[..] {
            [Push::Deliver {
                to,
                frame,
                skip: None,
            }, Push::Revoke {
                uid,
                session,
                skip: 0,
                frame: bye,
            }] => {
                assert_eq!(&to[..], &[tom, jerry]);
                assert!(frame.as_str().contains("耗子，起床啦\\n"));
                assert_eq!((*uid, *session, bye.as_str()), (tom, [0xab; 32], "bye"));
            }
            other => panic!("{other:?}"),
        }
        assert!(decode_batch(b"{\"order\":1}").is_err());
    }

    #[test]
    fn a_large_batch_goes_in_parts_under_the_limit_and_an_empty_one_in_one() {
        let frame = Utf8Bytes::from("耗".repeat(4_000));
        let pushes: Vec<Push> = (0..100)
            .map(|_| Push::Deliver {
                to: Arc::from(vec![Uid::random()]),
                frame: frame.clone(),
                skip: None,
            })
            .collect();
        let parts = encode_batch(7, 1, &pushes.iter().collect::<Vec<_>>(), 64 * 1024);
        assert!(parts.len() > 1, "{} parts", parts.len());
        let mut back = Vec::new();
        for (i, payload) in parts.iter().enumerate() {
            assert!(
                payload.len() <= 64 * 1024 + 1024,
                "part {i}: {} bytes",
                payload.len()
            );
            let part = decode_batch(payload).unwrap();
            assert_eq!(
                (part.order, part.part, part.parts),
                (7, i as u32, parts.len() as u32)
            );
            back.extend(part.pushes);
        }
        assert_eq!(back.len(), 100, "every push once");
        let empty = encode_batch(8, 1, &[], PART_BYTES);
        assert_eq!(empty.len(), 1);
        let part = decode_batch(&empty[0]).unwrap();
        assert_eq!((part.parts, part.pushes.len()), (1, 0));
    }
}
