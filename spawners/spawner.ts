/** @module The Spawner interface: what every backend (local processes now; Kubernetes pods, Slurm jobs later)
 *  must do. The core imports only this file; timers, retries and readiness live in src/spawn/, not here. */
import type { Profile } from '../config/schema.ts';
import type { ServerKey } from '../src/store/store.ts';

export type { ServerKey };

export interface ServerHandle {
  key: ServerKey;
  /** Backend origin the proxy forwards to, e.g. http://127.0.0.1:40123 */
  url: string;
  /** Opaque to the core, kept by the Store, given back to adopt()/poll()/stop() after a restart. */
  state: Record<string, unknown>;
}

export interface StartRequest {
  key: ServerKey;
  profile: Profile;
  /** JupyterHub's single-user environment (JUPYTERHUB_*, JUPYTER_TOKEN): secrets travel here, never in argv. */
  env: Record<string, string>;
  /** Values for the profile's placeholders that only the core knows ({base_url}). */
  baseUrl: string;
  signal: AbortSignal;
}

export type ServerStatus = { running: true } | { running: false; exitCode?: number | null; reason: string };

export interface ProgressEvent { message: string }

export interface Spawner {
  readonly kind: string;
  /** Whether servers run under per-user accounts (users cannot reach each other). */
  readonly isolated: boolean;
  /** Launch. Resolves once the backend knows where the server will listen (not when it answers: readiness is
   *  the core's job, uniform for all backends). Rejects with a SpawnError. */
  start(req: StartRequest): Promise<ServerHandle>;
  /** Backend events for a launch in flight; ends when start() settles; never throws. */
  progress(key: ServerKey): AsyncIterable<ProgressEvent>;
  /** Cheap liveness check. */
  poll(handle: ServerHandle): Promise<ServerStatus>;
  /** SIGTERM-like, then forced after the grace period; resolves when the server is gone. */
  stop(handle: ServerHandle): Promise<void>;
  /** After a gateway restart: is this stored handle still ours and alive? Returns the live handle or null. */
  adopt(stored: ServerHandle): Promise<ServerHandle | null>;
  /** Who listens at the handle's address: the server's own account, nobody yet, or someone else (then the
   *  token must not be sent: any local account can bind a free port first). */
  listenerOwner(handle: ServerHandle): Promise<'server' | 'none' | 'other'>;
  /** The end of the server's own output, for progress and error pages. */
  logTail(handle: ServerHandle | ServerKey, bytes?: number): Promise<string>;
  /** Optional: calls `onOutput` whenever the server writes output, a hint that its state changed (Jupyter prints
   *  "is running at" as it starts to answer), so readiness is probed then instead of at the next poll. Returns
   *  an unsubscribe function. Backends without it are polled. */
  watchOutput?(handle: ServerHandle, onOutput: () => void): () => void;
  /** Push of exits so a dead server is seen at once, not at the next poll. Returns an unsubscribe function. */
  onStopped(fn: (key: ServerKey, status: ServerStatus) => void): () => void;
  /** The user was deleted and their servers stopped: remove what this backend keeps for them (account, home,
   *  volumes), so a user later created with the same name starts from nothing. */
  removeUser(user: string): Promise<void>;
  close(): Promise<void>;
}
