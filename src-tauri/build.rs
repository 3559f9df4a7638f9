//! Build script of the desktop app: tauri-build reads `tauri.conf.json` (at the repository root,
//! next to the package's Cargo.toml) and the capabilities in `src-tauri/capabilities/`.

fn main() {
    let attributes =
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*");
    tauri_build::try_build(attributes).expect("tauri-build failed");
}
