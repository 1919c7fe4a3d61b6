-- framescope fleet queries (docs/fleet.md): DuckDB over the JSON Lines of many captures,
--   framescope analyze sensors/ --jsonl > fleet.jsonl
-- Run from the folder holding fleet.jsonl:  duckdb < queries.sql
-- (or python3 scripts/fleet-query.py fleet.jsonl). Each query is named by a "-- name:" line.

-- Only the fields these queries read; DuckDB ignores the rest of each record.
CREATE OR REPLACE TABLE records AS
SELECT * FROM read_json('fleet.jsonl', format = 'newline_delimited', columns = {
    capture: 'VARCHAR', type: 'VARCHAR', conn: 'BIGINT', client: 'VARCHAR', server: 'VARCHAR',
    handshake: 'JSON', dir: 'VARCHAR', opcode: 'VARCHAR', wire_len: 'BIGINT', len: 'BIGINT',
    close_code: 'INTEGER', rtt_ms: 'DOUBLE', kind: 'VARCHAR'});

-- A connection is (capture, conn): numbers start from 0 in every capture.
CREATE OR REPLACE VIEW connections AS
SELECT capture, conn, client, server, json_extract_string(handshake, '$.path') AS path
FROM records WHERE type = 'connection';

CREATE OR REPLACE VIEW messages AS
SELECT m.capture, m.conn, m.dir, m.opcode, m.wire_len, m.len, m.close_code, c.client, c.server, c.path
FROM records m JOIN connections c USING (capture, conn) WHERE m.type = 'message';

-- name: top_talkers
-- Servers by bytes on the wire (both directions), with their connections and messages.
SELECT server, count(DISTINCT (capture, conn)) AS connections, count(*) AS messages,
       sum(wire_len) AS wire_bytes
FROM messages GROUP BY server ORDER BY wire_bytes DESC, server LIMIT 20;

-- name: close_codes
-- Close frames per server, direction and code (NULL: a close frame without a code).
SELECT server, dir, close_code, count(*) AS closes
FROM messages WHERE opcode = 'close'
GROUP BY server, dir, close_code ORDER BY server, dir, close_code;

-- name: rtt_per_path
-- Ping/pong round trips per handshake path: nearest-rank percentiles (the ceil(q*n)-th
-- smallest sample), the definition `analyze --summary` and the window use.
SELECT c.path, count(*) AS samples,
       list_sort(list(r.rtt_ms))[greatest(1, ceil(0.50 * count(*)))::BIGINT] AS p50_ms,
       list_sort(list(r.rtt_ms))[greatest(1, ceil(0.95 * count(*)))::BIGINT] AS p95_ms,
       list_sort(list(r.rtt_ms))[greatest(1, ceil(0.99 * count(*)))::BIGINT] AS p99_ms,
       max(r.rtt_ms) AS max_ms
FROM records r JOIN connections c USING (capture, conn)
WHERE r.type = 'rtt' GROUP BY c.path ORDER BY c.path;

-- name: per_connection
-- One row per connection and direction: what `analyze --summary` shows per connection.
SELECT capture, conn, dir, count(*) AS messages, sum(wire_len) AS wire_bytes, sum(len) AS payload_bytes
FROM messages GROUP BY capture, conn, dir ORDER BY capture, conn, dir;

-- name: rtt_per_connection
SELECT capture, conn, count(*) AS samples,
       list_sort(list(rtt_ms))[greatest(1, ceil(0.50 * count(*)))::BIGINT] AS p50_ms,
       list_sort(list(rtt_ms))[greatest(1, ceil(0.95 * count(*)))::BIGINT] AS p95_ms,
       list_sort(list(rtt_ms))[greatest(1, ceil(0.99 * count(*)))::BIGINT] AS p99_ms,
       max(rtt_ms) AS max_ms
FROM records WHERE type = 'rtt' GROUP BY capture, conn ORDER BY capture, conn;

-- name: findings
SELECT kind, count(*) AS findings, count(DISTINCT capture) AS captures
FROM records WHERE type = 'anomaly' GROUP BY kind ORDER BY findings DESC, kind;
