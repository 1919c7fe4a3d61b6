-- framescope fleet queries (docs/fleet.md) over the views of jsonl-views.sql or
-- parquet-views.sql: connections, messages, rtts, anomalies. Each query is named by a
-- "-- name:" line (scripts/fleet-query.py prints each one's rows).

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
FROM rtts r JOIN connections c USING (capture, conn)
GROUP BY c.path ORDER BY c.path;

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
FROM rtts GROUP BY capture, conn ORDER BY capture, conn;

-- name: findings
SELECT kind, count(*) AS findings, count(DISTINCT capture) AS captures
FROM anomalies GROUP BY kind ORDER BY findings DESC, kind;
