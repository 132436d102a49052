/**
 * wg-quick warns when a config file (or its directory) is accessible to others,
 * since it holds a private key. We warn the same way, when a PrivateKey is present.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The warning to print, or null. wg-quick's rule: the file's and the directory's
 * "other" permission bits must both be non-zero for the warning ("world accessible").
 * We are a little stricter: warn when the file itself is readable by group or others.
 */
export function configPermissionWarning(path: string, hasPrivateKey: boolean): string | null {
  if (!hasPrivateKey) return null;
  try {
    const abs = resolve(path);
    const fileMode = statSync(abs).mode;
    const dirMode = statSync(dirname(abs)).mode;
    if ((fileMode & dirMode & 0o007) !== 0) return `Warning: \`${abs}' is world accessible`;
    if ((fileMode & 0o077) !== 0) return `Warning: \`${abs}' holds a private key and is readable by group or others (chmod 600 it)`;
  } catch {
    return null;
  }
  return null;
}
