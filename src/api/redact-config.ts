export const MASK = '***';

/** Setting names whose values are secrets, compared lowercased and without `-`/`_`. */
const SECRET_KEY = /password|passwd|passphrase|token|secret|sasl|credential|apikey|privatekey|accesskey|authorization/;

/** `scheme://user:password@host` — the whole userinfo goes, since tokens often sit in the user part. */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

/** `?token=…`, `&api_key=…` and the like in URLs. */
const SECRET_QUERY = /([?&][^=&#\s]*(?:token|secret|password|passwd|key|signature|sig|credential)[^=&#\s]*=)[^&#\s]*/gi;

function isSecretKey(name: string): boolean {
  return SECRET_KEY.test(name.toLowerCase().replace(/[-_]/g, ''));
}

function maskString(value: string): string {
  return value.replace(URL_USERINFO, `$1${MASK}@`).replace(SECRET_QUERY, `$1${MASK}`);
}

/**
 * A copy of a config (or any JSON value) safe to show: values under secret-looking keys become
 * `***` (null stays null, so "not set" still reads as such), and credentials inside URLs in any
 * string are masked. Generic on purpose, so a setting added later is covered without a list to update.
 */
export function redactSecrets(value: unknown): unknown {
  if (typeof value === 'string') return maskString(value);
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([name, item]) => [
        name,
        isSecretKey(name) && item !== null && item !== undefined ? MASK : redactSecrets(item),
      ]),
    );
  }
  return value;
}
