//! The saved sign-in (server URL, account, session token) in the OS keyring: Secret Service on
//! Linux, Keychain on macOS, Credential Manager on Windows. Never in a plain file: if the keyring
//! is missing or locked, that is an error the user sees.

use im_sdk::{Secret, Session, User};
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The keyring entry's "user" (the service names the profile).
const ENTRY: &str = "session";

/// What is stored, as JSON, in the entry's secret.
#[derive(Serialize, Deserialize)]
struct Stored {
    server_url: String,
    user: User,
    token: String,
}

/// The profile's credential store.
#[derive(Debug, Clone)]
pub struct Credentials {
    service: String,
}

impl Credentials {
    /// The store for a keyring service name (one per profile).
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, AppError> {
        keyring::Entry::new(&self.service, ENTRY).map_err(AppError::keyring)
    }

    /// The saved session, if any.
    pub fn load(&self) -> Result<Option<Session>, AppError> {
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
                self.clear()?;
                Ok(None)
            }
        }
    }

    /// Saves the session, replacing any earlier one.
    pub fn save(&self, session: &Session) -> Result<(), AppError> {
        let stored = Stored {
            server_url: session.server_url.clone(),
            user: session.user.clone(),
            token: session.token.expose().to_owned(),
        };
        let secret =
            serde_json::to_string(&stored).map_err(|e| AppError::new("internal", e.to_string()))?;
        self.entry()?
            .set_password(&secret)
            .map_err(AppError::keyring)
    }

    /// Forgets the saved session.
    pub fn clear(&self) -> Result<(), AppError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(AppError::keyring(e)),
        }
    }
}
