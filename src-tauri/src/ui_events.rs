//! The one ordered stream of events to the web UI: a Tauri IPC channel the UI hands over with
//! `subscribe_events` (Tauri's advice for high-rate streams, instead of global `emit`). Until
//! the UI has subscribed — while the page loads — events wait in a bounded buffer; if it
//! overflows, the UI is told to reload what it shows (`resync`) instead.

use std::collections::VecDeque;
use std::sync::Mutex;

use tauri::ipc::Channel;

use crate::dto::ImEvent;

/// Events kept, at most, while no UI has subscribed.
const EARLY_EVENTS: usize = 1_000;

/// Where UI events go (see the module docs).
#[derive(Default)]
pub struct UiEvents {
    sink: Mutex<Sink>,
}

impl std::fmt::Debug for UiEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sink = self.sink.lock().expect("ui events lock");
        f.debug_struct("UiEvents")
            .field("subscribed", &sink.channel.is_some())
            .field("waiting", &sink.early.len())
            .field("overflowed", &sink.overflowed)
            .finish()
    }
}

#[derive(Default)]
struct Sink {
    channel: Option<Channel<ImEvent>>,
    early: VecDeque<ImEvent>,
    overflowed: bool,
}

impl UiEvents {
    /// Sends `event` to the UI, or keeps it until the UI subscribes.
    pub fn send(&self, event: ImEvent) {
        let mut sink = self.sink.lock().expect("ui events lock");
        match &sink.channel {
            Some(channel) => {
                if let Err(e) = channel.send(event) {
                    tracing::warn!(error = %e, "cannot reach the UI");
                }
            }
            None if sink.early.len() < EARLY_EVENTS => sink.early.push_back(event),
            None => sink.overflowed = true,
        }
    }

    /// Makes `channel` the UI's stream (a reloaded page subscribes again and replaces the old
    /// one), first handing it what waited.
    pub fn subscribe(&self, channel: Channel<ImEvent>) {
        let mut sink = self.sink.lock().expect("ui events lock");
        let early = std::mem::take(&mut sink.early);
        for event in early {
            if let Err(e) = channel.send(event) {
                tracing::warn!(error = %e, "cannot reach the UI");
            }
        }
        if std::mem::take(&mut sink.overflowed) {
            let _ = channel.send(ImEvent::Resync);
        }
        sink.channel = Some(channel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tauri::ipc::InvokeResponseBody;

    fn collecting() -> (Channel<ImEvent>, Arc<Mutex<Vec<String>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let channel = Channel::new(move |body| {
            if let InvokeResponseBody::Json(json) = body {
                sink.lock().unwrap().push(json);
            }
            Ok(())
        });
        (channel, got)
    }

    fn removed(id: usize) -> ImEvent {
        ImEvent::ConversationRemoved {
            conversation_id: id.to_string(),
        }
    }

    #[test]
    fn events_before_the_subscription_wait_and_come_first_in_order() {
        let events = UiEvents::default();
        events.send(removed(1));
        events.send(removed(2));
        let (channel, got) = collecting();
        events.subscribe(channel);
        events.send(removed(3));
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 3);
        for (i, json) in got.iter().enumerate() {
            assert!(
                json.contains(&format!("\"conversationId\":\"{}\"", i + 1)),
                "{json}"
            );
        }
    }

    #[test]
    fn too_many_early_events_become_one_resync() {
        let events = UiEvents::default();
        for i in 0..EARLY_EVENTS + 5 {
            events.send(removed(i));
        }
        let (channel, got) = collecting();
        events.subscribe(channel);
        let got = got.lock().unwrap();
        assert_eq!(got.len(), EARLY_EVENTS + 1);
        assert_eq!(got.last().unwrap(), r#"{"kind":"resync"}"#);
    }

    #[test]
    fn a_new_subscription_replaces_the_old_one() {
        let events = UiEvents::default();
        let (first, first_got) = collecting();
        events.subscribe(first);
        let (second, second_got) = collecting();
        events.subscribe(second);
        events.send(removed(1));
        assert!(first_got.lock().unwrap().is_empty());
        assert_eq!(second_got.lock().unwrap().len(), 1);
    }
}
