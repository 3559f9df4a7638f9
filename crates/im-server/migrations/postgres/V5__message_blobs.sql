-- Image and file messages: the blobs each names (an image and its thumbnail, or a file),
-- readable by the conversation's members until the message is recalled.
CREATE TABLE message_blobs (
    sha256          bytea NOT NULL REFERENCES blobs(sha256),
    conversation_id bytea NOT NULL,
    seq             bigint NOT NULL,
    PRIMARY KEY (sha256, conversation_id, seq)
);
CREATE INDEX message_blobs_by_message ON message_blobs(conversation_id, seq);
