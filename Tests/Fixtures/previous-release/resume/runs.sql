PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
INSERT INTO grdb_migrations VALUES('v1');
INSERT INTO grdb_migrations VALUES('v2');
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('csv', 'jsonl')),
    id_columns TEXT NOT NULL,
    data_checksum TEXT NOT NULL,
    item_count INTEGER NOT NULL,
    ingested_at TEXT NOT NULL,
    UNIQUE (name, version)
);
INSERT INTO sources VALUES(1,'src.csv',1,'csv','["id"]','c5758b844ac75e1d7f73b082719d3bb558a970a65c539047821c33ee0fe63765',20,'2026-12-02T11:28:09.248Z');
CREATE TABLE source_items (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    item_key TEXT NOT NULL,
    position INTEGER NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (source_id, item_key)
);
INSERT INTO source_items VALUES(1,1,'i1',0,'{"id":"i1","text":"t1"}');
INSERT INTO source_items VALUES(2,1,'i2',1,'{"id":"i2","text":"t2"}');
INSERT INTO source_items VALUES(3,1,'i3',2,'{"id":"i3","text":"t3"}');
INSERT INTO source_items VALUES(4,1,'i4',3,'{"id":"i4","text":"t4"}');
INSERT INTO source_items VALUES(5,1,'i5',4,'{"id":"i5","text":"t5"}');
INSERT INTO source_items VALUES(6,1,'i6',5,'{"id":"i6","text":"t6"}');
INSERT INTO source_items VALUES(7,1,'i7',6,'{"id":"i7","text":"t7"}');
INSERT INTO source_items VALUES(8,1,'i8',7,'{"id":"i8","text":"t8"}');
INSERT INTO source_items VALUES(9,1,'i9',8,'{"id":"i9","text":"t9"}');
INSERT INTO source_items VALUES(10,1,'i10',9,'{"id":"i10","text":"t10"}');
INSERT INTO source_items VALUES(11,1,'i11',10,'{"id":"i11","text":"t11"}');
INSERT INTO source_items VALUES(12,1,'i12',11,'{"id":"i12","text":"t12"}');
INSERT INTO source_items VALUES(13,1,'i13',12,'{"id":"i13","text":"t13"}');
INSERT INTO source_items VALUES(14,1,'i14',13,'{"id":"i14","text":"t14"}');
INSERT INTO source_items VALUES(15,1,'i15',14,'{"id":"i15","text":"t15"}');
INSERT INTO source_items VALUES(16,1,'i16',15,'{"id":"i16","text":"t16"}');
INSERT INTO source_items VALUES(17,1,'i17',16,'{"id":"i17","text":"t17"}');
INSERT INTO source_items VALUES(18,1,'i18',17,'{"id":"i18","text":"t18"}');
INSERT INTO source_items VALUES(19,1,'i19',18,'{"id":"i19","text":"t19"}');
INSERT INTO source_items VALUES(20,1,'i20',19,'{"id":"i20","text":"t20"}');
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    name TEXT,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    status TEXT NOT NULL CHECK (status IN ('running', 'failed', 'completed')),
    config TEXT NOT NULL,
    source_checksum TEXT NOT NULL,
    total_items INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT
, completed_count INTEGER NOT NULL DEFAULT 0, failed_count INTEGER NOT NULL DEFAULT 0, last_progress_at TEXT, estimated_completion_at TEXT, final_metrics TEXT);
INSERT INTO runs VALUES('98b7f854-5ddb-40b6-8076-56e7b40408e8',NULL,1,'running','{"batch_seconds":0.1,"batch_size":2,"command":"sleep 0.2; cat"}','c5758b844ac75e1d7f73b082719d3bb558a970a65c539047821c33ee0fe63765',20,'2026-12-02T11:28:09.258Z',NULL,10,0,'2026-12-02T11:28:11.567Z','2026-12-02T11:28:13.871Z',NULL);
CREATE TABLE results (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    item_id INTEGER NOT NULL REFERENCES source_items(id),
    output TEXT,
    error_occurred INTEGER NOT NULL DEFAULT 0,
    last_error_message TEXT,
    created_at TEXT NOT NULL
, attempt_count INTEGER NOT NULL DEFAULT 1, first_error_message TEXT, last_attempt_at TEXT, error_category TEXT);
INSERT INTO results VALUES(1,'98b7f854-5ddb-40b6-8076-56e7b40408e8',1,'{"id":"i1","text":"t1"}',0,NULL,'2026-12-02T11:28:09.482Z',1,NULL,'2026-12-02T11:28:09.482Z',NULL);
INSERT INTO results VALUES(2,'98b7f854-5ddb-40b6-8076-56e7b40408e8',2,'{"id":"i2","text":"t2"}',0,NULL,'2026-12-02T11:28:09.710Z',1,NULL,'2026-12-02T11:28:09.710Z',NULL);
INSERT INTO results VALUES(3,'98b7f854-5ddb-40b6-8076-56e7b40408e8',3,'{"id":"i3","text":"t3"}',0,NULL,'2026-12-02T11:28:09.945Z',1,NULL,'2026-12-02T11:28:09.945Z',NULL);
INSERT INTO results VALUES(4,'98b7f854-5ddb-40b6-8076-56e7b40408e8',4,'{"id":"i4","text":"t4"}',0,NULL,'2026-12-02T11:28:10.165Z',1,NULL,'2026-12-02T11:28:10.165Z',NULL);
INSERT INTO results VALUES(5,'98b7f854-5ddb-40b6-8076-56e7b40408e8',5,'{"id":"i5","text":"t5"}',0,NULL,'2026-12-02T11:28:10.401Z',1,NULL,'2026-12-02T11:28:10.401Z',NULL);
INSERT INTO results VALUES(6,'98b7f854-5ddb-40b6-8076-56e7b40408e8',6,'{"id":"i6","text":"t6"}',0,NULL,'2026-12-02T11:28:10.618Z',1,NULL,'2026-12-02T11:28:10.618Z',NULL);
INSERT INTO results VALUES(7,'98b7f854-5ddb-40b6-8076-56e7b40408e8',7,'{"id":"i7","text":"t7"}',0,NULL,'2026-12-02T11:28:10.834Z',1,NULL,'2026-12-02T11:28:10.834Z',NULL);
INSERT INTO results VALUES(8,'98b7f854-5ddb-40b6-8076-56e7b40408e8',8,'{"id":"i8","text":"t8"}',0,NULL,'2026-12-02T11:28:11.109Z',1,NULL,'2026-12-02T11:28:11.109Z',NULL);
INSERT INTO results VALUES(9,'98b7f854-5ddb-40b6-8076-56e7b40408e8',9,'{"id":"i9","text":"t9"}',0,NULL,'2026-12-02T11:28:11.341Z',1,NULL,'2026-12-02T11:28:11.341Z',NULL);
INSERT INTO results VALUES(10,'98b7f854-5ddb-40b6-8076-56e7b40408e8',10,'{"id":"i10","text":"t10"}',0,NULL,'2026-12-02T11:28:11.567Z',1,NULL,'2026-12-02T11:28:11.567Z',NULL);
CREATE INDEX source_items_by_position ON source_items(source_id, position);
CREATE UNIQUE INDEX results_one_per_item ON results(run_id, item_id);
CREATE INDEX results_by_error ON results(run_id, error_occurred);
CREATE INDEX runs_by_start ON runs(started_at);
COMMIT;
