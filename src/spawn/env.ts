/** @module JupyterHub's single-user environment (jupyterhub/spawner.py get_env), so stock images and
 *  `jupyterhub-singleuser` work unchanged. Built from nothing: the gateway's own environment holds admin
 *  credentials and must never leak into a user's server. */
import type { ServerKey } from '../store/store.ts';

export function singleUserEnv(opts: { key: ServerKey; token: string; prefix: string; backendUrl?: string; hubApiUrl: string }): Record<string, string> {
  const { key, token, prefix, hubApiUrl } = opts;
  const clientId = `jupyterhub-user-${key.user}${key.server ? `-${key.server}` : ''}`;
  return {
    JUPYTERHUB_API_TOKEN: token,
    JPY_API_TOKEN: token,
    JUPYTER_TOKEN: token,
    JUPYTERHUB_CLIENT_ID: clientId,
    JUPYTERHUB_USER: key.user,
    JUPYTERHUB_SERVER_NAME: key.server,
    JUPYTERHUB_API_URL: hubApiUrl,
    JUPYTERHUB_ACTIVITY_URL: `${hubApiUrl}/users/${key.user}/activity`,
    JUPYTERHUB_BASE_URL: '/',
    JUPYTERHUB_SERVICE_PREFIX: prefix,
    JUPYTERHUB_OAUTH_CALLBACK_URL: `${prefix}oauth_callback`,
    ...(opts.backendUrl ? { JUPYTERHUB_SERVICE_URL: `${opts.backendUrl}${prefix}` } : {}),
  };
}
