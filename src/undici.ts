/** @module undici, loaded after start rather than during it. It is the largest library the gateway uses (about
 *  1 MB of code, 60–100 ms of a cold start on this kind of machine), and a gateway with no server running needs
 *  none of it to answer, log users in and start servers. A restart that adopts running servers loads it before
 *  listening, as their routes need it; otherwise the first probe or route does, or `main.ts` a second after
 *  listening, so that files replaced on disk later (an upgrade under way) are not what a spawn hours later
 *  loads. A failed load is not kept: the next caller tries again. */
type Undici = typeof import('undici');

let loading: Promise<Undici> | undefined;

export function loadUndici(): Promise<Undici> {
  return (loading ??= import('undici').catch((err: unknown) => {
    loading = undefined;
    throw err;
  }));
}
