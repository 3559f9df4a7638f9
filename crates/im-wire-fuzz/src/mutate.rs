//! The mutator: turns a valid request into a broken one, at the JSON level (dropped, added and
//! duplicated fields, wrong types for every field, null, huge, negative and fractional numbers,
//! u64::MAX and beyond, deep nesting, very long strings, NUL, lone surrogate escapes, RTL and
//! zero-width characters, ids of the wrong kind or shape, other ops' names) and at the byte level
//! (bit flips, truncation, insertion, deletion, splicing two frames, invalid UTF-8).

use rand::seq::IndexedRandom;
use rand::Rng;
use serde_json::{json, Map, Value};

/// What to send: text, or bytes that are not UTF-8 (which only a raw text frame can carry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A UTF-8 text frame.
    Text(String),
    /// A text frame whose payload is not valid UTF-8.
    Bytes(Vec<u8>),
}

impl Payload {
    /// The payload's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Payload::Text(t) => t.as_bytes(),
            Payload::Bytes(b) => b,
        }
    }
}

/// Raw JSON pieces spliced in where a value goes: things serde_json's `Value` cannot hold
/// (lone surrogates, out-of-range numbers, invalid escapes, deep nesting built as text).
const RAW_VALUES: &[&str] = &[
    r#""\ud800""#,
    r#""\udfff""#,
    r#""\ud800\u0041""#,
    r#""\udbff\udfff""#,
    r#""a\u0000b""#,
    r#""\x41""#,
    "\"raw\u{1}control\"",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "-1e400",
    "1.0",
    "-0",
    "1E2",
    "0.5e-3",
    "007",
    "0x10",
    "NaN",
    "Infinity",
    "undefined",
    "tru",
    "nul",
    "'single'",
    r#""unterminated"#,
];

/// Weird values for any field.
fn weird_value(rng: &mut impl Rng) -> Value {
    match rng.random_range(0..24) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(false),
        3 => json!(0),
        4 => json!(-1),
        5 => json!(1.5),
        6 => json!(u64::MAX),
        7 => json!(i64::MIN),
        8 => json!(f64::MAX),
        9 => json!(""),
        10 => json!("a string"),
        11 => json!([]),
        12 => json!({}),
        13 => json!([null, 1, "x", {}]),
        14 => json!({"nested": {"deeper": [1, 2, 3]}}),
        15 => json!(1u64 << 53),
        16 => json!((1u64 << 53) + 1),
        17 => json!(u32::MAX as u64 + 1),
        18 => json!(-0.0),
        19 => json!(1e-300),
        20 => json!("0123456789ABCDEF0123456789ABCDEF"),
        21 => json!(["0123456789abcdef0123456789abcdef"]),
        22 => json!("\u{0}"),
        _ => json!(i64::MAX),
    }
}

/// Variants of a 32-hex id that are not quite ids.
fn bad_id(rng: &mut impl Rng, real: &str) -> Value {
    let mut s = real.to_owned();
    match rng.random_range(0..12) {
        0 => s = s.to_uppercase(),
        1 => {
            s.pop();
        }
        2 => s.push('0'),
        3 if s.len() >= 32 && s.is_ascii() => {
            s = format!(
                "{}-{}-{}-{}-{}",
                &s[0..8],
                &s[8..12],
                &s[12..16],
                &s[16..20],
                &s[20..32]
            )
        }
        4 => s = format!(" {s} "),
        5 => s = format!("g{}", s.chars().skip(1).collect::<String>()),
        6 => s = String::new(),
        7 => s = format!("{s}\u{0}"),
        8 => s = "٠١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠١".into(),
        9 => s = "0".repeat(32),
        10 => s = "f".repeat(32),
        _ => s = s.repeat(rng.random_range(2..64)),
    }
    json!(s)
}

