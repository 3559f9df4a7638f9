//! The saved sign-in (server URL, account, session token) in the OS keyring: Secret Service on
//! Linux, Keychain on macOS, Credential Manager on Windows. Never in a plain file: if the keyring
//! is missing or locked, that is an error the user sees.

use im_sdk::{Secret, Session, User};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The keyring entry's "user" (the service names the profile).
const ENTRY: &str = "session";
/// The entry holding sessions signed out while offline, still to be revoked on their server.
const PENDING_SIGN_OUTS: &str = "pending-sign-outs";

/// What is stored, as JSON, in the entry's secret.
#[derive(Serialize, Deserialize)]
struct Stored {
    server_url: String,
    user: User,
    token: String,
}

impl Stored {
    fn of(session: &Session) -> Self {
        Self {
            server_url: session.server_url.clone(),
            user: session.user.clone(),
            token: session.token.expose().to_owned(),
        }
    }

    fn session(self) -> Session {
        Session {
            server_url: self.server_url,
            user: self.user,
            token: Secret::new(self.token),
        }
    }
}

/// The profile's credential store. Its operations run one at a time (clones share the turn):
/// the pending sign-outs are a read-modify-write of one entry, and the start-up retry of them
/// would otherwise race a sign-out writing the same entry.
#[derive(Debug, Clone)]
pub struct Credentials {
    service: String,
    turn: std::sync::Arc<std::sync::Mutex<()>>,
}

impl Credentials {
    /// The store for a keyring service name (one per profile).
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            turn: Default::default(),
        }
    }

    fn turn(&self) -> std::sync::MutexGuard<'_, ()> {
        // A panic while holding it left no half-done keyring state that a later call could
        // trip on: take the turn anyway.
        self.turn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn entry(&self) -> Result<keyring::Entry, AppError> {
        self.entry_named(ENTRY)
    }

    fn entry_named(&self, name: &str) -> Result<keyring::Entry, AppError> {
        keyring::Entry::new(&self.service, name).map_err(AppError::keyring)
    }

    /// The saved session, if any.
    pub fn load(&self) -> Result<Option<Session>, AppError> {
        let _turn = self.turn();
        let secret = match self.entry()?.get_password() {
            Ok(secret) => secret,
            Err(keyring::Error::NoEntry) => return Ok(None),
            Err(e) => return Err(AppError::keyring(e)),
        };
        match serde_json::from_str::<Stored>(&secret) {
            Ok(stored) => Ok(Some(Session {
                server_url: stored.server_url,
                user: stored.user,
                token: Secret::new(stored.token),
            })),
            Err(e) => {
                // Unreadable (another version's format?): forget it; the user signs in again.
                tracing::warn!(error = %e, "ignoring an unreadable saved session");
                self.delete_session()?;
                Ok(None)
            }
        }
    }

    /// Saves the session, replacing any earlier one.
    pub fn save(&self, session: &Session) -> Result<(), AppError> {
        let _turn = self.turn();
        let stored = Stored::of(session);
        let secret =
            serde_json::to_string(&stored).map_err(|e| AppError::new("internal", e.to_string()))?;
        self.entry()?
            .set_password(&secret)
            .map_err(AppError::keyring)
    }

    /// Forgets the saved session.
    pub fn clear(&self) -> Result<(), AppError> {
        let _turn = self.turn();
        self.delete_session()
    }

    fn delete_session(&self) -> Result<(), AppError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(AppError::keyring(e)),
        }
    }

    /// Sessions signed out while offline, to revoke once their server can be reached (in the
    /// keyring too: their tokens are still valid until then).
    pub fn pending_sign_outs(&self) -> Result<Vec<Session>, AppError> {
        let _turn = self.turn();
        self.read_pending()
    }

    fn read_pending(&self) -> Result<Vec<Session>, AppError> {
        let secret = match self.entry_named(PENDING_SIGN_OUTS)?.get_password() {
            Ok(secret) => secret,
            Err(keyring::Error::NoEntry) => return Ok(Vec::new()),
            Err(e) => return Err(AppError::keyring(e)),
        };
        let stored: Vec<Stored> = serde_json::from_str(&secret).unwrap_or_default();
        Ok(stored.into_iter().map(Stored::session).collect())
    }

    fn set_pending_sign_outs(&self, sessions: &[Session]) -> Result<(), AppError> {
        let entry = self.entry_named(PENDING_SIGN_OUTS)?;
        if sessions.is_empty() {
            return match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(AppError::keyring(e)),
            };
        }
        let stored: Vec<Stored> = sessions.iter().map(Stored::of).collect();
        let secret =
            serde_json::to_string(&stored).map_err(|e| AppError::new("internal", e.to_string()))?;
        entry.set_password(&secret).map_err(AppError::keyring)
    }

    /// Remembers a session to revoke later.
    pub fn queue_sign_out(&self, session: &Session) -> Result<(), AppError> {
        let _turn = self.turn();
        let mut pending = self.read_pending()?;
        if !pending
            .iter()
            .any(|s| s.token.expose() == session.token.expose())
        {
            pending.push(session.clone());
        }
        self.set_pending_sign_outs(&pending)
    }

    /// The session was revoked (or was already): nothing left to do for it.
    pub fn sign_out_done(&self, session: &Session) -> Result<(), AppError> {
        let _turn = self.turn();
        let mut pending = self.read_pending()?;
        pending.retain(|s| s.token.expose() != session.token.expose());
        self.set_pending_sign_outs(&pending)
    }
}
