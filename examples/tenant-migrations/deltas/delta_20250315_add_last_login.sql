-- delta_20250315_add_last_login.sql
ALTER TABLE users ADD COLUMN last_login TIMESTAMP;
-- Reversible delta
-- ALTER TABLE users DROP COLUMN last_login;
