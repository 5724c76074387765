-- Runtime alerts repeat: one finding counts its events.
ALTER TABLE findings ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1 CHECK (occurrences > 0);
