-- framescope fleet views over Parquet (docs/parquet.md): the tables of many captures,
--   framescope analyze sensors/ --parquet fleet
-- Run from the folder holding fleet/:  cat parquet-views.sql queries.sql | duckdb
-- (or python3 scripts/fleet-query.py fleet/). The same views as jsonl-views.sql; DuckDB reads
-- only the columns a query needs (message payloads stay on disk).

-- A connection is (capture, conn): numbers start from 0 in every capture.
CREATE OR REPLACE VIEW connections AS
SELECT capture, conn, client, server, path FROM read_parquet('fleet/connections.parquet');

CREATE OR REPLACE VIEW messages AS
SELECT m.capture, m.conn, m.dir, m.opcode, m.wire_len, m.len, m.close_code, c.client, c.server, c.path
FROM read_parquet('fleet/messages.parquet') m JOIN connections c USING (capture, conn);

CREATE OR REPLACE VIEW rtts AS
SELECT capture, conn, ping_dir, rtt_ms FROM read_parquet('fleet/rtts.parquet');

CREATE OR REPLACE VIEW anomalies AS
SELECT capture, conn, kind FROM read_parquet('fleet/anomalies.parquet');
