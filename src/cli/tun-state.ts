/**
 * The record of what `wgts up --mode tun` applied to the system, kept next to
 * the pid file (/var/run/wireguard/IFACE.state.json) and rewritten (atomically)
 * after each step, so that `down` can undo it even after the endpoint died.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEM_SOCKET_DIR } from '../node/uapi-client.js';
import type { AppliedState } from './tun-plan.js';

export interface TunState extends AppliedState {
  version: 1;
  mode: 'tun';
  /** The `wgts up` process. */
  pid: number;
  /** The wireguard-ts child that owns the TUN device. */
  daemonPid?: number;
  /** Absolute config path (for SaveConfig). */
  configPath: string;
  /** Raw hooks from the config (expanded with %i when run). */
  preDown: string[];
  postDown: string[];
  saveConfig: boolean;
  /** Set once the whole up sequence has completed. */
  complete: boolean;
}

export function statePath(iface: string, dir = SYSTEM_SOCKET_DIR): string {
  return join(dir, `${iface}.state.json`);
}

export function pidPath(iface: string, dir = SYSTEM_SOCKET_DIR): string {
  return join(dir, `${iface}.pid`);
}

/** Writes `text` to `path` through a temp file + fsync + rename, mode 0600. */
export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function writeState(s: TunState, dir?: string): void {
  writeFileAtomic(statePath(s.iface, dir), JSON.stringify(s, null, 1) + '\n');
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** The state for IFACE, or null if absent or not one of ours (malformed files are ignored). */
export function readState(iface: string, dir?: string): TunState | null {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(statePath(iface, dir), 'utf8'));
  } catch {
    return null;
  }
  const s = raw as Partial<TunState>;
  if (!s || s.version !== 1 || s.mode !== 'tun' || s.iface !== iface || typeof s.pid !== 'number' || typeof s.configPath !== 'string') return null;
  if (!isStringArray(s.preDown) || !isStringArray(s.postDown) || !Array.isArray(s.rules) || !Array.isArray(s.firewall)) return null;
  if ((s.dnsName !== undefined && typeof s.dnsName !== 'string') || (s.daemonPid !== undefined && !Number.isInteger(s.daemonPid))) return null;
  for (const r of s.rules) if (!r || (r.family !== 4 && r.family !== 6) || !isStringArray(r.spec)) return null;
  for (const f of s.firewall) {
    const u = f?.undo;
    if (!u || u.kind !== 'cmd' || !isStringArray(u.argv) || (u.stdin !== undefined && typeof u.stdin !== 'string')) return null;
  }
  return s as TunState;
}

export function removeState(iface: string, dir?: string): void {
  rmSync(statePath(iface, dir), { force: true });
}

/** True while `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/PID/stat: "pid (comm) S ..." — the state letter follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}
