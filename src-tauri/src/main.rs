//! Gtedx IM desktop app: `gtedx-im [--profile NAME]`.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    gtedx_im::run();
}
