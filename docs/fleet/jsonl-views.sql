-- framescope fleet views over JSON Lines (docs/fleet.md): the records of many captures,
--   framescope analyze sensors/ --jsonl > fleet.jsonl
-- Run from the folder holding fleet.jsonl:  cat jsonl-views.sql queries.sql | duckdb
-- (or python3 scripts/fleet-query.py fleet.jsonl). parquet-views.sql defines the same views
-- over `analyze --parquet` output, so queries.sql runs unchanged on either.

-- Only the fields the views read; DuckDB ignores the rest of each record.
CREATE OR REPLACE TABLE records AS
SELECT * FROM read_json('fleet.jsonl', format = 'newline_delimited', columns = {
    capture: 'VARCHAR', type: 'VARCHAR', conn: 'BIGINT', client: 'VARCHAR', server: 'VARCHAR',
    handshake: 'JSON', dir: 'VARCHAR', opcode: 'VARCHAR', wire_len: 'BIGINT', len: 'BIGINT',
    close_code: 'INTEGER', ping_dir: 'VARCHAR', rtt_ms: 'DOUBLE', kind: 'VARCHAR'});

-- A connection is (capture, conn): numbers start from 0 in every capture.
CREATE OR REPLACE VIEW connections AS
SELECT capture, conn, client, server, json_extract_string(handshake, '$.path') AS path
FROM records WHERE type = 'connection';

CREATE OR REPLACE VIEW messages AS
SELECT m.capture, m.conn, m.dir, m.opcode, m.wire_len, m.len, m.close_code, c.client, c.server, c.path
FROM records m JOIN connections c USING (capture, conn) WHERE m.type = 'message';

CREATE OR REPLACE VIEW rtts AS
SELECT capture, conn, ping_dir, rtt_ms FROM records WHERE type = 'rtt';

CREATE OR REPLACE VIEW anomalies AS
SELECT capture, conn, kind FROM records WHERE type = 'anomaly';
