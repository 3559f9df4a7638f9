//! One connection's life: connect and resume, serve requests, replies, pushed events and the
//! outbox until the connection ends, with the heartbeat deciding when silence means death.

use super::*;

impl Supervisor {
    pub(super) async fn connect_and_serve(&mut self) -> Ended {
        let stop = self.inner.stop.clone();
        tokio::select! {
            _ = stop.cancelled() => Ended::Closed,
            ended = self.connect_and_serve_inner() => ended,
        }
    }

    pub(super) async fn connect_and_serve_inner(&mut self) -> Ended {
        let config = &self.inner.config;
        let url = self.server_url().to_owned();
        let mut conn = match Connection::open(&url, config.connect_timeout).await {
            Ok(conn) => conn,
            Err(error) => {
                return Ended::Lost {
                    was_online: false,
                    error,
                }
            }
        };
        let token = self.inner.session.token.clone();
        let resumed = tokio::time::timeout(
            config.request_timeout,
            conn.request(self.inner.next_id(), Resume { token }, |_| {}),
        )
        .await;
        match resumed {
            Ok(Ok(_)) => {}
            Ok(Err(Error::SignedOut(reason))) => return Ended::SignedOut(reason),
            Ok(Err(error)) => {
                return Ended::Lost {
                    was_online: false,
                    error,
                }
            }
            Err(_) => {
                return Ended::Lost {
                    was_online: false,
                    error: Error::Timeout,
                }
            }
        }
        self.inner.set_limits(conn.limits.clone());
        self.pacer = Pacer::new(&conn.limits, Instant::now());
        self.reload_outbox();
        self.inner.set_state(ConnectionState::Online);
        tracing::debug!(url = %conn.url(), "online");
        let caught_up = loop {
            let caught_up = self.catch_up(&mut conn).await;
            if caught_up.is_ok() && std::mem::take(&mut self.held_overflowed) {
                // Some pushed events were dropped: catch up again (from the cursor just moved),
                // which finds what they said.
                self.held.clear();
                continue;
            }
            break caught_up;
        };
        // What was pushed meanwhile is newer than anything the catch-up fetched (pushes follow
        // commit order), so announcing it now keeps every conversation in seq order.
        for event in std::mem::take(&mut self.held) {
            if let Some(reason) = self.apply_event(event, None) {
                return Ended::SignedOut(reason);
            }
        }
        match caught_up {
            Ok((conversations, messages)) => self.inner.emit(ClientEvent::CaughtUp {
                conversations,
                messages,
            }),
            Err(Error::SignedOut(reason)) => return Ended::SignedOut(reason),
            Err(error @ (Error::Disconnected | Error::Timeout | Error::Protocol(_))) => {
                return Ended::Lost {
                    was_online: true,
                    error,
                }
            }
            Err(error) => self.inner.emit_error(error),
        }
        self.serve(conn).await
    }

