//! The single-instance lock on the real session bus (run inside `.ci/desktop-env`): a launch that
//! meets an instance of its profile which is exiting starts on its own instead of crashing.

#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn launch(profile: &str) -> Running {
    for var in ["DISPLAY", "DBUS_SESSION_BUS_ADDRESS"] {
        assert!(
            std::env::var_os(var).is_some(),
            "{var} is not set: run this test through .ci/desktop-env"
        );
    }
    Running(
        Command::new(env!("CARGO_BIN_EXE_gtedx-im"))
            .args(["--profile", profile])
            .stdout(Stdio::null())
            .spawn()
            .expect("launching the app"),
    )
}

/// The process id of the bus name's owner, if it has one.
fn owner_pid(name: &str) -> Option<u32> {
    let out = Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
            &format!("string:{name}"),
        ])
        .stderr(Stdio::null())
        .output()
        .expect("running dbus-send");
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill {signal} {}", child.id());
}

/// Reproduces the end-to-end tests' intermittent "the app did not start": a profile relaunched
/// while its previous instance was quitting. The new launch finds the lock (a D-Bus name) taken,
/// hands its arguments over, and the owner leaves the bus without replying. That used to end
/// the new launch with a panic; now it starts again and becomes the running instance.
#[test]
fn a_launch_during_the_previous_instances_exit_starts_on_its_own() {
    let profile = format!("lock-{}", std::process::id());
    let lock = format!("im.gtedx.desktop.profile-{profile}.SingleInstance");

    let mut first = launch(&profile);
    let first_pid = first.0.id();
    wait_until("the first instance holds the lock", || {
        owner_pid(&lock) == Some(first_pid)
    });

    // Freeze the first instance, so the second one's hand-over waits on it...
    signal(&first.0, "-STOP");
    let mut monitor = Command::new("dbus-monitor")
        .args(["--session", "type='method_call',member='ExecuteCallback'"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting dbus-monitor");
    let mut calls = BufReader::new(monitor.stdout.take().expect("piped")).lines();
    // (dbus-monitor prints its own connection's NameAcquired signal first: it is listening.)
    let second = launch(&profile);
    let second_pid = second.0.id();
    let handed_over = calls
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("member=ExecuteCallback"));
    assert!(handed_over, "the second launch never tried to hand over");
    let _ = monitor.kill();
    let _ = monitor.wait();

    // ...and let it die with the call unanswered, as an instance that is quitting does.
    signal(&first.0, "-KILL");
    let _ = first.0.wait();

    let mut second = second;
    wait_until("the second launch holds the lock", || {
        if let Some(status) = second.0.try_wait().expect("polling the second launch") {
            panic!("the second launch exited ({status}) instead of starting");
        }
        owner_pid(&lock) == Some(second_pid)
    });

    // The lock works as before: a third launch hands over to the second and exits at once.
    let mut third = launch(&profile);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = third.0.try_wait().expect("polling the third launch") {
            break status;
        }
        assert!(
            started.elapsed() < WAIT,
            "the third launch did not hand over"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "the third launch exited with {status}");
    assert_eq!(owner_pid(&lock), Some(second_pid));
}
