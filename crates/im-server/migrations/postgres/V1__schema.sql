-- The PostgreSQL schema: the same tables as SQLite's (store/schema.rs) after its migrations,
-- plus what several writers need. Unreleased: edited in place until the backend ships, then
-- appended to only.

CREATE TABLE users (
    uid           bytea PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    created_at    bigint NOT NULL,
    disabled      boolean NOT NULL DEFAULT false
);

-- Session tokens are stored as SHA-256 hashes, never in clear. made: the order they were
-- made in (SQLite's rowid), for sessions made in the same millisecond.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    uid        bytea NOT NULL REFERENCES users (uid),
    device     text NOT NULL,
    created_at bigint NOT NULL,
    made       bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX sessions_by_uid ON sessions (uid);

-- As on SQLite, plus membership_version: the change counter at the last change of the member
-- list, so that a node's cached members are checked against the row it locks; and made: the
-- order conversations were made in (SQLite's rowid), which picks the oldest of two with the
-- same members made in the same millisecond.
CREATE TABLE conversations (
    id                 bytea PRIMARY KEY,
    title              text NOT NULL,
    icon               text NOT NULL,
    manager_id         bytea NOT NULL,
    remark             text NOT NULL,
    user_count         integer NOT NULL,
    attrs              text NOT NULL,
    create_time        bigint NOT NULL,
    type               text NOT NULL,
    member_key         bytea NOT NULL,
    last_seq           bigint NOT NULL DEFAULT 0,
    version            bigint NOT NULL,
    membership_version bigint NOT NULL DEFAULT 0,
    made               bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX conversations_by_member_key ON conversations (member_key);
-- What changed since a version (a writer catching up with the other nodes' batches).
CREATE INDEX conversations_by_version ON conversations (version);

CREATE TABLE members (
    uid             bytea NOT NULL,
    conversation_id bytea NOT NULL,
    position        integer NOT NULL,
    active          boolean NOT NULL,
    read_seq        bigint NOT NULL DEFAULT 0,
    version         bigint NOT NULL,
    left_seq        bigint NOT NULL DEFAULT 0,
    left_snapshot   text,
    muted           boolean NOT NULL DEFAULT false,
    PRIMARY KEY (uid, conversation_id)
);
CREATE INDEX members_by_conversation ON members (conversation_id, position);

CREATE TABLE messages (
    conversation_id bytea NOT NULL,
    seq             bigint NOT NULL,
    id              bytea NOT NULL,
    sender          bytea NOT NULL,
    client_id       text NOT NULL,
    type            text NOT NULL,
    body            text NOT NULL,
    timestamp       bigint NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
-- The idempotency key, client id first (time-ordered ids append at the index's end).
CREATE UNIQUE INDEX messages_by_client_id ON messages (client_id, sender, conversation_id);

CREATE TABLE server_state (
    key   text PRIMARY KEY,
    value bigint NOT NULL
);

CREATE TABLE blocks (
    uid        bytea NOT NULL REFERENCES users (uid),
    blocked    bytea NOT NULL REFERENCES users (uid),
    created_at bigint NOT NULL,
    PRIMARY KEY (uid, blocked)
);

CREATE TABLE invites (
    id         text PRIMARY KEY,
    code_hash  bytea NOT NULL UNIQUE,
    uses_left  integer NOT NULL,
    expires_at bigint,
    created_at bigint NOT NULL
);

-- The change counter every writer takes for its batch and holds to commit, so that versions
-- are in commit order across nodes (docs/CLUSTER.md): value is the highest version stamped,
-- writes counts committed batches, blocks the batches that set or lifted a block. A writer
-- that finds writes moved by others since its own last batch forgets what it cached of the
-- conversations changed since (by version), or of all of them if blocks moved.
CREATE TABLE change_counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    value    bigint NOT NULL,
    writes   bigint NOT NULL DEFAULT 0,
    blocks   bigint NOT NULL DEFAULT 0
);
INSERT INTO change_counter (value) VALUES (0);
