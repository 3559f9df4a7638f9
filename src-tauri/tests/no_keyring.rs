//! Without a usable keyring, signing in is a clear `keyring_unavailable` error: the app never
//! falls back to storing the session in a plain file. (Own test binary: it points the D-Bus
//! session address nowhere for its whole process.)

mod common;

use common::TestApp;
use serde_json::json;
use tauri::Manager;

#[test]
fn a_missing_keyring_is_a_clear_error_and_nothing_is_written() {
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/gtedx-no-bus",
    );
    let dir = tempfile::tempdir().unwrap();
    let config = im_server::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().join("im.sqlite3"),
    );
    let server = tauri::async_runtime::block_on(im_server::start(config)).unwrap();

    let test_app = TestApp::start("no-keyring");
    let data_dir_name = test_app.app.config().identifier.clone();
    let invoke = |cmd: &str, args| test_app.invoke(cmd, args);

    let restore = invoke("restore_session", json!({})).unwrap_err();
    assert_eq!(restore["code"], "keyring_unavailable", "{restore}");
    let signed = invoke(
        "sign_up",
        json!({"serverUrl": server.url(), "username": "tom", "password": "tom-password", "displayName": null}),
    )
    .unwrap_err();
    assert_eq!(signed["code"], "keyring_unavailable", "{signed}");
    assert!(signed["message"].as_str().unwrap().contains("keyring"));
    // Not signed in, and no file anywhere holds the token.
    assert_eq!(
        invoke("list_conversations", json!({})).unwrap_err()["code"],
        "not_signed_in"
    );
    let data_dir = test_app.app.path().app_data_dir().unwrap();
    assert!(data_dir.ends_with(&data_dir_name));
    if data_dir.exists() {
        for entry in walk(&data_dir) {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("token"),
                "{} mentions a token",
                entry.display()
            );
        }
    }
    tauri::async_runtime::block_on(server.shutdown());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
