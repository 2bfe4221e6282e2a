/** @module Schema migrations for the SQLite store, applied in order inside one transaction each;
 *  `PRAGMA user_version` records how far a database got. Append only: never edit a shipped step. */
export const MIGRATIONS: string[] = [
  `CREATE TABLE users (
     name TEXT PRIMARY KEY, admin INTEGER NOT NULL DEFAULT 0, password_hash TEXT,
     created TEXT NOT NULL, last_activity TEXT);
   CREATE TABLE groups (name TEXT PRIMARY KEY);
   CREATE TABLE group_members (grp TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,
     user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, PRIMARY KEY (grp, user));
   CREATE TABLE tokens (
     id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, scopes TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
     created TEXT NOT NULL, expires_at TEXT, last_activity TEXT);
   CREATE TABLE sessions (
     id TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
     created TEXT NOT NULL, expires_at TEXT NOT NULL);
   CREATE TABLE servers (
     user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE, name TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('stopped','pending','running','stopping')),
     profile TEXT NOT NULL, url TEXT, token TEXT NOT NULL, handle TEXT NOT NULL DEFAULT '{}',
     started TEXT, last_activity TEXT, user_options TEXT NOT NULL DEFAULT '{}',
     PRIMARY KEY (user, name));
   CREATE TABLE spawn_events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, server TEXT NOT NULL, event TEXT NOT NULL,
     FOREIGN KEY (user) REFERENCES users(name) ON DELETE CASCADE);
   CREATE INDEX spawn_events_by_server ON spawn_events (user, server, seq);`,
  // JupyterHub 3's group properties.
  `ALTER TABLE groups ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';`,
];
