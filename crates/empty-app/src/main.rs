//! An empty Tauri 2 app: one window, one static page that reports its first paint. Gtedx IM's
//! desktop benchmark starts it beside the real app to measure what the app itself adds.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

static STARTED: OnceLock<Instant> = OnceLock::new();

/// The page painted: append the milliseconds since start to `$GTEDX_READY_FILE`.
#[tauri::command]
fn ui_ready() {
    let ms = STARTED
        .get()
        .map_or(0.0, |s| s.elapsed().as_secs_f64() * 1e3);
    if let Ok(path) = std::env::var("GTEDX_READY_FILE") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{ms:.1}");
        }
    }
}

fn main() {
    STARTED.get_or_init(Instant::now);
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ui_ready])
        .run(tauri::generate_context!())
        .expect("the empty app could not start");
}
