-- Refresh rotation with a short grace (RFC 9700 §4.14.2): the token a used one
-- was exchanged for, so that a phone whose answer was lost can present the same
-- token again while that successor is unused.
ALTER TABLE refresh_tokens ADD COLUMN replaced_by BLOB;