/// Unicode oddities spliced into strings.
const ODDITIES: &[&str] = &[
    "\u{0}",
    "\u{202e}",
    "\u{200b}",
    "\u{200d}",
    "\u{feff}",
    "\u{fffd}",
    "\u{10ffff}",
    "\u{301}\u{301}\u{301}",
    "🐭",
    "\r\n",
    "\u{7f}",
    "\u{85}",
    "\u{2028}",
    "\\",
    "\"",
];

/// Whether a value is a slot for raw text spliced in after serialization.
fn is_placeholder(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.starts_with("@@RAW"))
}

fn nest(depth: usize, array: bool) -> String {
    if array {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    } else {
        let mut s = String::with_capacity(depth * 6);
        for _ in 0..depth {
            s.push_str("{\"a\":");
        }
        s.push('1');
        s.push_str(&"}".repeat(depth));
        s
    }
}

/// The mutator's state: the limit it aims around and raw values to splice in after
/// serialization.
#[derive(Debug)]
pub struct Mutator {
    /// The server's `max_frame_bytes`.
    pub max_frame_bytes: usize,
    raw: Vec<String>,
}

impl Mutator {
    /// A mutator for a server with this frame limit.
    pub fn new(max_frame_bytes: usize) -> Self {
        Self {
            max_frame_bytes,
            raw: Vec::new(),
        }
    }

    fn raw_slot(&mut self, text: String) -> Value {
        let slot = json!(format!("@@RAW{}@@", self.raw.len()));
        self.raw.push(text);
        slot
    }

