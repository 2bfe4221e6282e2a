/** @module The embedded Store on Node's built-in node:sqlite: WAL journal, foreign keys, migrations.
 *  Each call is one statement or one transaction, so a kill -9 at any moment keeps every committed change. */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { ActivityUpdate, Group, ServerKey, ServerRecord, ServerState, Session, SpawnEvent, Store, Token, User } from '../store.ts';
import { MIGRATIONS } from './migrations.ts';

type Row = Record<string, unknown>;

export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();

  constructor(file: string) {
    this.#db = new DatabaseSync(file);
    this.#db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
    this.#migrate();
  }

  #migrate(): void {
    const version = Number((this.#db.prepare('PRAGMA user_version').get() as Row).user_version);
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.#tx(() => {
        this.#db.exec(MIGRATIONS[v]);
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }

  #tx<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  #q(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) { s = this.#db.prepare(sql); this.#stmts.set(sql, s); }
    return s;
  }

  users = {
    get: async (name: string) => toUser(this.#q('SELECT * FROM users WHERE name = ?').get(name) as Row | undefined),
    list: async () => (this.#q('SELECT * FROM users ORDER BY name').all() as Row[]).map((r) => toUser(r)!),
    add: async (u: User) => this.#q(`INSERT INTO users (name, admin, password_hash, created, last_activity)
        VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`)
      .run(u.name, u.admin ? 1 : 0, u.passwordHash, u.created, u.lastActivity).changes === 1,
    update: async (name: string, patch: Partial<Pick<User, 'admin' | 'passwordHash'>>) => {
      if (patch.admin !== undefined) this.#q('UPDATE users SET admin = ? WHERE name = ?').run(patch.admin ? 1 : 0, name);
      if (patch.passwordHash !== undefined) this.#q('UPDATE users SET password_hash = ? WHERE name = ?').run(patch.passwordHash, name);
    },
    remove: async (name: string) => this.#tx(() => {
      this.#q('DELETE FROM spawn_events WHERE user = ?').run(name);
      return this.#q('DELETE FROM users WHERE name = ?').run(name).changes === 1;
    }),
    count: async () => Number((this.#q('SELECT count(*) AS n FROM users').get() as Row).n),
  };

  tokens = {
    findByHash: async (hash: string) => toToken(this.#q('SELECT * FROM tokens WHERE hash = ?').get(hash) as Row | undefined),
    list: async (user: string) => (this.#q('SELECT * FROM tokens WHERE user = ? ORDER BY created').all(user) as Row[]).map((r) => toToken(r)!),
    add: async (t: Token) => {
      this.#q(`INSERT INTO tokens (id, user, hash, prefix, scopes, note, created, expires_at, last_activity)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(t.id, t.user, t.hash, t.prefix, JSON.stringify(t.scopes), t.note,
        t.created, t.expiresAt, t.lastActivity);
    },
    revoke: async (id: string) => this.#q('DELETE FROM tokens WHERE id = ?').run(id).changes === 1,
    touch: async (id: string, at: string) => { this.#q('UPDATE tokens SET last_activity = ? WHERE id = ?').run(at, id); },
  };

  groups = {
    list: async () => {
      const members = new Map<string, string[]>();
      for (const r of this.#q('SELECT grp, user FROM group_members ORDER BY grp, user').all() as Row[]) {
        const list = members.get(String(r.grp)) ?? [];
        list.push(String(r.user));
        members.set(String(r.grp), list);
      }
      return (this.#q('SELECT * FROM groups ORDER BY name').all() as Row[]).map((r) => toGroup(r, members.get(String(r.name)) ?? []));
    },
    get: async (name: string) => {
      const r = this.#q('SELECT * FROM groups WHERE name = ?').get(name) as Row | undefined;
      if (!r) return null;
      return toGroup(r, (this.#q('SELECT user FROM group_members WHERE grp = ? ORDER BY user').all(name) as Row[]).map((m) => String(m.user)));
    },
    add: async (name: string, users: string[]) => this.#tx(() => {
      if (this.#q('INSERT INTO groups (name) VALUES (?) ON CONFLICT (name) DO NOTHING').run(name).changes !== 1) return false;
      const ins = this.#q('INSERT INTO group_members (grp, user) VALUES (?, ?) ON CONFLICT DO NOTHING');
      for (const u of users) ins.run(name, u);
      return true;
    }),
    remove: async (name: string) => this.#q('DELETE FROM groups WHERE name = ?').run(name).changes === 1,
    addUsers: async (name: string, users: string[]) => this.#tx(() => {
      const ins = this.#q('INSERT INTO group_members (grp, user) VALUES (?, ?) ON CONFLICT DO NOTHING');
      for (const u of users) ins.run(name, u);
    }),
    removeUsers: async (name: string, users: string[]) => this.#tx(() => {
      const del = this.#q('DELETE FROM group_members WHERE grp = ? AND user = ?');
      for (const u of users) del.run(name, u);
    }),
    setProperties: async (name: string, properties: Record<string, unknown>) => {
      this.#q('UPDATE groups SET properties = ? WHERE name = ?').run(JSON.stringify(properties), name);
    },
  };

  sessions = {
    get: async (id: string) => {
      const r = this.#q('SELECT * FROM sessions WHERE id = ?').get(id) as Row | undefined;
      return r ? { id: String(r.id), user: String(r.user), created: String(r.created), expiresAt: String(r.expires_at) } : null;
    },
    add: async (s: Session) => { this.#q('INSERT INTO sessions (id, user, created, expires_at) VALUES (?, ?, ?, ?)').run(s.id, s.user, s.created, s.expiresAt); },
    revoke: async (id: string) => { this.#q('DELETE FROM sessions WHERE id = ?').run(id); },
    revokeUser: async (user: string) => this.#tx(() => {
      const ids = (this.#q('SELECT id FROM sessions WHERE user = ?').all(user) as Row[]).map((r) => String(r.id));
      this.#q('DELETE FROM sessions WHERE user = ?').run(user);
      return ids;
    }),
  };

  servers = {
    get: async (k: ServerKey) => toServer(this.#q('SELECT * FROM servers WHERE user = ? AND name = ?').get(k.user, k.server) as Row | undefined),
    list: async (q: { user?: string; state?: ServerState } = {}) =>
      (this.#q(`SELECT * FROM servers WHERE (?1 IS NULL OR user = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY user, name`)
        .all(q.user ?? null, q.state ?? null) as Row[]).map((r) => toServer(r)!),
    ensure: async (s: ServerRecord) => {
      this.#q(`INSERT INTO servers (user, name, state, profile, url, token, handle, started, last_activity, user_options)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user, name) DO NOTHING`).run(s.user, s.server, s.state, s.profile,
        s.url, s.token, JSON.stringify(s.handle), s.started, s.lastActivity, JSON.stringify(s.userOptions));
    },
    transition: async (k: ServerKey, from: ServerState[], to: ServerState, patch: Partial<ServerRecord> = {}) => {
      const sets = ['state = ?'];
      const values: (string | null)[] = [to];
      for (const [field, column] of PATCHABLE) {
        if (!(field in patch)) continue;
        const v = patch[field];
        sets.push(`${column} = ?`);
        values.push(v === null || v === undefined ? null : typeof v === 'object' ? JSON.stringify(v) : String(v));
      }
      const sql = `UPDATE servers SET ${sets.join(', ')} WHERE user = ? AND name = ? AND state IN (${from.map(() => '?').join(',')})`;
      return this.#q(sql).run(...values, k.user, k.server, ...from).changes === 1;
    },
    remove: async (k: ServerKey) => { this.#q('DELETE FROM servers WHERE user = ? AND name = ?').run(k.user, k.server); },
  };

  activity = {
    record: async (batch: ActivityUpdate[]) => {
      if (!batch.length) return;
      this.#tx(() => {
        const srv = this.#q(`UPDATE servers SET last_activity = ?1 WHERE user = ?2 AND name = ?3
          AND (last_activity IS NULL OR last_activity < ?1)`);
        const usr = this.#q(USER_ACTIVITY);
        for (const a of batch) {
          const iso = new Date(a.at).toISOString();
          srv.run(iso, a.user, a.server);
          usr.run(iso, a.user);
        }
      });
    },
    recordUser: async (user: string, at: number) => {
      this.#q(USER_ACTIVITY).run(new Date(at).toISOString(), user);
    },
  };

  events = {
    append: async (k: ServerKey, e: SpawnEvent) => {
      this.#q('INSERT INTO spawn_events (user, server, event) VALUES (?, ?, ?)').run(k.user, k.server, JSON.stringify(e));
    },
    tail: async (k: ServerKey, n: number) => (this.#q(`SELECT event FROM (SELECT seq, event FROM spawn_events
        WHERE user = ? AND server = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq`).all(k.user, k.server, n) as Row[])
      .map((r) => JSON.parse(String(r.event)) as SpawnEvent),
    clear: async (k: ServerKey) => { this.#q('DELETE FROM spawn_events WHERE user = ? AND server = ?').run(k.user, k.server); },
  };

  // SQLite's data_version changes, for this connection, exactly when another connection has committed.
  watchOtherWriters(listener: () => void): () => void {
    const version = () => Number((this.#q('PRAGMA data_version').get() as Row).data_version);
    let seen = version();
    const timer = setInterval(() => {
      const now = version();
      if (now !== seen) { seen = now; listener(); }
    }, 1000).unref();
    return () => clearInterval(timer);
  }

  async close(): Promise<void> { this.#db.close(); }
}

// A user's latest activity: never moved backwards.
const USER_ACTIVITY = 'UPDATE users SET last_activity = ?1 WHERE name = ?2 AND (last_activity IS NULL OR last_activity < ?1)';
const PATCHABLE: [keyof ServerRecord, string][] = [
  ['profile', 'profile'], ['url', 'url'], ['token', 'token'], ['handle', 'handle'], ['started', 'started'],
  ['lastActivity', 'last_activity'], ['userOptions', 'user_options'],
];

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

function toUser(r: Row | undefined): User | null {
  return r ? { name: String(r.name), admin: r.admin === 1, passwordHash: str(r.password_hash), created: String(r.created), lastActivity: str(r.last_activity) } : null;
}

function toGroup(r: Row, users: string[]): Group {
  return { name: String(r.name), users, properties: JSON.parse(String(r.properties)) };
}

function toToken(r: Row | undefined): Token | null {
  return r ? {
    id: String(r.id), user: String(r.user), hash: String(r.hash), prefix: String(r.prefix), scopes: JSON.parse(String(r.scopes)),
    note: String(r.note), created: String(r.created), expiresAt: str(r.expires_at), lastActivity: str(r.last_activity),
  } : null;
}

function toServer(r: Row | undefined): ServerRecord | null {
  return r ? {
    user: String(r.user), server: String(r.name), state: r.state as ServerState, profile: String(r.profile), url: str(r.url),
    token: String(r.token), handle: JSON.parse(String(r.handle)), started: str(r.started), lastActivity: str(r.last_activity),
    userOptions: JSON.parse(String(r.user_options)),
  } : null;
}
