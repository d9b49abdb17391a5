-- Names as agents search them: case, accents and ligatures folded in Rust
-- (famille_model::text::search_key), because SQLite's LOWER folds ASCII only and
-- both databases must find the same families. Rows written before this migration
-- get their key when the server starts (Db::fill_search_keys).
ALTER TABLE guardians ADD COLUMN search_key TEXT;
ALTER TABLE children ADD COLUMN search_key TEXT;
