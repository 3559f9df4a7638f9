//! tauri-build for the empty baseline app.

fn main() {
    tauri_build::build();
}
