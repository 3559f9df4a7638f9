-- Images and files (blobs/): a blob is stored once by its SHA-256; a claim says a user
-- uploaded it; an upload is one in progress, resumable from `received` with the hash state at
-- that offset, written by one request at a time (the lease).
CREATE TABLE blobs (
    sha256     bytea PRIMARY KEY,
    size       bigint NOT NULL,
    object_key text NOT NULL,
    kind       text NOT NULL,
    created_at bigint NOT NULL
);
CREATE TABLE blob_claims (
    uid        bytea NOT NULL REFERENCES users(uid),
    sha256     bytea NOT NULL REFERENCES blobs(sha256),
    created_at bigint NOT NULL,
    PRIMARY KEY (uid, sha256)
);
CREATE INDEX blob_claims_by_blob ON blob_claims(sha256);
CREATE TABLE uploads (
    id          bytea PRIMARY KEY,
    uid         bytea NOT NULL REFERENCES users(uid),
    sha256      bytea NOT NULL,
    size        bigint NOT NULL,
    received    bigint NOT NULL DEFAULT 0,
    hash_state  bytea,
    kind        text,
    lease_token bigint NOT NULL DEFAULT 0,
    lease_until bigint NOT NULL DEFAULT 0,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL
);
CREATE UNIQUE INDEX uploads_by_owner ON uploads(uid, sha256);
CREATE INDEX uploads_by_expiry ON uploads(expires_at);
