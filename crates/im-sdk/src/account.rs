//! Accounts: sign up, sign in, and the [`Session`] an [`ImClient`](crate::ImClient) runs on.

use std::time::Duration;

use im_proto::{Secret, SignIn, SignUp, User};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::transport::Connection;

const TIMEOUT: Duration = Duration::from_secs(15);

/// A signed-in user on a server: what a client needs to connect, and what an app keeps (the
/// token in a secret store) to sign in again without the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// `ws://host:port/ws`.
    pub server_url: String,
    /// Who is signed in.
    pub user: User,
    /// The session token. Its `Debug` prints `[redacted]`.
    pub token: Secret,
}

/// Creates an account and signs in.
pub async fn sign_up(
    server_url: &str,
    username: &str,
    password: &Secret,
    display_name: Option<&str>,
) -> Result<Session> {
    sign_up_with_invite(server_url, username, password, display_name, None).await
}

/// Creates an account with an invite code from the server's operator (a server started with
/// `--sign-up invite` refuses a sign-up without one: `invite_required`), and signs in.
pub async fn sign_up_with_invite(
    server_url: &str,
    username: &str,
    password: &Secret,
    display_name: Option<&str>,
    invite: Option<&Secret>,
) -> Result<Session> {
    let mut conn = Connection::open(server_url, TIMEOUT).await?;
    conn.request(
        1,
        SignUp {
            username: username.to_owned(),
            password: password.clone(),
            display_name: display_name.map(str::to_owned),
            invite: invite.cloned(),
        },
        |_| {},
    )
    .await?;
    let session = signed_in(&mut conn, server_url, username, password, None).await;
    conn.close().await;
    session
}

/// Who may create an account on the server at `server_url` (its `hello` says): anyone, anyone
/// with an invite code, or no one. For a sign-up form to ask for what the server needs.
pub async fn sign_up_mode(server_url: &str) -> Result<im_proto::SignUpMode> {
    let conn = Connection::open(server_url, TIMEOUT).await?;
    let mode = conn.sign_up;
    conn.close().await;
    Ok(mode)
}

/// Signs in with a username and password. `device` labels the session (e.g. "Gtedx IM on Linux").
pub async fn sign_in(
    server_url: &str,
    username: &str,
    password: &Secret,
    device: Option<&str>,
) -> Result<Session> {
    let mut conn = Connection::open(server_url, TIMEOUT).await?;
    let session = signed_in(&mut conn, server_url, username, password, device).await;
    conn.close().await;
    session
}

async fn signed_in(
    conn: &mut Connection,
    server_url: &str,
    username: &str,
    password: &Secret,
    device: Option<&str>,
) -> Result<Session> {
    let signed = conn
        .request(
            2,
            SignIn {
                username: username.to_owned(),
                password: password.clone(),
                device: device.map(str::to_owned),
            },
            |_| {},
        )
        .await?;
    Ok(Session {
        server_url: server_url.to_owned(),
        user: signed.user,
        token: signed.token,
    })
}

/// Revokes a session on the server without a client (e.g. one an app could not store).
pub async fn sign_out(session: &Session) -> Result<()> {
    let mut conn = Connection::open(&session.server_url, TIMEOUT).await?;
    conn.request(
        1,
        im_proto::Resume {
            token: session.token.clone(),
        },
        |_| {},
    )
    .await?;
    conn.request(2, im_proto::SignOut {}, |_| {}).await?;
    conn.close().await;
    Ok(())
}
