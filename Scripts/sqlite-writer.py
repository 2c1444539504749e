#!/usr/bin/env python3
"""A writer process for the backup test and benchmark: commits one small transaction after another on an SQLite
database until a stop file appears, logging each commit's start and end (wall clock, seconds) to a file.

Each transaction inserts a row into `writes` and increments `meta.n`, so a consistent copy has
`SELECT count(*) FROM writes` equal to `SELECT n FROM meta`.

usage: sqlite-writer.py DB LOG STOPFILE [PAUSE_SECONDS]
"""
import os
import sqlite3
import sys
import time

db, log, stop = sys.argv[1:4]
pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.002
connection = sqlite3.connect(db, timeout=600, isolation_level=None)
connection.execute("PRAGMA synchronous = FULL")
connection.execute("CREATE TABLE IF NOT EXISTS writes (id INTEGER PRIMARY KEY, at REAL NOT NULL)")
connection.execute("CREATE TABLE IF NOT EXISTS meta (n INTEGER NOT NULL)")
if connection.execute("SELECT count(*) FROM meta").fetchone()[0] == 0:
    connection.execute("INSERT INTO meta VALUES (0)")
with open(log, "w", buffering=1) as out:
    while not os.path.exists(stop):
        start = time.time()
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO writes (at) VALUES (?)", (start,))
        connection.execute("UPDATE meta SET n = n + 1")
        connection.execute("COMMIT")
        out.write(f"{start:.6f} {time.time():.6f}\n")
        time.sleep(pause)
connection.close()
