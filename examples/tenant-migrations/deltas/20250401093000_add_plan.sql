-- migrate:up
ALTER TABLE users ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';
CREATE INDEX users_plan ON users (plan);

-- migrate:down
DROP INDEX users_plan;
ALTER TABLE users DROP COLUMN plan;
