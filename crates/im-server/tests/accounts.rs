//! Accounts for an organisation, against a real server: sign-up modes and invite codes, the
//! operator's admin operations (through the admin listener while the server runs, on the
//! database while it does not), disabling an account, and a user's own password and sessions.

mod common;

use std::time::Duration;

use common::{assert_code, Client, TestServer, WAIT};
use im_proto::{
    ChangePassword, ErrorCode, Event, Hello, ListSessions, RevokeSession, Secret, SignIn, SignUp,
    SignUpMode, PROTOCOL_VERSION,
};
use im_server::{administer, AdminRequest, AdminResponse, Reached};

async fn server(sign_up: SignUpMode) -> TestServer {
    TestServer::start_with(|c| {
        c.sign_up = sign_up;
        c.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await
}

/// Carries out an admin operation the way `im-server admin` does.
async fn admin(server: &TestServer, request: AdminRequest) -> im_server::Result<AdminResponse> {
    let database = server.database();
    let listener = server.server.as_ref().and_then(|s| s.admin_addr());
    tokio::task::spawn_blocking(move || {
        let (reached, response) = administer(database, listener, request)?;
        assert_eq!(reached == Reached::Database, listener.is_none());
        Ok(response)
    })
    .await
    .unwrap()
}

fn sign_up(name: &str, invite: Option<&str>) -> SignUp {
    SignUp {
        username: name.into(),
        password: format!("{name}-password").into(),
        display_name: None,
        invite: invite.map(Secret::from),
    }
}

fn sign_in(name: &str, password: &str) -> SignIn {
    SignIn {
        username: name.into(),
        password: password.into(),
        device: Some(format!("{name}'s laptop")),
    }
}

async fn signed_out(client: &mut Client) -> String {
    tokio::time::timeout(
        WAIT,
        client.event_where(|e| match e {
            Event::SignedOut(s) => Some(s.reason),
            _ => None,
        }),
    )
    .await
    .expect("signed out")
}

#[tokio::test]
async fn invite_only_sign_up_spends_codes() {
    let server = server(SignUpMode::Invite).await;
    let mut client = Client::raw(&server.url).await;
    let hello = client
        .call(Hello {
            protocol: PROTOCOL_VERSION,
            client: None,
        })
        .await
        .unwrap();
    assert_eq!(hello.sign_up, SignUpMode::Invite);
    assert_code(
        client.call(sign_up("tom", None)).await,
        ErrorCode::InviteRequired,
    );
    assert_code(
        client.call(sign_up("tom", Some("not a code"))).await,
        ErrorCode::InviteInvalid,
    );
    let AdminResponse::Invite { invite, code } = admin(
        &server,
        AdminRequest::InviteCreate {
            uses: 2,
            expires_in_secs: Some(3600),
        },
    )
    .await
    .unwrap() else {
        panic!("not an invite")
    };
    assert_eq!(invite.uses_left, 2);
    // Typed as people type it: lower case, spaces for dashes.
    let typed = code.expose().to_lowercase().replace('-', " ");
    client.call(sign_up("tom", Some(&typed))).await.unwrap();
    // A taken username does not spend a use.
    assert_code(
        client.call(sign_up("tom", Some(code.expose()))).await,
        ErrorCode::UsernameTaken,
    );
    let AdminResponse::Invites { invites } =
        admin(&server, AdminRequest::InviteList).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(invites.len(), 1);
    assert_eq!(invites[0].uses_left, 1);
    client
        .call(sign_up("jerry", Some(code.expose())))
        .await
        .unwrap();
    assert_code(
        client.call(sign_up("spike", Some(code.expose()))).await,
        ErrorCode::InviteInvalid,
    );
    let AdminResponse::Invites { invites } =
        admin(&server, AdminRequest::InviteList).await.unwrap()
    else {
        panic!()
    };
    assert!(invites.is_empty(), "a used-up code is not listed");

    // A revoked code and an expired one work no more.
    let AdminResponse::Invite { invite, code } = admin(
        &server,
        AdminRequest::InviteCreate {
            uses: 5,
            expires_in_secs: None,
        },
    )
    .await
    .unwrap() else {
        panic!()
    };
    admin(
        &server,
        AdminRequest::InviteRevoke {
            id: invite.id.clone(),
        },
    )
    .await
    .unwrap();
    assert_code(
        client.call(sign_up("spike", Some(code.expose()))).await,
        ErrorCode::InviteInvalid,
    );
    let AdminResponse::Invite { code, .. } = admin(
        &server,
        AdminRequest::InviteCreate {
            uses: 5,
            expires_in_secs: Some(1),
        },
    )
    .await
    .unwrap() else {
        panic!()
    };
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_code(
        client.call(sign_up("spike", Some(code.expose()))).await,
        ErrorCode::InviteInvalid,
    );
    let gone = admin(&server, AdminRequest::InviteRevoke { id: invite.id })
        .await
        .unwrap_err();
    assert!(gone.to_string().contains("no invite"), "{gone}");
}

#[tokio::test]
async fn a_closed_server_takes_accounts_from_its_operator_only() {
    let server = server(SignUpMode::Closed).await;
    let mut client = Client::connect(&server.url).await;
    assert_code(
        client.call(sign_up("tom", None)).await,
        ErrorCode::SignUpClosed,
    );
    // The operator creates Tom with a password of their choice, and Jerry with a made-up one.
    let AdminResponse::User { user, password } = admin(
        &server,
        AdminRequest::UserCreate {
            username: "Tom".into(),
            display_name: Some("Tom Cat".into()),
            password: Some("tom-password".into()),
        },
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert_eq!((user.username.as_str(), password), ("tom", None));
    let AdminResponse::User { password, .. } = admin(
        &server,
        AdminRequest::UserCreate {
            username: "jerry".into(),
            display_name: None,
            password: None,
        },
    )
    .await
    .unwrap() else {
        panic!()
    };
    let jerrys = password.expect("a made-up password");
    client.call(sign_in("tom", "tom-password")).await.unwrap();
    let mut jerry = Client::connect(&server.url).await;
    jerry.call(sign_in("jerry", jerrys.expose())).await.unwrap();
    // Bad input is refused with its code.
    for (request, code) in [
        (
            AdminRequest::UserCreate {
                username: "tom".into(),
                display_name: None,
                password: None,
            },
            ErrorCode::UsernameTaken,
        ),
        (
            AdminRequest::UserCreate {
                username: "x".into(),
                display_name: None,
                password: None,
            },
            ErrorCode::InvalidUsername,
        ),
        (
            AdminRequest::UserCreate {
                username: "spike".into(),
                display_name: None,
                password: Some("short".into()),
            },
            ErrorCode::InvalidPassword,
        ),
        (
            AdminRequest::UserDisable {
                username: "nobody".into(),
            },
            ErrorCode::UserNotFound,
        ),
        (
            AdminRequest::SessionRevoke {
                session_id: "0011223344556677".into(),
            },
            ErrorCode::SessionNotFound,
        ),
        (
            AdminRequest::InviteCreate {
                uses: 0,
                expires_in_secs: None,
            },
            ErrorCode::InvalidParams,
        ),
    ] {
        match admin(&server, request).await {
            Err(im_server::Error::Refused(body)) => assert_eq!(body.code, code),
            other => panic!("expected {code}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn disabling_signs_out_every_device_at_once() {
    let server = server(SignUpMode::Open).await;
    let mut laptop = Client::user(&server.url, "tom").await;
    let mut phone = Client::connect(&server.url).await;
    phone.call(sign_in("tom", "tom-password")).await.unwrap();
    let token = laptop.token.clone().unwrap();

    admin(
        &server,
        AdminRequest::UserDisable {
            username: "tom".into(),
        },
    )
    .await
    .unwrap();
    for device in [&mut laptop, &mut phone] {
        assert!(signed_out(device).await.contains("disabled"));
    }
    let mut again = Client::connect(&server.url).await;
    assert_code(
        again.call(sign_in("tom", "tom-password")).await,
        ErrorCode::AccountDisabled,
    );
    // The wrong password still says only that.
    assert_code(
        again.call(sign_in("tom", "not-the-password")).await,
        ErrorCode::WrongCredentials,
    );
    assert_code(
        again.call(im_proto::Resume { token }).await,
        ErrorCode::InvalidToken,
    );
    let AdminResponse::Users { users } = admin(&server, AdminRequest::UserList).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(users.len(), 1);
    assert!(users[0].disabled);
    assert_eq!(users[0].sessions, 0);

    admin(
        &server,
        AdminRequest::UserEnable {
            username: "tom".into(),
        },
    )
    .await
    .unwrap();
    again.call(sign_in("tom", "tom-password")).await.unwrap();
}

#[tokio::test]
async fn a_reset_password_signs_out_and_replaces_the_old_one() {
    let server = server(SignUpMode::Open).await;
    let mut tom = Client::user(&server.url, "tom").await;
    let AdminResponse::Password { password } = admin(
        &server,
        AdminRequest::UserResetPassword {
            username: "tom".into(),
            password: None,
        },
    )
    .await
    .unwrap() else {
        panic!()
    };
    let new = password.expect("made up");
    assert!(signed_out(&mut tom).await.contains("password"));
    let mut again = Client::connect(&server.url).await;
    assert_code(
        again.call(sign_in("tom", "tom-password")).await,
        ErrorCode::WrongCredentials,
    );
    again.call(sign_in("tom", new.expose())).await.unwrap();
}

#[tokio::test]
async fn people_see_and_end_their_own_sessions() {
    let server = server(SignUpMode::Open).await;
    let mut laptop = Client::user(&server.url, "tom").await;
    let mut phone = Client::connect(&server.url).await;
    phone.call(sign_in("tom", "tom-password")).await.unwrap();
    let jerry = Client::user(&server.url, "jerry").await;

    let sessions = laptop.call(ListSessions {}).await.unwrap().sessions;
    assert_eq!(sessions.len(), 2, "only Tom's: {sessions:?}");
    assert_eq!(sessions.iter().filter(|s| s.current).count(), 1);
    let own = sessions.iter().find(|s| s.current).unwrap().id.clone();
    let other = sessions.iter().find(|s| !s.current).unwrap().id.clone();
    assert!(sessions.iter().any(|s| s.device == "tom's laptop"));

    assert_code(
        laptop
            .call(RevokeSession {
                session_id: own.clone(),
            })
            .await,
        ErrorCode::InvalidParams,
    );
    // Jerry cannot end Tom's session.
    let mut jerry = jerry;
    assert_code(
        jerry
            .call(RevokeSession {
                session_id: other.clone(),
            })
            .await,
        ErrorCode::SessionNotFound,
    );
    laptop
        .call(RevokeSession {
            session_id: other.clone(),
        })
        .await
        .unwrap();
    assert!(signed_out(&mut phone).await.contains("another device"));
    let sessions = laptop.call(ListSessions {}).await.unwrap().sessions;
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id, own);
    // The operator sees the same.
    let AdminResponse::Sessions { sessions } = admin(
        &server,
        AdminRequest::SessionList {
            username: Some("tom".into()),
        },
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].id, own);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_signs_out_the_others() {
    let server = server(SignUpMode::Open).await;
    let mut laptop = Client::user(&server.url, "tom").await;
    let mut phone = Client::connect(&server.url).await;
    phone.call(sign_in("tom", "tom-password")).await.unwrap();
    let change = |old: &str, new: &str| ChangePassword {
        old_password: old.into(),
        new_password: new.into(),
    };
    assert_code(
        laptop.call(change("wrong-password", "new-password")).await,
        ErrorCode::WrongCredentials,
    );
    assert_code(
        laptop.call(change("tom-password", "short")).await,
        ErrorCode::InvalidPassword,
    );
    laptop
        .call(change("tom-password", "new-password"))
        .await
        .unwrap();
    assert!(signed_out(&mut phone).await.contains("password"));
    // The laptop stays signed in.
    assert_eq!(
        laptop.call(ListSessions {}).await.unwrap().sessions.len(),
        1
    );
    let mut again = Client::connect(&server.url).await;
    assert_code(
        again.call(sign_in("tom", "tom-password")).await,
        ErrorCode::WrongCredentials,
    );
    again.call(sign_in("tom", "new-password")).await.unwrap();
}

#[tokio::test]
async fn offline_the_sqlite_database_is_changed_directly_and_never_under_a_running_server() {
    let mut server = server(SignUpMode::Closed).await;
    server.stop().await;
    let database = server.sqlite_file();
    let created = tokio::task::spawn_blocking({
        let database = database.clone();
        move || {
            administer(
                &database,
                Some("127.0.0.1:1".parse().unwrap()),
                AdminRequest::UserCreate {
                    username: "tom".into(),
                    display_name: None,
                    password: Some("tom-password".into()),
                },
            )
        }
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(created.0, Reached::Database);

    // A running server without an admin listener: its files are not touched.
    let running = im_server::start(im_server::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        &database,
    ))
    .await
    .unwrap();
    let mut tom = Client::connect(&running.url()).await;
    tom.call(sign_in("tom", "tom-password")).await.unwrap();
    let refused = tokio::task::spawn_blocking(move || {
        administer(&database, None, AdminRequest::UserList).map(|_| ())
    })
    .await
    .unwrap()
    .unwrap_err();
    assert!(
        refused.to_string().contains("a server runs on"),
        "{refused}"
    );
    // Nor can a second server start on them.
    let second = im_server::start(im_server::Config::new(
        "127.0.0.1:0".parse().unwrap(),
        server.sqlite_file(),
    ))
    .await
    .unwrap_err();
    assert!(second.to_string().contains("in use"), "{second}");
    running.shutdown().await;
}

#[tokio::test]
async fn the_admin_api_wants_its_token() {
    let server = server(SignUpMode::Open).await;
    let url = format!(
        "http://{}/admin/v1",
        server.server.as_ref().unwrap().admin_addr().unwrap()
    );
    let status = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let without = agent
            .post(&url)
            .send_json(&AdminRequest::UserList)
            .unwrap()
            .status()
            .as_u16();
        let wrong = agent
            .post(&url)
            .header("Authorization", "Bearer 00")
            .send_json(&AdminRequest::UserList)
            .unwrap()
            .status()
            .as_u16();
        (without, wrong)
    })
    .await
    .unwrap();
    assert_eq!(status, (401, 401));
    // The token file is the server user's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let admin = server.server.as_ref().unwrap().admin_addr();
        let name = im_server::admin_token_path(&server.database(), admin);
        let mode = std::fs::metadata(name).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
