/** @module The Store interface: everything the gateway keeps. Backends (sqlite/, later redis/) implement it
 *  with atomic transitions; the core imports only this file. All methods return Promises and throw Errors. */

export type ServerState = 'stopped' | 'pending' | 'running' | 'stopping';

export interface ServerKey { user: string; server: string }          // server '' is the default server

export interface User {
  name: string;
  admin: boolean;
  passwordHash: string | null;
  created: string;                 // ISO 8601
  lastActivity: string | null;
}

export interface Token {
  id: string;
  user: string;
  hash: string;                    // sha256 of the secret; the secret itself is never stored
  prefix: string;                  // first characters, to tell tokens apart in lists
  scopes: string[];
  note: string;
  created: string;
  expiresAt: string | null;
  lastActivity: string | null;
}

export interface Session { id: string; user: string; created: string; expiresAt: string }

/** A JupyterHub group: members (user names, sorted) and free-form properties (JupyterHub 3). */
export interface Group { name: string; users: string[]; properties: Record<string, unknown> }

export interface ServerRecord extends ServerKey {
  state: ServerState;
  profile: string;
  url: string | null;              // backend origin, e.g. http://127.0.0.1:40123
  token: string;                   // the server's API token: sent on every proxied request, survives restarts
  handle: Record<string, unknown>; // spawner's opaque state (pid, start time, account …)
  started: string | null;
  lastActivity: string | null;
  userOptions: Record<string, unknown>;
}

export interface SpawnEvent { ts: string; progress: number; message: string; failed?: boolean; ready?: boolean }

export interface ActivityUpdate extends ServerKey { at: number }    // epoch ms

export interface Store {
  users: {
    get(name: string): Promise<User | null>;
    list(): Promise<User[]>;
    /** Insert; false when the name exists. */
    add(u: User): Promise<boolean>;
    update(name: string, patch: Partial<Pick<User, 'admin' | 'passwordHash'>>): Promise<void>;
    /** Removes the user with their tokens, sessions, servers, events and group memberships: a re-created name
     *  inherits nothing. */
    remove(name: string): Promise<boolean>;
    count(): Promise<number>;
  };
  tokens: {
    findByHash(hash: string): Promise<Token | null>;
    list(user: string): Promise<Token[]>;
    add(t: Token): Promise<void>;
    revoke(id: string): Promise<boolean>;
    touch(id: string, at: string): Promise<void>;
  };
  groups: {
    /** Every group with its members, by name. */
    list(): Promise<Group[]>;
    get(name: string): Promise<Group | null>;
    /** Insert with members (who must exist); false when the name exists. */
    add(name: string, users: string[]): Promise<boolean>;
    remove(name: string): Promise<boolean>;
    /** Adds and removes members; names already (or not) there are skipped. */
    addUsers(name: string, users: string[]): Promise<void>;
    removeUsers(name: string, users: string[]): Promise<void>;
    setProperties(name: string, properties: Record<string, unknown>): Promise<void>;
  };
  sessions: {
    get(id: string): Promise<Session | null>;
    add(s: Session): Promise<void>;
    revoke(id: string): Promise<void>;
    revokeUser(user: string): Promise<string[]>;   // returns the revoked ids, so caches can drop them
  };
  servers: {
    get(key: ServerKey): Promise<ServerRecord | null>;
    list(q?: { user?: string; state?: ServerState }): Promise<ServerRecord[]>;
    /** Create in state 'stopped' unless present. */
    ensure(rec: ServerRecord): Promise<void>;
    /** Compare-and-set: applies only if the record is in one of `from`; returns whether it did. */
    transition(key: ServerKey, from: ServerState[], to: ServerState, patch?: Partial<ServerRecord>): Promise<boolean>;
    remove(key: ServerKey): Promise<void>;
  };
  activity: {
    /** Servers' activity; each also moves its user's. Never moves a time backwards. */
    record(batch: ActivityUpdate[]): Promise<void>;
    /** A user's own activity (JupyterHub's user-level last_activity), not tied to a server. */
    recordUser(user: string, at: number): Promise<void>;
  };
  events: {
    append(key: ServerKey, e: SpawnEvent): Promise<void>;
    tail(key: ServerKey, n: number): Promise<SpawnEvent[]>;
    clear(key: ServerKey): Promise<void>;
  };
  /** Calls `listener` after another process committed a change (the CLI beside a serving gateway), within about
   *  a second; never for this process's own changes. Returns what stops watching. */
  watchOtherWriters(listener: () => void): () => void;
  close(): Promise<void>;
}
