//! Every check, by area, and what each one covers: `op:NAME` (the op answered with a result,
//! checked field by field), `event:NAME` (delivered to the right sessions), `error:CODE` (provoked
//! and checked), `close:CODE`, `http:STATUS`. The in-process test proves each claim by what the
//! check actually saw on the wire.

pub mod accounts;
pub mod authorization;
pub mod blobs;
pub mod changes;
pub mod connection;
pub mod conversations;
pub mod events;
pub mod limits;
pub mod messages;
pub mod privacy;
pub mod support;

use std::future::Future;
use std::pin::Pin;

use crate::Ctx;

/// A check's future.
pub type CheckFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// One named check.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// `area.what`.
    pub name: &'static str,
    /// What it covers (see the module documentation).
    pub covers: &'static [&'static str],
    /// Runs it.
    pub run: fn(Ctx) -> CheckFuture,
}

macro_rules! checks {
    ($( $area:ident :: $check:ident => [$($covers:literal),* $(,)?] ),* $(,)?) => {
        /// Every check, in the order a run takes them.
        pub fn all_checks() -> Vec<Check> {
            vec![$(
                Check {
                    name: concat!(stringify!($area), ".", stringify!($check)),
                    covers: &[$($covers),*],
                    run: |cx| -> CheckFuture { Box::pin($area::$check(cx)) },
                },
            )*]
        }
    };
}

