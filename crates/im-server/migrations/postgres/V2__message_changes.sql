-- Replies, edits and recalls. A changed message takes the change counter of its newest change
-- (change_version, 0 for a message never changed) and so does its conversation's
-- changes_version: get_message_changes pages a conversation's changes by it.
ALTER TABLE messages ADD COLUMN reply_to bigint;
ALTER TABLE messages ADD COLUMN edited_at bigint;
ALTER TABLE messages ADD COLUMN change_version bigint NOT NULL DEFAULT 0;
CREATE INDEX messages_by_change ON messages (conversation_id, change_version)
    WHERE change_version > 0;
ALTER TABLE conversations ADD COLUMN changes_version bigint NOT NULL DEFAULT 0;
