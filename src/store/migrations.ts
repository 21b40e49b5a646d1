/** Versioned schema changes, applied in order once each. Never edit a released one: add the next. */
export const MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "runs, outbox, feedback, actions",
    sql: `
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  since_ms INTEGER NOT NULL,
  window_text TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  source TEXT NOT NULL,
  channel TEXT,
  thread_ts TEXT,
  parent_outbox_id TEXT,
  previous_run_id TEXT,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  duration_ms INTEGER,
  hosts TEXT NOT NULL DEFAULT '[]',
  hosts_failed TEXT NOT NULL DEFAULT '[]',
  verdicts TEXT NOT NULL DEFAULT '[]',
  status TEXT,
  error TEXT,
  diagnosis TEXT,
  bundle BLOB
);
CREATE INDEX runs_state ON runs (state, created_at);
CREATE INDEX runs_thread ON runs (channel, thread_ts);
CREATE INDEX runs_parent ON runs (parent_outbox_id);
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  run_id TEXT,
  kind TEXT NOT NULL,
  channel TEXT NOT NULL,
  parent_id TEXT,
  target_id TEXT,
  payload TEXT NOT NULL,
  coalesce_key TEXT,
  state TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  attempted INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  ts TEXT,
  error TEXT,
  created_at INTEGER NOT NULL,
  done_at INTEGER
);
CREATE INDEX outbox_pending ON outbox (state, next_at);
CREATE INDEX outbox_coalesce ON outbox (coalesce_key, state);
CREATE TABLE feedback (
  run_id TEXT NOT NULL,
  user TEXT NOT NULL,
  answer TEXT NOT NULL,
  causes TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (run_id, user)
);
CREATE TABLE actions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  user TEXT NOT NULL,
  action TEXT NOT NULL,
  at INTEGER NOT NULL,
  detail TEXT
);
CREATE INDEX actions_run ON actions (run_id);
`,
  },
];
