//! Gtedx IM desktop app (placeholder until the Tauri app lands; see the open issues).

fn main() {
    eprintln!("The Gtedx IM desktop app is not built yet; run `im-server` for the server.");
    std::process::exit(2);
}
