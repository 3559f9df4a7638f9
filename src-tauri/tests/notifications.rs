//! Notifications on the real session bus (run inside `.ci/desktop-env`, which auto-starts a
//! notification server): one the bus refuses does not silence the ones after it.

#![cfg(target_os = "linux")]

/// A message with U+0000 once made the bus drop the notifier's connection, and nothing was
/// shown until the app restarted. The app strips control characters before notifying
/// (`notifications::without_controls`); this checks the other half: whatever becomes of a bad
/// notification, the next one is delivered, because each one goes out on a connection of its
/// own.
#[test]
fn a_notification_the_bus_refuses_does_not_silence_the_next() {
    let bad = notify_rust::Notification::new()
        .summary("Gtedx IM test")
        .body("nul \u{0} inside")
        .show();
    eprintln!("the bad notification: {:?}", bad.map(|h| h.id()));
    for i in 0..3 {
        let good = notify_rust::Notification::new()
            .summary("Gtedx IM test")
            .body(&format!("after the bad one, {i}"))
            .show();
        assert!(good.is_ok(), "notification {i} after the bad one: {good:?}");
    }
}
