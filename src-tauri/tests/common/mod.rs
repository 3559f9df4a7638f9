//! What the app's IPC tests share: the app on Tauri's mock runtime under a profile (no window on
//! screen), called the way the web UI calls it.
// Each test binary uses a different part of this.
#![allow(dead_code)]

use std::time::Instant;

use gtedx_im::Profile;
use serde_json::Value;
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow};

/// Calls a command through the window's IPC, as the web UI does (from any thread).
pub fn invoke_on(
    window: &WebviewWindow<MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

pub struct TestApp {
    pub app: tauri::App<MockRuntime>,
    pub window: WebviewWindow<MockRuntime>,
}

impl TestApp {
    pub fn start(profile: &str) -> Self {
        let mut context = gtedx_im::context::<MockRuntime>();
        let profile = Profile::named(profile).unwrap();
        context.config_mut().identifier = profile.identifier(&context.config().identifier);
        let mut app = gtedx_im::app(mock_builder(), profile, Instant::now())
            .build(context)
            .expect("app builds");
        // The setup hook (state, main window) runs on the event loop's first turn.
        #[allow(deprecated)]
        app.run_iteration(|_, _| {});
        let window = app
            .get_webview_window(gtedx_im::MAIN_WINDOW)
            .expect("main window");
        Self { app, window }
    }

    pub fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke_on(&self.window, cmd, args)
    }

    pub fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    pub fn err(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Err(e) => e,
            Ok(v) => panic!("{cmd} should fail, returned {v}"),
        }
    }

    /// Collects the UI's events: subscribes a channel as the UI's `subscribe_events` does.
    pub fn events(&self) -> std::sync::mpsc::Receiver<Value> {
        let (tx, rx) = std::sync::mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let channel = tauri::ipc::Channel::new(move |body| {
            if let tauri::ipc::InvokeResponseBody::Json(json) = body {
                let _ = tx
                    .lock()
                    .unwrap()
                    .send(serde_json::from_str::<Value>(&json).unwrap());
            }
            Ok(())
        });
        self.app
            .state::<gtedx_im::AppState>()
            .ui_events
            .subscribe(channel);
        rx
    }

    pub fn close(self) {
        let state = self.app.state::<gtedx_im::AppState>();
        tauri::async_runtime::block_on(state.stop(false));
    }
}
