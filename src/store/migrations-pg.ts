/**
 * The schema of migrations.ts in PostgreSQL's words: the same versions, tables, columns and meaning.
 * Where the SQL differs: BIGINT for millisecond times, BOOLEAN for flags, BYTEA for the bundle, identity
 * columns for SQLite's AUTOINCREMENT and rowid (runs.seq keeps insertion order for ties), "user" quoted,
 * and partial indexes on what the workers scan (claimable runs, pending outbox entries). JSON stays text,
 * exactly as the SQLite rows hold it. Never edit a released one: add the next, in both files.
 */
export const PG_MIGRATIONS: { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "runs, outbox, feedback, actions",
    sql: `
CREATE TABLE runs (
  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  since_ms BIGINT NOT NULL,
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
  lease_until BIGINT,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  duration_ms BIGINT,
  hosts TEXT NOT NULL DEFAULT '[]',
  hosts_failed TEXT NOT NULL DEFAULT '[]',
  verdicts TEXT NOT NULL DEFAULT '[]',
  status TEXT,
  error TEXT,
  diagnosis TEXT,
  bundle BYTEA
);
CREATE INDEX runs_state ON runs (state, created_at);
CREATE INDEX runs_claimable ON runs (created_at) WHERE state IN ('queued', 'running');
CREATE INDEX runs_active ON runs (service, channel, created_at) WHERE state IN ('queued', 'running');
CREATE INDEX runs_thread ON runs (channel, thread_ts);
CREATE INDEX runs_parent ON runs (parent_outbox_id);
CREATE TABLE outbox (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
  attempted BOOLEAN NOT NULL DEFAULT false,
  next_at BIGINT NOT NULL,
  lease_owner TEXT,
  lease_until BIGINT,
  ts TEXT,
  error TEXT,
  created_at BIGINT NOT NULL,
  done_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (next_at, seq) WHERE state = 'pending';
CREATE INDEX outbox_pending_channel ON outbox (channel, seq) WHERE state = 'pending';
CREATE INDEX outbox_coalesce ON outbox (coalesce_key) WHERE state = 'pending';
CREATE INDEX outbox_parent ON outbox (parent_id) WHERE state = 'pending';
CREATE INDEX outbox_target ON outbox (target_id) WHERE state = 'pending';
CREATE TABLE feedback (
  run_id TEXT NOT NULL,
  "user" TEXT NOT NULL,
  answer TEXT NOT NULL,
  causes TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (run_id, "user")
);
CREATE TABLE actions (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id TEXT NOT NULL,
  "user" TEXT NOT NULL,
  action TEXT NOT NULL,
  at BIGINT NOT NULL,
  detail TEXT
);
CREATE INDEX actions_run ON actions (run_id);
`,
  },
  {
    version: 2,
    name: "incidents, their alerts, alert events",
    sql: `
CREATE TABLE incidents (
  id TEXT PRIMARY KEY,
  service TEXT NOT NULL,
  channel TEXT,
  state TEXT NOT NULL,
  opened_at BIGINT NOT NULL,
  first_starts_at TEXT,
  summary TEXT,
  source TEXT NOT NULL,
  resolved_at BIGINT,
  closed_reason TEXT,
  last_firing_at BIGINT NOT NULL,
  last_run_at BIGINT,
  last_run_id TEXT,
  run_count INTEGER NOT NULL DEFAULT 0,
  pending_run BOOLEAN NOT NULL DEFAULT false,
  pending_notice TEXT,
  parent_outbox_id TEXT NOT NULL
);
CREATE UNIQUE INDEX incidents_one_open ON incidents (service) WHERE state = 'open';
CREATE INDEX incidents_pending ON incidents (opened_at) WHERE pending_run OR pending_notice IS NOT NULL;
CREATE TABLE incident_alerts (
  incident_id TEXT NOT NULL,
  alert_key TEXT NOT NULL,
  starts_at TEXT NOT NULL,
  status TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (incident_id, alert_key, starts_at)
);
CREATE INDEX incident_alerts_key ON incident_alerts (alert_key, starts_at);
CREATE TABLE alert_events (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at BIGINT NOT NULL,
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
CREATE INDEX runs_incident_active ON runs (incident_id) WHERE state IN ('queued', 'running');
`,
  },
  {
    version: 3,
    name: "incident impact and post-incident summary",
    sql: `
ALTER TABLE incidents ADD COLUMN impact TEXT;
ALTER TABLE incidents ADD COLUMN summary_json TEXT;
ALTER TABLE incidents ADD COLUMN summarized_at BIGINT;
CREATE INDEX runs_incident ON runs (incident_id, created_at);
`,
  },
  {
    version: 4,
    name: "one replica's claim on an incident's end-of-incident message",
    sql: `
ALTER TABLE incidents ADD COLUMN notice_claimed_until BIGINT;
`,
  },
];
