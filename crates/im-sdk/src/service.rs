//! [`ImService`]: creates IM clients, at most one per signed-in user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use im_proto::Uid;

use crate::account::Session;
use crate::client::{ClientConfig, ImClient, WeakClient};
use crate::error::Result;

/// Creates [`ImClient`]s (the seed's `imService`). An app has one service; creating a client for
/// a user who already has a live one returns that same client, so the app cannot end up with
/// two connections fighting over one cache.
#[derive(Debug, Clone, Default)]
pub struct ImService {
    clients: Arc<Mutex<HashMap<Uid, WeakClient>>>,
    config: ClientConfig,
}

impl ImService {
    /// A service with the default [`ClientConfig`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A service whose clients use `config`.
    pub fn with_config(config: ClientConfig) -> Self {
        Self {
            clients: Default::default(),
            config,
        }
    }

    /// The IM client for `session`'s user (the seed's `createIMClient(uid)`): a new one, or
    /// the live one this service already made for that user. Set its cache next.
    /// Must be called inside a Tokio runtime.
    pub fn create_im_client(&self, session: Session) -> Result<ImClient> {
        let mut clients = self.clients.lock().expect("service lock");
        clients.retain(|_, c| c.upgrade().is_some());
        if let Some(existing) = clients.get(&session.user.uid).and_then(WeakClient::upgrade) {
            return Ok(existing);
        }
        let uid = session.user.uid;
        let client = ImClient::start(session, self.config.clone())?;
        clients.insert(uid, client.downgrade());
        Ok(client)
    }
}
