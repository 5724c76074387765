-- No query reads findings by alias yet, and keeping this GIN index up to date was an eighth
-- of the cost of writing a large first import (about 0.2 s per 100k findings). The findings
-- explorer brings alias search (CVE, GHSA, CWE) together with the index its queries need.
DROP INDEX IF EXISTS findings_aliases_idx;
