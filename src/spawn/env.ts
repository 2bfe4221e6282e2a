/** @module JupyterHub's single-user environment (jupyterhub/spawner.py get_env), so stock images and
 *  `jupyterhub-singleuser` work unchanged. Built from nothing: the gateway's own environment holds admin
 *  credentials and must never leak into a user's server. */
import type { ServerKey } from '../store/store.ts';

export function singleUserEnv(opts: { key: ServerKey; token: string; prefix: string; backendUrl?: string; hubApiUrl: string }): Record<string, string> {
  const { key, token, prefix, hubApiUrl } = opts;
  const clientId = `jupyterhub-user-${key.user}${key.server ? `-${key.server}` : ''}`;
  // Whom jupyterhub-singleuser lets in, checked by the server itself against /hub/api/user: a token reaching its
  // port directly (any local account can connect to it) must hold access to this server. Unset, JupyterHub 3's
  // singleuser lets in every hub user and 4's lets in no one.
  const accessScopes = JSON.stringify([`access:servers!server=${key.user}/${key.server}`, `access:servers!user=${key.user}`]);
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
    JUPYTERHUB_OAUTH_ACCESS_SCOPES: accessScopes,
    JUPYTERHUB_OAUTH_SCOPES: accessScopes,            // its name before JupyterHub 3
    JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES: '[]',
    ...(opts.backendUrl ? { JUPYTERHUB_SERVICE_URL: `${opts.backendUrl}${prefix}` } : {}),
  };
}
