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

MIGRATIONS.push({
  version: 2,
  name: "incidents, their alerts, alert events",
  sql: `
CREATE TABLE incidents (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  channel TEXT,
  state TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  first_starts_at TEXT,
  summary TEXT,
  source TEXT NOT NULL,
  resolved_at INTEGER,
  closed_reason TEXT,
  last_firing_at INTEGER NOT NULL,
  last_run_at INTEGER,
  last_run_id TEXT,
  run_count INTEGER NOT NULL DEFAULT 0,
  pending_run INTEGER NOT NULL DEFAULT 0,
  pending_notice TEXT,
  parent_outbox_id TEXT NOT NULL
);
CREATE UNIQUE INDEX incidents_one_open ON incidents (service) WHERE state = 'open';
CREATE INDEX incidents_pending ON incidents (pending_run, pending_notice);
CREATE TABLE incident_alerts (
  incident_id TEXT NOT NULL,
  alert_key TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  status TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (incident_id, alert_key, starts_at)
);
CREATE INDEX incident_alerts_key ON incident_alerts (alert_key, starts_at);
CREATE TABLE alert_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  source TEXT NOT NULL,
  status TEXT NOT NULL,
  alert_key TEXT NOT NULL,
  starts_at TEXT,
  ends_at TEXT,
  service TEXT,
  labels TEXT NOT NULL,
  summary TEXT,
  incident_id TEXT,
  outcome TEXT NOT NULL
);
CREATE INDEX alert_events_incident ON alert_events (incident_id, seq);
ALTER TABLE runs ADD COLUMN incident_id TEXT;
ALTER TABLE runs ADD COLUMN post_policy TEXT NOT NULL DEFAULT 'always';
`,
});

MIGRATIONS.push({
  version: 3,
  name: "incident impact and post-incident summary",
  sql: `
ALTER TABLE incidents ADD COLUMN impact TEXT;
ALTER TABLE incidents ADD COLUMN summary_json TEXT;
ALTER TABLE incidents ADD COLUMN summarized_at INTEGER;
CREATE INDEX runs_incident ON runs (incident_id, created_at);
`,
});

MIGRATIONS.push({
  version: 4,
  name: "one replica's claim on an incident's end-of-incident message",
  sql: `
ALTER TABLE incidents ADD COLUMN notice_claimed_until INTEGER;
`,
});
