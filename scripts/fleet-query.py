#!/usr/bin/env python3
"""Runs docs/fleet/queries.sql with DuckDB (pip install duckdb) over the output of
`framescope analyze DIR... --jsonl` (a file) or `--parquet OUT` (the folder OUT), and prints
every named query's rows: as tables, or with --json as one JSON object per query
({"query": NAME, "columns": [...], "rows": [[...]]}).

usage: scripts/fleet-query.py FLEET.jsonl|PARQUET_DIR [--json]
"""
import json
import os
import sys

import duckdb

FLEET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "fleet")


def quoted(path):
    """A path inside a SQL string literal."""
    return path.replace("'", "''")


def statements(sql):
    """(name or None, statement) in file order; names come from "-- name:" lines."""
    name, lines = None, []
    for line in sql.splitlines():
        stripped = line.strip()
        if stripped.startswith("-- name:"):
            name = stripped.split(":", 1)[1].strip()
            continue
        if stripped.startswith("--") or not stripped:
            continue
        lines.append(line)
        if stripped.endswith(";"):
            yield name, "\n".join(lines)
            name, lines = None, []


def main():
    args = [a for a in sys.argv[1:] if a != "--json"]
    if len(args) != 1:
        sys.exit(__doc__)
    as_json = "--json" in sys.argv
    path = os.path.abspath(args[0])
    if os.path.isdir(path):
        with open(os.path.join(FLEET, "parquet-views.sql"), encoding="utf-8") as f:
            views = f.read().replace("'fleet/", "'" + quoted(path) + "/")
    else:
        with open(os.path.join(FLEET, "jsonl-views.sql"), encoding="utf-8") as f:
            views = f.read().replace("'fleet.jsonl'", "'" + quoted(path) + "'")
    with open(os.path.join(FLEET, "queries.sql"), encoding="utf-8") as f:
        sql = views + "\n" + f.read()
    db = duckdb.connect()
    for name, statement in statements(sql):
        result = db.execute(statement)
        if name is None:
            continue
        columns = [d[0] for d in result.description]
        rows = result.fetchall()
        if as_json:
            print(json.dumps({"query": name, "columns": columns, "rows": rows}))
        else:
            print(f"== {name}")
            print("\t".join(columns))
            for row in rows:
                print("\t".join("" if v is None else str(v) for v in row))
            print()


if __name__ == "__main__":
    main()