    /// Runs one request to completion on `conn` (during catch-up), at the server's pace, holding
    /// the events that arrive meanwhile until the catch-up is over. A `rate_limited` refusal is
    /// waited out and the request sent again.
    pub(super) async fn request<P: im_proto::Op + Clone>(
        &mut self,
        conn: &mut Connection,
        params: P,
    ) -> Result<P::Output> {
        loop {
            self.pacer.take().await;
            match self.request_once(conn, params.clone()).await {
                Err(Error::Server(e)) if e.code == im_proto::ErrorCode::RateLimited => {
                    let wait = Duration::from_millis(e.retry_after_ms.unwrap_or(1000));
                    tracing::debug!(?wait, "catch-up request refused for now; waiting");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    pub(super) async fn request_once<P: im_proto::Op>(
        &mut self,
        conn: &mut Connection,
        params: P,
    ) -> Result<P::Output> {
        let id = self.inner.next_id();
        // Silence longer than `dead_after` means a dead connection here too.
        let config = &self.inner.config;
        let timeout = config.request_timeout.min(config.dead_after);
        let held = &mut self.held;
        let overflowed = &mut self.held_overflowed;
        tokio::time::timeout(
            timeout,
            conn.request(id, params, |frame| {
                if let ServerFrame::Event(event) = frame {
                    if held.len() < MAX_HELD {
                        held.push(event);
                    } else {
                        *overflowed = true;
                    }
                }
            }),
        )
        .await
        .unwrap_or(Err(Error::Timeout))
    }

    /// The main loop while online.
    pub(super) async fn serve(&mut self, mut conn: Connection) -> Ended {
        let mut pending: HashMap<RequestId, Pending> = HashMap::new();
        self.absorb_nudges();
        // Read marks moved while offline first; the outbox follows, at the server's pace.
        if let Err(error) = self.send_dirty_reads(&mut conn, &mut pending).await {
            return self.lost(error, pending);
        }
        let heartbeat = Heartbeat::new(
            self.inner.config.ping_interval,
            self.inner.config.dead_after,
        );
        let mut last_ping: Option<Instant> = None;
        loop {
            let outbox_wake = match self.pump_outbox(&mut conn, &mut pending).await {
                Ok(wake) => wake,
                Err(error) => return self.lost(error, pending),
            };
            let (beat_at, beat) = heartbeat.next(conn.last_heard, last_ping);
            tokio::select! {
                _ = self.inner.stop.cancelled() => return self.close(conn, false, None, pending).await,
                cmd = self.commands.recv() => {
                    let result = match cmd {
                        None => return self.close(conn, false, None, pending).await,
                        Some(Command::Close { sign_out, done }) => {
                            return self.close(conn, sign_out, Some(done), pending).await
                        }
                        Some(Command::Call { id, frame, reply }) => {
                            self.pacer.take_anyway(Instant::now());
                            if pending.len() >= 256 {
                                // Calls whose callers gave up (timed out) wait for no one.
                                pending.retain(|_, p| !matches!(p, Pending::Call(tx) if tx.is_closed()));
                            }
                            pending.insert(id, Pending::Call(reply));
                            conn.send_text(frame).await
                        }
                        Some(Command::Reconnect) => Ok(()),
                    };
                    if let Err(error) = result {
                        return self.lost(error, pending);
                    }
                }
                _ = self.inner.nudged() => {
                    self.absorb_nudges();
                    if let Err(error) = self.send_dirty_reads(&mut conn, &mut pending).await {
                        return self.lost(error, pending);
                    }
                }
                incoming = conn.next() => {
                    let frame = match incoming {
                        Ok(Incoming::Frame(frame)) => *frame,
                        Ok(Incoming::Alive) => continue,
                        Err(error) => return self.lost(error, pending),
                    };
                    let mut followups = Vec::new();
                    if let Some(reason) = self.on_frame(frame, &mut pending, &mut followups) {
                        self.fail_pending(pending, || Error::SignedOut(reason.clone()));
                        return Ended::SignedOut(reason);
                    }
                    for f in followups {
                        if let Err(error) = self.follow_up(&mut conn, &mut pending, f).await {
                            return self.lost(error, pending);
                        }
                    }
                }
                _ = tokio::time::sleep_until(beat_at.into()) => match beat {
                    Beat::Dead => return self.lost(Error::Timeout, pending),
                    Beat::Ping => {
                        last_ping = Some(Instant::now());
                        if let Err(error) = conn.ping().await {
                            return self.lost(error, pending);
                        }
                    }
                },
                _ = sleep_until_opt(outbox_wake) => {}
            }
        }
    }

    /// Sends what the outbox may send now (in order, within the in-flight window and the pace).
    /// Returns when to look again if it had to stop for the pace or a pause.
    pub(super) async fn pump_outbox(
        &mut self,
        conn: &mut Connection,
        pending: &mut HashMap<RequestId, Pending>,
    ) -> Result<Option<Instant>> {
        loop {
            let now = Instant::now();
            if self.outbox.waiting() >= self.pacer.window() {
                return Ok(None); // an answer frees room
            }
            if let Some(until) = self.outbox.paused_until().filter(|u| *u > now) {
                return Ok(Some(until));
            }
            if !self.outbox.has_ready() {
                return Ok(None);
            }
            if let Err(at) = self.pacer.try_take(now) {
                return Ok(Some(at));
            }
            let Some(client_id) = self.outbox.next(now) else {
                self.pacer.give_back();
                return Ok(None);
            };
            let entry = match self.cache.outbox_entry(&client_id) {
                Ok(Some(entry)) if entry.state == OutboxState::Sending => entry,
                Ok(_) => {
                    // Discarded (or failed) meanwhile.
                    self.outbox.discard(&client_id);
                    self.pacer.give_back();
                    continue;
                }
                Err(e) => {
                    // Cannot read it now: it goes again after the next reconnect.
                    self.inner.emit_error(e);
                    return Err(Error::Disconnected);
                }
            };
            let id = self.inner.next_id();
            pending.insert(id, Pending::Outbox(entry.client_id.clone()));
            conn.send_request(
                id,
                SendText {
                    conversation_id: entry.conversation_id,
                    client_id: entry.client_id,
                    text: entry.text,
                    reply_to: entry.reply_to,
                    mentions: entry.mentions,
                    mention_all: entry.mention_all,
                },
            )
            .await?;
        }
    }

    pub(super) async fn send_dirty_reads(
        &mut self,
        conn: &mut Connection,
        pending: &mut HashMap<RequestId, Pending>,
    ) -> Result<()> {
        for id in std::mem::take(&mut self.dirty_reads) {
            let Some(record) = self.cache.conversation(id)? else {
                continue;
            };
            let request = self.inner.next_id();
            self.pacer.take_anyway(Instant::now());
            pending.insert(request, Pending::MarkRead(id, record.read_seq));
            conn.send_request(
                request,
                MarkRead {
                    conversation_id: id,
                    seq: record.read_seq,
                },
            )
            .await?;
        }
        Ok(())
    }

    pub(super) async fn follow_up(
        &mut self,
        conn: &mut Connection,
        pending: &mut HashMap<RequestId, Pending>,
        followup: Followup,
    ) -> Result<()> {
        let id = self.inner.next_id();
        self.pacer.take_anyway(Instant::now());
        match followup {
            Followup::FetchConversation(conversation_id) => {
                pending.insert(id, Pending::FetchConversation(conversation_id));
                conn.send_request(id, GetConversation { conversation_id })
                    .await
            }
            Followup::Sync { start } => {
                let since = self.cache.sync_cursor()?;
                pending.insert(id, Pending::Sync(start.unwrap_or(since)));
                conn.send_request(id, Sync { since, limit: None }).await
            }
            Followup::Changes {
                id: conversation_id,
                after,
            } => {
                pending.insert(id, Pending::Changes(conversation_id));
                conn.send_request(
                    id,
                    GetMessageChanges {
                        conversation_id,
                        after,
                        limit: None,
                    },
                )
                .await
            }
            Followup::FillGap {
                id: conversation_id,
                after,
                before,
            } => {
                self.filling.insert(conversation_id);
                pending.insert(id, Pending::GapFill(conversation_id));
                let limit = (before - after - 1).min(200) as usize;
                conn.send_request(
                    id,
                    GetMessages {
                        conversation_id,
                        after: Some(after),
                        before: None,
                        limit: Some(limit.max(1)),
                    },
                )
                .await
            }
        }
    }

    /// Handles one frame while serving. Returns the reason if the session ended.
    pub(super) fn on_frame(
        &mut self,
        frame: ServerFrame,
        pending: &mut HashMap<RequestId, Pending>,
        followups: &mut Vec<Followup>,
    ) -> Option<String> {
        match frame {
            ServerFrame::Event(event) => self.apply_event(event, Some(followups)),
            ServerFrame::UnknownEvent(name) => {
                tracing::debug!(%name, "ignoring an unknown event");
                None
            }
            ServerFrame::Result { id, result } => {
                self.on_reply(followups, pending.remove(&id), Ok(result));
                None
            }
            ServerFrame::Error {
                id: Some(id),
                error,
            } => {
                self.on_reply(followups, pending.remove(&id), Err(error));
                None
            }
            ServerFrame::Error { id: None, error } => {
                self.inner.emit_error(Error::Server(error));
                None
            }
        }
    }

    pub(super) fn on_reply(
        &mut self,
        followups: &mut Vec<Followup>,
        pending: Option<Pending>,
        reply: std::result::Result<Box<RawValue>, ErrorBody>,
    ) {
        let Some(pending) = pending else { return };
        match pending {
            Pending::Call(tx) => {
                let _ = tx.send(reply.map_err(Error::from));
            }
            Pending::Outbox(client_id) => match reply {
                Ok(raw) => match serde_json::from_str::<Message>(raw.get()) {
                    Ok(message) => {
                        if let Err(e) = self.store_acked(&message) {
                            self.inner.emit_error(e);
                        }
                        self.acked(message);
                    }
                    Err(e) => self.inner.emit_error(e.into()),
                },
                Err(error) if error.code.is_transient() => {
                    // The queue stops here and resumes from this message (the server holds
                    // back our later sends to this conversation until it comes again).
                    let wait = Duration::from_millis(error.retry_after_ms.unwrap_or(1000));
                    tracing::debug!(%client_id, code = %error.code, ?wait, "send refused for now");
                    self.outbox
                        .refused_for_now(&client_id, wait, Instant::now());
                }
                Err(error) => self.failed(client_id, error),
            },
            Pending::GapFill(conversation_id) => {
                self.filling.remove(&conversation_id);
                match reply
                    .map_err(Error::from)
                    .and_then(|raw| Ok(serde_json::from_str::<MessagePage>(raw.get())?))
                {
                    Ok(page) => {
                        let refill = self.store_messages(page.messages, true).and_then(|_| {
                            // Still short of the newest known message? Keep filling.
                            match self.cache.conversation(conversation_id)? {
                                Some(r) if r.last_seq > r.synced_seq => {
                                    self.gap(conversation_id, r.last_seq + 1)
                                }
                                _ => Ok(None),
                            }
                        });
                        match refill {
                            Ok(next) => followups.extend(next),
                            Err(e) => self.inner.emit_error(e),
                        }
                    }
                    Err(e) => self.inner.emit_error(e),
                }
            }
            Pending::FetchConversation(conversation_id) => {
                tracing::debug!(%conversation_id, "fetched a conversation first seen in a message");
                match reply
                    .map_err(Error::from)
                    .and_then(|raw| Ok(serde_json::from_str::<ConversationView>(raw.get())?))
                {
                    Ok(view) => match self.apply_view(view, None) {
                        Ok(Some(after)) => followups.push(Followup::Changes {
                            id: conversation_id,
                            after,
                        }),
                        Ok(None) => {}
                        Err(e) => self.inner.emit_error(e),
                    },
                    Err(e) => self.inner.emit_error(e),
                }
            }
            Pending::Changes(conversation_id) => {
                let applied = reply
                    .map_err(Error::from)
                    .and_then(|raw| Ok(serde_json::from_str::<MessageChanges>(raw.get())?))
                    .and_then(|page| {
                        let (next, more) = (page.next, page.has_more);
                        self.apply_changes(conversation_id, page.messages, next)?;
                        Ok(more.then_some(Followup::Changes {
                            id: conversation_id,
                            after: next,
                        }))
                    });
                match applied {
                    Ok(next) => followups.extend(next),
                    Err(e) => self.inner.emit_error(e),
                }
            }
            Pending::Sync(start) => {
                let synced = reply
                    .map_err(Error::from)
                    .and_then(|raw| Ok(serde_json::from_str::<SyncPage>(raw.get())?))
                    .and_then(|page| self.apply_sync_page(page, start, followups));
                if let Err(e) = synced {
                    self.inner.emit_error(e);
                }
            }
            Pending::MarkRead(conversation_id, sent) => match reply {
                Ok(_) => {
                    // Clean only if the mark has not moved past what this reply acknowledges.
                    let cleaned = self
                        .cache
                        .update_conversation(conversation_id, None, &mut |r| {
                            if r.read_seq <= sent {
                                r.read_dirty = false;
                            }
                        });
                    if let Err(e) = cleaned {
                        self.inner.emit_error(e);
                    }
                }
                Err(error) => self.inner.emit_error(error.into()),
            },
        }
    }
}