    fn field<'m>(rng: &mut impl Rng, m: &'m Map<String, Value>) -> Option<&'m String> {
        // Placeholder keys (duplicates to splice in later) are left alone.
        let keys: Vec<&String> = m.keys().filter(|k| !k.starts_with("@@")).collect();
        keys.choose(rng).copied()
    }

    /// One JSON-level change to `m`; returns its name.
    fn json_step(&mut self, m: &mut Map<String, Value>, rng: &mut impl Rng) -> &'static str {
        match rng.random_range(0..16) {
            0 => {
                if let Some(k) = Self::field(rng, m).cloned() {
                    m.remove(&k);
                }
                "drop_field"
            }
            1 => {
                let name = ["extra", "params", "__proto__", "", "id ", "Op", "ID"]
                    .choose(rng)
                    .copied()
                    .unwrap_or("x");
                m.insert(name.into(), weird_value(rng));
                "add_field"
            }
            2 => {
                // A second copy of a field with another value: JSON allows the text, serde
                // refuses duplicates in structs.
                if let Some(k) = Self::field(rng, m).cloned() {
                    let slot = self.raw_slot(String::new());
                    let dup = format!(
                        "{}:{}",
                        serde_json::to_string(&k).unwrap_or_default(),
                        serde_json::to_string(&weird_value(rng)).unwrap_or_default()
                    );
                    let n = self.raw.len() - 1;
                    self.raw[n] = dup;
                    m.insert(format!("@@DUP{n}@@"), slot);
                }
                "duplicate_field"
            }
            3 | 4 => {
                if let Some(k) = Self::field(rng, m).cloned() {
                    m.insert(k, weird_value(rng));
                }
                "wrong_type"
            }
            5 => {
                if let Some(k) = Self::field(rng, m).cloned() {
                    let raw = RAW_VALUES.choose(rng).copied().unwrap_or("null").to_owned();
                    let slot = self.raw_slot(raw);
                    m.insert(k, slot);
                }
                "raw_value"
            }
            6 => {
                let target = ["id", "seq", "since", "before", "after", "limit", "protocol"]
                    .choose(rng)
                    .copied()
                    .unwrap_or("id");
                let value = match rng.random_range(0..8) {
                    0 => json!(u64::MAX),
                    1 => json!(-1),
                    2 => json!(1.5),
                    3 => json!(i64::MAX as u64 + 1),
                    4 => json!(0),
                    5 => json!("5"),
                    6 => json!(1e19),
                    _ => self.raw_slot("18446744073709551616".into()),
                };
                m.insert(target.into(), value);
                "number_edge"
            }
            7 => {
                if let Some(k) = Self::field(rng, m).cloned() {
                    let depth = *[10usize, 127, 128, 129, 500, 5000]
                        .choose(rng)
                        .unwrap_or(&200);
                    let slot = self.raw_slot(nest(depth, rng.random_bool(0.5)));
                    m.insert(k, slot);
                }
                "deep_nesting"
            }
            8 => {
                if let Some(k) = Self::field(rng, m).cloned() {
                    let len = match rng.random_range(0..3) {
                        0 => rng.random_range(1000..10_000),
                        1 => self.max_frame_bytes.saturating_sub(200),
                        _ => 4097,
                    };
                    let unit = ["x", "字", "🐭", "\u{0}", "\u{202e}"]
                        .choose(rng)
                        .copied()
                        .unwrap_or("x");
                    let n = (len / unit.len().max(1)).max(1);
                    m.insert(k, json!(unit.repeat(n)));
                }
                "long_string"
            }
            9 => {
                let strings: Vec<String> = m
                    .iter()
                    .filter(|(_, v)| v.is_string() && !is_placeholder(v))
                    .map(|(k, _)| k.clone())
                    .collect();
                if let Some(k) = strings.choose(rng) {
                    let old = m[k].as_str().unwrap_or_default().to_owned();
                    let odd = ODDITIES.choose(rng).copied().unwrap_or("\u{0}");
                    let at = (0..=old.len())
                        .filter(|&i| old.is_char_boundary(i))
                        .collect::<Vec<_>>();
                    let at = at.choose(rng).copied().unwrap_or(0);
                    let new = format!("{}{odd}{}", &old[..at], &old[at..]);
                    m.insert(k.clone(), json!(new));
                }
                "unicode"
            }
            10 => {
                for k in ["conversation_id", "token"] {
                    if let Some(Value::String(s)) = m.get(k).filter(|v| !is_placeholder(v)) {
                        let s = s.clone();
                        m.insert(k.into(), bad_id(rng, &s));
                    }
                }
                for k in ["user_ids", "uids"] {
                    if let Some(Value::Array(items)) = m.get_mut(k) {
                        if let Some(first) =
                            items.first().and_then(Value::as_str).map(str::to_owned)
                        {
                            let bad = bad_id(rng, &first);
                            items.push(bad);
                        } else {
                            items.push(json!("nope"));
                        }
                    }
                }
                "bad_id"
            }
            11 => {
                let k = ["user_ids", "uids", "usernames"]
                    .choose(rng)
                    .copied()
                    .unwrap_or("uids");
                let value = match rng.random_range(0..5) {
                    0 => json!([null]),
                    1 => json!([1, 2, 3]),
                    2 => json!([["nested"]]),
                    3 => json!("not an array"),
                    _ => Value::Array(vec![json!("0".repeat(32)); rng.random_range(0..2000)]),
                };
                m.insert(k.into(), value);
                "array"
            }
            12 => {
                let op = match rng.random_range(0..8) {
                    0 => json!("SEND_TEXT"),
                    1 => json!("launch_missiles"),
                    2 => json!(""),
                    3 => Value::Null,
                    4 => json!(7),
                    5 => json!(["hello"]),
                    6 => json!(" ping"),
                    _ => json!(crate::generate::GENERATED
                        .choose(rng)
                        .copied()
                        .unwrap_or("ping")),
                };
                m.insert("op".into(), op);
                "op"
            }
            13 => {
                let id = match rng.random_range(0..7) {
                    0 => json!(u64::MAX),
                    1 => json!(-1),
                    2 => json!("1"),
                    3 => Value::Null,
                    4 => json!(1.0),
                    5 => json!((1u64 << 53) + 1),
                    _ => {
                        m.remove("id");
                        return "request_id";
                    }
                };
                m.insert("id".into(), id);
                "request_id"
            }
            14 => {
                if let Some(k) = Self::field(rng, m).cloned() {
                    let inner = m.clone();
                    m.insert(k, Value::Object(inner));
                }
                "self_embed"
            }
            _ => {
                let k = Self::field(rng, m).cloned().unwrap_or_default();
                m.insert(k, Value::Null);
                "null"
            }
        }
    }

    fn serialize(&mut self, m: &Map<String, Value>) -> String {
        let mut text = serde_json::to_string(m).unwrap_or_default();
        for (i, raw) in self.raw.drain(..).enumerate() {
            let dup_key = format!("\"@@DUP{i}@@\":\"@@RAW{i}@@\"");
            text = text
                .replace(&dup_key, &raw)
                .replace(&format!("\"@@RAW{i}@@\""), &raw);
        }
        text
    }

    /// Whole-frame shape changes.
    fn shape(&self, text: String, rng: &mut impl Rng) -> (String, &'static str) {
        let out = match rng.random_range(0..12) {
            0 => format!("[{text}]"),
            1 => format!("{text}{text}"),
            2 => format!("{text},"),
            3 => text.trim_end_matches('}').to_owned(),
            4 => format!("\u{feff}{text}"),
            5 => format!("  \n\t{text}\n  "),
            6 => "{}".into(),
            7 => ["null", "true", "42", "\"hello\"", "", " ", "[]"]
                .choose(rng)
                .copied()
                .unwrap_or("")
                .into(),
            8 => text.replacen(':', " : ", 3),
            // Id 0 is never one of the attack's own request ids.
            9 => format!("{{\"id\":0,\"op\":\"ping\",\"nested\":{text}}}"),
            10 => text.replace('"', "'"),
            _ => format!("{{\"params\":{text},\"id\":0,\"op\":\"ping\"}}"),
        };
        (out, "shape")
    }

    /// Byte-level damage.
    fn bytes_step(&self, bytes: &mut Vec<u8>, other: &[u8], rng: &mut impl Rng) -> &'static str {
        if bytes.is_empty() {
            bytes.push(b'{');
        }
        let len = bytes.len();
        match rng.random_range(0..9) {
            0 => {
                for _ in 0..rng.random_range(1..=8) {
                    let i = rng.random_range(0..len);
                    bytes[i] ^= 1 << rng.random_range(0..8);
                }
                "bit_flip"
            }
            1 => {
                bytes.truncate(rng.random_range(0..len));
                "truncate"
            }
            2 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..16);
                let junk: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                bytes.splice(at..at, junk);
                "insert_bytes"
            }
            3 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len);
                bytes.drain(a..b);
                "delete_bytes"
            }
            4 => {
                let cut = rng.random_range(0..=len);
                let from = rng.random_range(0..=other.len());
                bytes.truncate(cut);
                bytes.extend_from_slice(&other[from..]);
                "splice"
            }
            5 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 64));
                let chunk = bytes[a..b].to_vec();
                for _ in 0..rng.random_range(1..50) {
                    bytes.splice(b..b, chunk.iter().copied());
                }
                "repeat_chunk"
            }
            6 => {
                let special: &[&[u8]] = &[
                    b"\0",
                    b"\xff",
                    b"\xc0\xaf",
                    b"\xed\xa0\x80",
                    b"\xf8\x88\x80\x80\x80",
                    b"\xe4\xb8",
                    b"\"",
                    b"\\",
                    b"{",
                    b"}",
                    b"\\u",
                ];
                let at = rng.random_range(0..=len);
                let piece = special.choose(rng).copied().unwrap_or(b"\0");
                bytes.splice(at..at, piece.iter().copied());
                "special_bytes"
            }
            7 => {
                let i = rng.random_range(0..len);
                bytes[i] = *b"{}[]\":,\\ 0-e".choose(rng).unwrap_or(&b' ');
                "syntax_byte"
            }
            _ => {
                let mut both = other.to_vec();
                both.extend_from_slice(bytes);
                *bytes = both;
                "prepend_other"
            }
        }
    }

    /// Mutates a valid request `m` (whose sibling `other` may be spliced in). Returns the payload
    /// and the names of the mutations applied.
    pub fn mutate(
        &mut self,
        mut m: Map<String, Value>,
        other: &str,
        rng: &mut impl Rng,
    ) -> (Payload, Vec<&'static str>) {
        let mut applied = Vec::new();
        let level = rng.random_range(0..10);
        if level < 7 {
            for _ in 0..rng.random_range(1..=3) {
                applied.push(self.json_step(&mut m, rng));
            }
        }
        let mut text = self.serialize(&m);
        if level == 7 {
            let (shaped, name) = self.shape(text, rng);
            text = shaped;
            applied.push(name);
        }
        if level < 8 {
            return (Payload::Text(text), applied);
        }
        let mut bytes = text.into_bytes();
        for _ in 0..rng.random_range(1..=3) {
            applied.push(self.bytes_step(&mut bytes, other.as_bytes(), rng));
        }
        match String::from_utf8(bytes) {
            Ok(text) => (Payload::Text(text), applied),
            // Most damaged frames are repaired into UTF-8 so the connection lives on; some go
            // out as they are (the server must close with 1007).
            Err(e) if rng.random_bool(0.8) => (
                Payload::Text(String::from_utf8_lossy(e.as_bytes()).into_owned()),
                applied,
            ),
            Err(e) => {
                applied.push("invalid_utf8");
                (Payload::Bytes(e.into_bytes()), applied)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn sample() -> Map<String, Value> {
        json!({"id": 7, "op": "send_text", "conversation_id": "0123456789abcdef0123456789abcdef",
               "client_id": "abc", "text": "耗子，起床啦"})
        .as_object()
        .cloned()
        .unwrap()
    }

    fn samples() -> Vec<Map<String, Value>> {
        let others = [
            json!({"id": 1, "op": "get_users", "uids": ["", "é", "0123456789abcdef0123456789abcdef"]}),
            json!({"id": 2, "op": "resume", "token": ""}),
            json!({"id": 3, "op": "create_conversation", "user_ids": [], "title": "字"}),
            json!({}),
            json!({"conversation_id": "é€🐭", "user_ids": [""]}),
        ];
        let mut all = vec![sample()];
        all.extend(others.iter().map(|v| v.as_object().cloned().unwrap()));
        all
    }

    #[test]
    fn raw_values_are_spliced_in_and_placeholders_never_leak() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut mutator = Mutator::new(65536);
        let mut kinds = std::collections::BTreeSet::new();
        let samples = samples();
        for i in 0..6_000 {
            let m = samples[i % samples.len()].clone();
            let (payload, applied) = mutator.mutate(m, r#"{"id":1,"op":"ping"}"#, &mut rng);
            let text = String::from_utf8_lossy(payload.as_bytes()).into_owned();
            assert!(!text.contains("@@RAW"), "{applied:?}: {text}");
            assert!(!text.contains("@@DUP"), "{applied:?}: {text}");
            kinds.extend(applied);
        }
        for kind in [
            "duplicate_field",
            "raw_value",
            "deep_nesting",
            "bit_flip",
            "splice",
            "invalid_utf8",
            "shape",
        ] {
            assert!(kinds.contains(kind), "{kind} never applied");
        }
    }

    #[test]
    fn a_duplicate_field_appears_twice_in_the_text() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut mutator = Mutator::new(65536);
        let mut m = sample();
        loop {
            let name = mutator.json_step(&mut m, &mut rng);
            if name == "duplicate_field" {
                break;
            }
            m = sample();
            mutator.raw.clear();
        }
        let text = mutator.serialize(&m);
        let keys = sample().keys().cloned().collect::<Vec<_>>();
        assert!(
            keys.iter()
                .any(|k| text.matches(&format!("\"{k}\":")).count() == 2),
            "{text}"
        );
    }

    #[test]
    fn mutations_are_reproducible_from_the_seed() {
        let run = || {
            let mut rng = StdRng::seed_from_u64(42);
            let mut mutator = Mutator::new(4096);
            (0..200)
                .map(|_| mutator.mutate(sample(), "{}", &mut rng).0)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }
}
