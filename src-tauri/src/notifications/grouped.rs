//! One notification per conversation: the next message replaces it with a count ("3 new
//! messages"); opening the conversation, or the notification going away, starts the count over.

use std::collections::HashMap;

use im_sdk::ConversationId;

use crate::texts::{Locale, Text};

/// What to show for a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub conversation: ConversationId,
    /// The conversation's notification on screen (the server's id), which this one replaces.
    pub replaces: Option<u32>,
    pub summary: String,
    pub body: String,
}

/// The conversations with a notification on screen, and how many messages each one counts.
#[derive(Debug, Default)]
pub struct Groups {
    by_conversation: HashMap<ConversationId, Group>,
}

#[derive(Debug, Default)]
struct Group {
    count: u32,
    shown: Option<u32>,
}

impl Groups {
    /// A message for `conversation`: the notice that shows it with the ones before it, in
    /// `locale`. With `hide_text` (privacy), no message text at all.
    pub fn message(
        &mut self,
        conversation: ConversationId,
        title: &str,
        preview: &str,
        hide_text: bool,
        locale: Locale,
    ) -> Notice {
        let group = self.by_conversation.entry(conversation).or_default();
        group.count += 1;
        let count = |n: u32| Text::NewMessages.fill(locale, &[("n", &n.to_string())]);
        let body = match (group.count, hide_text) {
            (1, false) => preview.to_owned(),
            (1, true) => Text::NewMessage.raw(locale).to_owned(),
            (n, false) => format!("{} · {preview}", count(n)),
            (n, true) => count(n),
        };
        Notice {
            conversation,
            replaces: group.shown,
            summary: title.to_owned(),
            body,
        }
    }

    /// The server shows `conversation`'s notice as `id`.
    pub fn shown(&mut self, conversation: ConversationId, id: u32) {
        if let Some(group) = self.by_conversation.get_mut(&conversation) {
            group.shown = Some(id);
        }
    }

    /// The user opened `conversation`: its notification (returned, to close) is done with.
    pub fn read(&mut self, conversation: ConversationId) -> Option<u32> {
        self.by_conversation
            .remove(&conversation)
            .and_then(|group| group.shown)
    }

    /// The conversation notification `id` shows.
    pub fn conversation_of(&self, id: u32) -> Option<ConversationId> {
        self.by_conversation
            .iter()
            .find(|(_, group)| group.shown == Some(id))
            .map(|(conversation, _)| *conversation)
    }

    /// The server closed notification `id` (dismissed, expired, clicked): the next message of its
    /// conversation starts a new one.
    pub fn closed(&mut self, id: u32) {
        self.by_conversation
            .retain(|_, group| group.shown != Some(id));
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn conversation(n: u8) -> ConversationId {
        ConversationId::from_bytes([n + 1; 16])
    }

    #[test]
    fn a_burst_is_one_notification_that_counts() {
        let mut groups = Groups::default();
        let tom = conversation(1);
        let first = groups.message(tom, "Tom", "耗子，起床啦", false, Locale::En);
        assert_eq!(
            (first.replaces, first.body.as_str()),
            (None, "耗子，起床啦")
        );
        groups.shown(tom, 7);
        for n in 2..=5 {
            let next = groups.message(tom, "Tom", &format!("#{n}"), false, Locale::En);
            assert_eq!(next.replaces, Some(7));
            assert_eq!(next.body, format!("{n} new messages · #{n}"));
        }
        assert_eq!(groups.conversation_of(7), Some(tom));
        // Opened: closed, and the next message is a new notification counting from one.
        assert_eq!(groups.read(tom), Some(7));
        let again = groups.message(tom, "Tom", "hi", false, Locale::En);
        assert_eq!((again.replaces, again.body.as_str()), (None, "hi"));
    }

    #[test]
    fn hidden_text_never_reaches_the_notification() {
        let mut groups = Groups::default();
        let tom = conversation(1);
        assert_eq!(
            groups.message(tom, "Tom", "secret", true, Locale::En).body,
            "New message"
        );
        groups.shown(tom, 1);
        assert_eq!(
            groups.message(tom, "Tom", "secret", true, Locale::En).body,
            "2 new messages"
        );
        // In Chinese too.
        assert_eq!(
            groups.message(tom, "Tom", "secret", true, Locale::Zh).body,
            "3 条新消息"
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Message(u8),
        Shown(u8),
        Read(u8),
        Closed(u8),
    }

    proptest! {
        /// Against a model: each conversation's count is the messages since it was last opened
        /// or its notification closed, and a notice replaces exactly the notification its
        /// conversation has on screen.
        #[test]
        fn agrees_with_a_model(ops in prop::collection::vec(
            prop_oneof![
                (0u8..3).prop_map(Op::Message),
                (0u8..3).prop_map(Op::Shown),
                (0u8..3).prop_map(Op::Read),
                (0u8..3).prop_map(Op::Closed),
            ],
            1..60,
        )) {
            let mut groups = Groups::default();
            // conversation → (count, id on screen)
            let mut model: HashMap<u8, (u32, Option<u32>)> = HashMap::new();
            let mut next_id = 1;
            for op in ops {
                match op {
                    Op::Message(c) => {
                        let notice = groups.message(conversation(c), "t", "p", true, Locale::En);
                        let entry = model.entry(c).or_default();
                        entry.0 += 1;
                        prop_assert_eq!(notice.replaces, entry.1);
                        let expected = if entry.0 == 1 { "New message".to_owned() } else { format!("{} new messages", entry.0) };
                        prop_assert_eq!(notice.body, expected);
                    }
                    Op::Shown(c) => {
                        if let Some(entry) = model.get_mut(&c) {
                            // A replacement keeps its id; a new notification gets a new one.
                            let id = entry.1.unwrap_or_else(|| { next_id += 1; next_id });
                            entry.1 = Some(id);
                            groups.shown(conversation(c), id);
                        }
                    }
                    Op::Read(c) => {
                        let expected = model.remove(&c).and_then(|e| e.1);
                        prop_assert_eq!(groups.read(conversation(c)), expected);
                    }
                    Op::Closed(c) => {
                        if let Some(id) = model.get(&c).and_then(|e| e.1) {
                            prop_assert_eq!(groups.conversation_of(id), Some(conversation(c)));
                            groups.closed(id);
                            model.remove(&c);
                        }
                    }
                }
            }
        }
    }
}
