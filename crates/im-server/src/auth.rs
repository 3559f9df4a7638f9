//! Passwords (argon2id), session tokens (256 random bits, stored as SHA-256) and invite codes
//! (80 random bits a person can type, stored as SHA-256). The throttle on failed sign-ins is in
//! `guard.rs`.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use im_proto::Secret;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::hub::TokenHash;

/// Hashes and checks passwords off the async threads, a few at a time (each argon2id hash
/// takes ~19 MiB and tens of milliseconds; unbounded, a sign-in flood would exhaust memory).
#[derive(Debug, Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// A real hash of a random password: checked against when the username is unknown, so a
    /// wrong username costs as long as a wrong password. Made on first need (not at start-up:
    /// a restart should not spend a hash before it listens).
    decoy: Arc<std::sync::OnceLock<String>>,
}

impl Passwords {
    /// A hasher allowing `parallel` hashes at once.
    pub fn new(parallel: usize) -> Result<Self> {
        Ok(Self {
            permits: Arc::new(Semaphore::new(parallel.max(1))),
            decoy: Arc::new(std::sync::OnceLock::new()),
        })
    }

    /// The PHC string of an argon2id hash of `password`.
    /// The permit goes into the blocking work: a caller that gives up (a dropped connection)
    /// does not free it while the hash is still running, so the memory bound holds.
    pub async fn hash(&self, password: Secret) -> Result<String> {
        let permit = self.permit().await?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash_blocking(password.expose())
        })
        .await
        .map_err(|e| Error::PasswordHash(e.to_string()))?
    }

    async fn permit(&self) -> Result<tokio::sync::OwnedSemaphorePermit> {
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::ShuttingDown)
    }

    /// Whether `password` matches `stored` (or, with no stored hash, spends the same time and
    /// says no).
    pub async fn verify(&self, password: Secret, stored: Option<String>) -> Result<bool> {
        let permit = self.permit().await?;
        let decoy = self.decoy.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let known = stored.is_some();
            let phc = match stored {
                Some(phc) => phc,
                None => match decoy.get() {
                    Some(phc) => phc.clone(),
                    None => {
                        let mut random = [0u8; 24];
                        rand::rng().fill_bytes(&mut random);
                        decoy
                            .get_or_init(|| {
                                hash_blocking(&hex(&random)).unwrap_or_else(|_| String::new())
                            })
                            .clone()
                    }
                },
            };
            let parsed = PasswordHash::new(&phc).map_err(|e| Error::PasswordHash(e.to_string()))?;
            let matches = Argon2::default()
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok();
            Ok(known && matches)
        })
        .await
        .map_err(|e| Error::PasswordHash(e.to_string()))?
    }
}

fn hash_blocking(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::PasswordHash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::PasswordHash(e.to_string()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new session token (64 hex characters) and its hash.
pub fn new_token() -> (Secret, TokenHash) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex(&bytes);
    let hash = token_hash(&token);
    (Secret::new(token), hash)
}

/// The hash a token is stored and looked up by. `None` if it cannot be a token of ours.
pub fn parse_token(token: &Secret) -> Option<TokenHash> {
    let t = token.expose();
    (t.len() == 64
        && t.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| token_hash(t))
}

/// The characters of invite codes: no 0/O, 1/I/L look-alikes (Crockford's base 32).
const INVITE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in an invite code (5 bits each).
const INVITE_CHARS: usize = 16;

/// A new code a person can type (`XXXX-XXXX-XXXX-XXXX`, 80 random bits) and the hash an invite
/// code is stored by; also made-up passwords.
pub fn new_code() -> (Secret, TokenHash) {
    let mut rng = rand::rng();
    let chars: String = (0..INVITE_CHARS)
        .map(|_| INVITE_ALPHABET[(rng.next_u32() % 32) as usize] as char)
        .collect();
    let hash = token_hash(&chars);
    let grouped = chars
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect::<Vec<_>>()
        .join("-");
    (Secret::new(grouped), hash)
}

/// The hash of an invite code as a person typed it (any case, with or without dashes and
/// spaces; `O` read as `0`, `I` and `L` as `1`). `None` if it cannot be a code of ours.
pub fn invite_hash(code: &Secret) -> Option<TokenHash> {
    let chars: String = code
        .expose()
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (chars.len() == INVITE_CHARS && chars.bytes().all(|b| INVITE_ALPHABET.contains(&b)))
        .then(|| token_hash(&chars))
}

fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn invite_codes_are_read_as_people_type_them() {
        let (code, hash) = new_code();
        let text = code.expose().to_owned();
        assert_eq!(text.len(), 19, "{text}");
        assert_eq!(invite_hash(&code), Some(hash));
        let typed = text.replace('-', " ").to_lowercase();
        assert_eq!(invite_hash(&Secret::new(typed)), Some(hash));
        let squashed = text.replace('-', "").replace('0', "o").replace('1', "l");
        assert_eq!(invite_hash(&Secret::new(squashed)), Some(hash));
        assert_eq!(invite_hash(&Secret::new(text[..18].to_owned())), None);
        assert_eq!(invite_hash(&Secret::new("ÄÄÄÄ-ÄÄÄÄ-ÄÄÄÄ-ÄÄÄÄ")), None);
        assert_ne!(new_code().1, hash);
    }

    /// A caller that gives up on a hash (its connection dropped) keeps its permit until the
    /// hash ends: at most `parallel` argon2 buffers exist at once, whatever callers do.
    #[tokio::test]
    async fn a_cancelled_hash_keeps_its_permit_until_it_ends() {
        let passwords = Passwords::new(1).unwrap();
        let hashing = passwords.hash(Secret::new("a password of some length"));
        assert!(
            tokio::time::timeout(Duration::from_millis(1), hashing)
                .await
                .is_err(),
            "given up while hashing"
        );
        assert_eq!(
            passwords.permits.available_permits(),
            0,
            "the permit is still held by the running hash"
        );
        let verified = passwords
            .verify(Secret::new("a password of some length"), None)
            .await
            .unwrap();
        assert!(!verified);
        assert_eq!(passwords.permits.available_permits(), 1);
    }

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let passwords = Passwords::new(2).unwrap();
        let hash = passwords.hash(Secret::new("correct horse")).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("correct horse"));
        assert!(passwords
            .verify(Secret::new("correct horse"), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!passwords
            .verify(Secret::new("wrong horse"), Some(hash))
            .await
            .unwrap());
        assert!(!passwords
            .verify(Secret::new("anything"), None)
            .await
            .unwrap());
    }

    #[test]
    fn tokens_are_random_and_parse_to_their_hash() {
        let (a, ha) = new_token();
        let (b, hb) = new_token();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 64);
        assert_eq!(parse_token(&a), Some(ha));
        assert_ne!(ha, hb);
        assert_eq!(parse_token(&Secret::new("short")), None);
        assert_eq!(parse_token(&Secret::new("Z".repeat(64))), None);
    }
}
