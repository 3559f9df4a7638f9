//! [`MessageTag`]: the (sender, per-sender counter) that every chaos message carries in its text,
//! so the audit can tell from the stored history alone who sent what in which order.

use std::fmt;

/// Who sent a message and its place in that sender's sequence: the text `chaos <sender> k=<k>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageTag {
    /// The sender's username.
    pub sender: String,
    /// The sender's counter: 1, 2, 3 … in the order the sender created its messages.
    pub k: u64,
}

impl MessageTag {
    /// A tag.
    pub fn new(sender: impl Into<String>, k: u64) -> Self {
        Self {
            sender: sender.into(),
            k,
        }
    }

    /// Reads a tag back from a message text; `None` if the text is not a chaos message.
    pub fn parse(text: &str) -> Option<Self> {
        let mut words = text.split(' ');
        if words.next()? != "chaos" {
            return None;
        }
        let sender = words.next()?;
        let k = words.next()?.strip_prefix("k=")?.parse().ok()?;
        if words.next().is_some() || sender.is_empty() {
            return None;
        }
        Some(Self::new(sender, k))
    }

    /// The message text.
    pub fn text(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for MessageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chaos {} k={}", self.sender, self.k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let tag = MessageTag::new("raw07", 123);
        assert_eq!(tag.text(), "chaos raw07 k=123");
        assert_eq!(MessageTag::parse(&tag.text()), Some(tag));
    }

    #[test]
    fn other_texts_are_not_tags() {
        for text in [
            "",
            "chaos",
            "chaos raw07",
            "chaos raw07 k=x",
            "hello raw07 k=1",
        ] {
            assert_eq!(MessageTag::parse(text), None, "{text:?}");
        }
        assert_eq!(MessageTag::parse("chaos raw07 k=1 extra"), None);
    }
}
