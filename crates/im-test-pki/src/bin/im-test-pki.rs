//! `im-test-pki DIR [NAME…]`: writes a throwaway certificate authority (`DIR/ca.pem`) and a
//! server certificate it issued for the names (default `localhost 127.0.0.1`) as
//! `DIR/server.crt` and `DIR/server.key`, for benchmarks and manual tries of `wss://`. Not for
//! production: use a real certificate there.

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: im-test-pki DIR [NAME…]");
        std::process::exit(2);
    };
    let mut names: Vec<String> = args.collect();
    if names.is_empty() {
        names = vec!["localhost".into(), "127.0.0.1".into()];
    }
    let dir = std::path::PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("im-test-pki: {}: {e}", dir.display());
        std::process::exit(1);
    }
    let ca = im_test_pki::TestCa::new("Gtedx IM test CA");
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (cert, key) = ca
        .issue(&names, im_test_pki::Validity::Current)
        .write(&dir, "server");
    let ca_file = dir.join("ca.pem");
    if let Err(e) = std::fs::write(&ca_file, &ca.cert_pem) {
        eprintln!("im-test-pki: {}: {e}", ca_file.display());
        std::process::exit(1);
    }
    println!(
        "{}\n{}\n{}",
        ca_file.display(),
        cert.display(),
        key.display()
    );
}
