//! The one error type the UI sees: `{code, message}` with a stable code.

use serde::Serialize;

/// An error as the web UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    /// Stable: the SDK's or server's code, or `keyring_unavailable`, `not_signed_in`,
    /// `invalid_input`, `internal`.
    pub code: String,
    /// For people.
    pub message: String,
}

impl AppError {
    /// An error with a code and a message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// No account is signed in.
    pub fn not_signed_in() -> Self {
        Self::new("not_signed_in", "sign in first")
    }

    /// The OS keyring could not be used. Never followed by a fallback to a plain file.
    pub fn keyring(detail: impl std::fmt::Display) -> Self {
        Self::new(
            "keyring_unavailable",
            format!(
                "The system keyring is missing or locked, so your sign-in cannot be stored \
                 securely ({detail}). Unlock or install a keyring (Secret Service, e.g. \
                 gnome-keyring or KWallet) and try again."
            ),
        )
    }
}

impl From<im_sdk::Error> for AppError {
    fn from(e: im_sdk::Error) -> Self {
        let message = match &e {
            im_sdk::Error::Server(body) => body.message.clone(),
            other => other.to_string(),
        };
        Self::new(e.code(), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_code_and_message() {
        let e = AppError::not_signed_in();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "not_signed_in", "message": "sign in first"})
        );
    }

    #[test]
    fn sdk_errors_keep_their_codes() {
        let e: AppError = im_sdk::Error::Offline.into();
        assert_eq!(e.code, "offline");
        let refused: AppError = im_sdk::Error::Server(im_sdk::ErrorBody::new(
            im_sdk::ErrorCode::WrongCredentials,
            "wrong username or password",
        ))
        .into();
        assert_eq!(
            (refused.code.as_str(), refused.message.as_str()),
            ("wrong_credentials", "wrong username or password")
        );
    }
}
