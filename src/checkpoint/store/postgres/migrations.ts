/**
 * The schema, one numbered step at a time. A step is applied once, in order, in its own transaction,
 * and recorded in checkpoint_migrations; a released step never changes (add a new one instead).
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'documents, folders, history and session locks',
    sql: `
CREATE TABLE checkpoint_folders (
  path text PRIMARY KEY,
  parent text NOT NULL,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX checkpoint_folders_parent ON checkpoint_folders (parent, name);

CREATE TABLE checkpoint_documents (
  path text PRIMARY KEY,
  parent text NOT NULL,
  name text NOT NULL,
  -- The document's bytes as written: text columns cannot hold U+0000, and an agent's output may.
  body bytea NOT NULL,
  write_id uuid NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The number of the newest kept version: read with the row's lock, so two writers never share one.
  versions integer NOT NULL DEFAULT 0
);
CREATE INDEX checkpoint_documents_parent ON checkpoint_documents (parent, name);

CREATE TABLE checkpoint_history (
  path text NOT NULL,
  parent text NOT NULL,
  version integer NOT NULL CHECK (version >= 1),
  body bytea NOT NULL,
  saved_at timestamptz NOT NULL,
  PRIMARY KEY (path, version)
);
CREATE INDEX checkpoint_history_parent ON checkpoint_history (parent);

CREATE TABLE checkpoint_locks (path text PRIMARY KEY);

-- lz4 where the server has it (PostgreSQL 14 and later, built with lz4): a fraction of pglz's CPU.
DO $$
BEGIN
  ALTER TABLE checkpoint_documents ALTER COLUMN body SET COMPRESSION lz4;
  ALTER TABLE checkpoint_history ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN others THEN
  RAISE NOTICE 'lz4 column compression is not available; bodies use the default';
END $$;
`,
  },
];

export const LATEST_VERSION = Math.max(...MIGRATIONS.map((migration) => migration.version));
