-- Mentions (a JSON array of uids, NULL for none; mention_all for @all) and emoji reactions
-- (JSON [{emoji, user_ids}], NULL for none; changed like an edit).
ALTER TABLE messages ADD COLUMN mentions text;
ALTER TABLE messages ADD COLUMN mention_all boolean NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN reactions text;
