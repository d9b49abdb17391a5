-- Pointage: one code per child and session, with who recorded it.
CREATE TABLE attendance (
    session_id   UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    child_id     UUID NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    code         TEXT NOT NULL CHECK (code IN ('present', 'absent', 'excused', 'school_trip', 'surcharge', 'present_unbooked')),
    recorded_by  UUID NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, child_id)
);
