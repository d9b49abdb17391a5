-- A child's school level belongs to a school year (the one starting in
-- `school_year`: 2026 for 2026-2027). Levels of other years follow a class a year
-- from the nearest one declared (famille_model::dossier::level_in). The level a
-- child had is kept for the school year it was last written in.
CREATE TABLE child_levels (
    child_id     BLOB NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    school_year  INTEGER NOT NULL,
    level        TEXT NOT NULL,
    PRIMARY KEY (child_id, school_year)
);

INSERT INTO child_levels (child_id, school_year, level)
SELECT id,
       CAST(substr(updated_at, 1, 4) AS INTEGER) - (CAST(substr(updated_at, 6, 2) AS INTEGER) < 9),
       school_level
FROM children;

ALTER TABLE children DROP COLUMN school_level;
