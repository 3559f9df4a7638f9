//! Certificate authorities the app trusts beside the operating system's, for a self-hosted
//! server whose certificate comes from the organisation's own authority: `--trust-ca FILE`
//! copies a PEM file into the profile's data folder (`trusted-cas/`, private), and every file
//! there is trusted from then on, at each start. Nothing here can make a certificate trusted
//! that the operating system or one of these authorities did not issue.

use std::path::{Path, PathBuf};

/// The folder, under the profile's data folder, holding the extra authorities.
pub const FOLDER: &str = "trusted-cas";

/// The `--trust-ca FILE` (or `--trust-ca=FILE`) arguments.
pub fn from_args(args: impl IntoIterator<Item = String>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--trust-ca" {
            files.extend(args.next().map(PathBuf::from));
        } else if let Some(file) = arg.strip_prefix("--trust-ca=") {
            files.push(PathBuf::from(file));
        }
    }
    files
}

/// Copies `new` files into `data_dir/trusted-cas/` (each must hold a PEM certificate), then
/// trusts every file there. Returns how many certificates are trusted; problems are logged and
/// skip only the file they are about.
pub fn install_and_trust(data_dir: &Path, new: &[PathBuf]) -> usize {
    let folder = data_dir.join(FOLDER);
    for file in new {
        if let Err(e) = install(&folder, file) {
            tracing::warn!(file = %file.display(), error = %e, "--trust-ca: not added");
        }
    }
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return 0;
    };
    let mut trusted = 0;
    for path in entries.flatten().map(|e| e.path()) {
        match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|pem| im_sdk::trust_extra_ca_pem(&pem).map_err(|e| e.to_string()))
        {
            Ok(n) => {
                tracing::info!(file = %path.display(), certificates = n, "trusting an extra certificate authority");
                trusted += n;
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "not a certificate authority")
            }
        }
    }
    trusted
}

fn install(folder: &Path, file: &Path) -> Result<(), String> {
    let pem = std::fs::read(file).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&pem);
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err("no PEM certificate in it".into());
    }
    let name = file
        .file_name()
        .ok_or("not a file name")?
        .to_string_lossy()
        .into_owned();
    crate::state::private_data_dir(folder).map_err(|e| e.to_string())?;
    std::fs::write(folder.join(name), &pem).map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_ca_arguments_are_read_in_both_forms() {
        let args = [
            "--profile",
            "x",
            "--trust-ca",
            "/a.pem",
            "--trust-ca=/b.pem",
            "--other",
        ];
        assert_eq!(
            from_args(args.map(String::from)),
            [PathBuf::from("/a.pem"), PathBuf::from("/b.pem")]
        );
        assert!(from_args(["--trust-ca".to_owned()]).is_empty());
    }

    #[test]
    fn an_authority_given_once_is_trusted_at_every_start_and_junk_is_skipped() {
        let data = tempfile::tempdir().unwrap();
        let given = tempfile::tempdir().unwrap();
        let ca = im_test_pki::TestCa::new("Org CA");
        let file = given.path().join("org-ca.pem");
        std::fs::write(&file, &ca.cert_pem).unwrap();
        let junk = given.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();

        assert_eq!(install_and_trust(data.path(), &[file, junk]), 1);
        assert!(data.path().join(FOLDER).join("org-ca.pem").is_file());
        assert!(!data.path().join(FOLDER).join("junk.pem").exists());
        // A later start, without the argument, still trusts it.
        assert_eq!(install_and_trust(data.path(), &[]), 1);
    }
}
