/**
 * `wg-quick strip` semantics: print the config as written, minus the keys only
 * wg-quick understands (in [Interface]) and minus the wgts-only sections, so the
 * result is what `wg setconf` accepts. Comments and layout of the kept lines stay.
 */

const WG_QUICK_KEYS = new Set(['address', 'dns', 'mtu', 'table', 'preup', 'postup', 'predown', 'postdown', 'saveconfig']);
const WG_SECTIONS = new Set(['[interface]', '[peer]']);

export function stripConfig(text: string): string {
  const lines = text.split('\n');
  // A trailing newline produces one empty last element; don't print an extra line for it.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let section: 'interface' | 'peer' | 'other' | 'none' = 'none';
  const out: string[] = [];
  for (const orig of lines) {
    const raw = orig.endsWith('\r') ? orig.slice(0, -1) : orig;
    const hash = raw.indexOf('#');
    const stripped = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    const eq = stripped.indexOf('=');
    const key = (eq === -1 ? stripped : stripped.slice(0, eq)).trim();
    if (key.startsWith('[')) {
      const name = key.replace(/\s+/g, '').toLowerCase();
      section = WG_SECTIONS.has(name) ? (name === '[interface]' ? 'interface' : 'peer') : 'other';
    }
    if (section === 'other') continue;
    if (section === 'interface' && eq !== -1 && WG_QUICK_KEYS.has(key.replace(/\s+/g, '').toLowerCase())) continue;
    out.push(orig);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/** A line that `stripConfig` would drop: what `wg setconf` rejects. */
export interface StrippedLine {
  line: number;
  /** The key, or the section header for a wgts section. */
  key: string;
}

/** The first line that is not plain wg(8) config, or null (for setconf's error message). */
export function firstNonWgLine(text: string): StrippedLine | null {
  const lines = text.split('\n');
  let section: 'wg' | 'other' | 'none' = 'none';
  let interfaceSection = false;
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i]!;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const hash = raw.indexOf('#');
    const stripped = (hash === -1 ? raw : raw.slice(0, hash)).trim();
    if (stripped === '') continue;
    const eq = stripped.indexOf('=');
    const key = (eq === -1 ? stripped : stripped.slice(0, eq)).trim();
    if (key.startsWith('[')) {
      const name = key.replace(/\s+/g, '').toLowerCase();
      section = WG_SECTIONS.has(name) ? 'wg' : 'other';
      interfaceSection = name === '[interface]';
      if (section === 'other') return { line: i + 1, key };
      continue;
    }
    if (interfaceSection && eq !== -1 && WG_QUICK_KEYS.has(key.replace(/\s+/g, '').toLowerCase())) return { line: i + 1, key };
  }
  return null;
}
