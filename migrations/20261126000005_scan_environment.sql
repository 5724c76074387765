-- Which environment a scan speaks for (production, staging, ...), as the sender says.
ALTER TABLE scans ADD COLUMN environment TEXT;
