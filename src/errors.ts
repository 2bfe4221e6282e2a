/** @module The error catalogue: one class per failure, a stable code, the HTTP status, and a message that says
 *  what happened and what to do. Rendered as JupyterHub's JSON (`{"status", "message"}`) or as an HTML page. */

export class GatewayError extends Error {
  readonly code: string;
  readonly status: number;
  readonly detail?: Record<string, unknown>;
  constructor(code: string, status: number, message: string, detail?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = status;
    this.detail = detail;
  }
}

export const badRequest = (message: string) => new GatewayError('BAD_REQUEST', 400, message);
export const unauthorized = (message = 'authentication required') => new GatewayError('UNAUTHORIZED', 401, message);
export const forbidden = (message: string) => new GatewayError('FORBIDDEN', 403, message);
export const notFound = (message: string) => new GatewayError('NOT_FOUND', 404, message);
export const conflict = (message: string) => new GatewayError('CONFLICT', 409, message);

export class SpawnError extends GatewayError {
  constructor(message: string, detail?: { logTail?: string }, options?: ErrorOptions) {
    super('SPAWN_FAILED', 500, message, detail, options);
  }
}

export class SpawnTimeout extends GatewayError {
  constructor(message: string, detail?: { logTail?: string }) {
    super('SPAWN_TIMEOUT', 504, message, detail);
  }
}