checks! {
    connection::hello_result => ["op:hello"],
    connection::hello_required => ["error:hello_required", "error:malformed_frame", "error:invalid_params"],
    connection::unsupported_version => ["error:unsupported_version", "error:hello_required"],
    connection::hello_repeated => ["op:hello", "error:unauthenticated"],
    connection::ping => ["op:ping"],
    connection::request_ids => ["op:ping"],
    connection::optional_params_null => [
        "op:create_conversation", "op:get_messages", "op:list_conversations", "op:sync",
        "op:update_conversation",
    ],
    connection::malformed_frame => ["error:malformed_frame"],
    connection::unknown_op => ["error:unknown_op"],
    connection::invalid_params => ["error:invalid_params"],
    connection::bad_id => ["error:bad_id"],
    connection::query_string_ignored => ["op:hello"],
    connection::http_plain_get => ["http:426"],
    connection::http_other_path => ["http:404"],
    connection::http_other_method => ["http:405"],
    connection::http_origin_not_allowed => ["http:403"],
    connection::http_not_http => ["http:400"],
    connection::http_head_too_large => ["http:431"],
    connection::quick_start => [
        "op:find_users", "op:create_conversation", "op:send_text", "event:conversation_created",
        "event:message",
    ],

    accounts::sign_up => ["op:sign_up", "op:sign_in", "error:unauthenticated"],
    accounts::sign_up_limits => [
        "error:invalid_username", "error:invalid_password", "error:field_too_long",
    ],
    accounts::display_name_characters => ["error:invalid_display_name"],
    accounts::username_taken => ["error:username_taken"],
    accounts::sign_in => ["op:sign_in", "op:resume"],
    accounts::wrong_credentials => ["error:wrong_credentials"],
    accounts::sign_in_throttle => ["error:rate_limited", "error:wrong_credentials"],
    accounts::already_signed_in => ["error:already_signed_in"],
    accounts::resume => ["op:resume", "error:invalid_token"],
    accounts::sign_out => [
        "op:sign_out", "event:signed_out", "error:unauthenticated", "error:invalid_token",
    ],
    accounts::sessions => [
        "op:list_sessions", "op:revoke_session", "event:signed_out", "error:session_not_found",
        "error:invalid_params", "error:invalid_token",
    ],
    accounts::change_password => [
        "op:change_password", "event:signed_out", "error:wrong_credentials",
        "error:invalid_password",
    ],
    accounts::find_users => ["op:find_users"],
    accounts::get_users => ["op:get_users"],

    conversations::create_single_chat => ["op:create_conversation", "event:conversation_created"],
    conversations::create_group => ["op:create_conversation", "event:conversation_created"],
    conversations::create_plain_makes_new => ["op:create_conversation"],
    conversations::create_unique => ["op:create_conversation", "op:remove_members"],
    conversations::create_user_not_found => ["error:user_not_found"],
    conversations::get_conversation => ["op:get_conversation"],
    conversations::update_conversation => ["op:update_conversation", "event:conversation_updated"],
    conversations::field_limits => ["error:field_too_long"],
    conversations::add_members => [
        "op:add_members", "event:conversation_created", "event:conversation_updated",
        "op:get_messages",
    ],
    conversations::add_members_refusals => ["error:not_manager", "error:user_not_found"],
    conversations::single_chat_members_fixed => ["error:single_chat_members_fixed"],
    conversations::remove_members => [
        "op:remove_members", "event:conversation_removed", "event:conversation_updated",
    ],
    conversations::leave_and_manager_handover => [
        "op:remove_members", "op:add_members", "error:not_manager", "event:conversation_removed",
    ],
    conversations::list_conversations => ["op:list_conversations"],
    conversations::sync_pages => ["op:sync"],
    conversations::sync_removed_view => ["op:sync", "event:conversation_removed"],

    messages::send_text => ["op:send_text", "event:message"],
    messages::idempotent_resend => ["op:send_text", "event:message"],
    messages::client_ids => ["error:invalid_params"],
    messages::text_rules => ["error:text_too_long", "error:invalid_params"],
    messages::get_messages => ["op:get_messages", "error:invalid_params"],
    messages::get_messages_byte_budget => ["op:get_messages"],
    messages::mark_read => ["op:mark_read", "event:receipt"],
    messages::typing => ["op:typing", "event:typing"],
    messages::read_marks => ["op:get_conversation", "op:mark_read", "event:receipt"],
    messages::catch_up_after_reconnect => ["op:sync", "op:get_messages", "op:resume"],
    messages::pipelined_sends_keep_order => ["op:send_text"],
    messages::concurrent_senders_gapless => ["op:send_text", "event:message"],
    messages::mixed_writes_keep_last_seq => [
        "op:send_text", "op:update_conversation", "op:add_members", "op:remove_members",
        "op:mark_read",
    ],
    messages::refused_send_holds_back_later_sends => ["error:rate_limited", "op:send_text"],

    changes::edit_and_recall => [
        "op:edit_message", "op:recall_message", "event:message_updated", "op:send_text",
        "error:message_not_found", "error:not_sender", "error:not_editable", "error:not_member",
        "error:invalid_params", "error:text_too_long",
    ],
    changes::mentions_and_reactions => [
        "op:send_text", "op:react", "event:message_updated", "error:not_manager",
        "error:invalid_params", "error:too_many_reactions", "error:not_editable",
    ],
    changes::catch_up_on_changes => [
        "op:get_message_changes", "op:sync", "op:list_conversations", "error:not_member",
    ],

    events::message => ["event:message"],
    events::receipt => ["event:receipt"],
    events::typing => ["event:typing"],
    events::conversation_created => ["event:conversation_created", "event:conversation_updated"],
    events::conversation_updated => ["event:conversation_updated"],
    events::conversation_removed => ["event:conversation_removed", "event:conversation_updated"],
    events::signed_out => ["event:signed_out"],

    privacy::mute => [
        "op:mute_conversation", "event:mute_changed", "op:get_conversation", "op:sync",
        "error:not_member",
    ],
    privacy::block => [
        "op:block_user", "op:unblock_user", "op:get_blocked", "event:block_changed",
        "error:blocked", "error:invalid_params", "error:user_not_found", "op:typing",
    ],

    authorization::outsider => ["error:not_member"],
    authorization::unknown_conversation => ["error:conversation_not_found"],
    authorization::former_member => ["error:not_member", "op:send_text"],
    authorization::signed_out_session => ["error:unauthenticated", "error:invalid_token"],
    authorization::unauthenticated => ["error:unauthenticated"],
    authorization::before_hello => ["error:hello_required"],
    authorization::non_manager => ["error:not_manager"],

    blobs::upload_and_download => [
        "error:offset_mismatch", "error:upload_not_found", "error:range_not_satisfiable",
        "error:blob_not_found", "error:invalid_request",
    ],
    blobs::verification_and_size => [
        "error:too_large", "error:hash_mismatch", "error:upload_not_found", "error:blob_not_found",
    ],
    blobs::one_writer_at_a_time => ["error:upload_busy"],
    blobs::unfinished_uploads_are_capped => ["error:too_many_uploads"],
    blobs::image_and_file_messages => [
        "op:send_image", "op:send_file", "error:blob_not_found", "error:blob_mismatch",
        "error:bad_id", "error:invalid_params", "error:not_member",
    ],
    limits::rate_limited => ["error:rate_limited"],
    limits::unreadable_frames_are_charged => [
        "error:rate_limited", "error:malformed_frame", "error:unknown_op", "error:bad_id",
        "error:invalid_params",
    ],
    limits::control_frames_not_charged => ["op:ping"],
    limits::page_limits => ["error:invalid_params"],
    limits::too_many_members => ["error:too_many_members"],
    limits::frame_too_large => ["error:frame_too_large"],
    limits::close_1009_frame_over_hard_cap => ["close:1009", "error:frame_too_large"],
    limits::close_1007_invalid_utf8 => ["close:1007"],
    limits::close_1002_reserved_bit => ["close:1002"],
    limits::close_1002_unknown_opcode => ["close:1002"],
    limits::close_1002_unmasked_frame => ["close:1002"],
    limits::normal_close => ["close:1000"],
    limits::close_1013_slow_reader => ["close:1013"],
}
