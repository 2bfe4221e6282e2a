/** @module undici, loaded when the first server needs it (a readiness probe or a route), not at start. It is
 *  the largest library the gateway uses (about 1 MB of code, 60–100 ms of a cold start on this kind of machine),
 *  and a gateway with no server running needs none of it to log users in and start their servers. A restart
 *  that adopts running servers loads it before listening, as their routes need it. */
type Undici = typeof import('undici');

let loading: Promise<Undici> | undefined;

export const loadUndici = (): Promise<Undici> => (loading ??= import('undici'));
