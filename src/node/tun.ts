/**
 * A Linux TUN interface through the native addon: packets come in batches
 * (one callback per batch, each packet a view valid only during the call),
 * go out with write(). 'closed' fires once, when the interface is deleted
 * (the kernel fails our reads) or close() is called.
 */
import { EventEmitter } from 'node:events';
import { nativeOrWarn, type NativeTun } from './native.js';

export interface TunOptions {
  /** Interface name to create or attach to (ignored with fd). */
  name?: string;
  /** An already open TUN descriptor to adopt (WG_TUN_FD). */
  fd?: number;
  /** Packets per read batch (default 128). */
  batch?: number;
  multiQueue?: boolean;
}

export interface TunStats {
  readPackets: number;
  readBatches: number;
  written: number;
  /** Writes the kernel refused (queue full, interface down). */
  writeDropped: number;
}

export type TunBatchHandler = (packets: TunBatch) => void;

/** A read batch: packet(i) is a view into the shared read buffer, valid only during the handler. */
export interface TunBatch {
  readonly count: number;
  packet(i: number): Uint8Array;
}

export class TunDevice extends EventEmitter implements TunBatch {
  readonly name: string;
  readonly stats: TunStats = { readPackets: 0, readBatches: 0, written: 0, writeDropped: 0 };
  count = 0;
  private readonly handle: NativeTun;
  private readonly buf: Buffer;
  private readonly meta: Int32Array;
  private open = true;

  constructor(opts: TunOptions) {
    super();
    const addon = nativeOrWarn();
    if (!addon?.Tun) throw new Error('kernel TUN mode needs the native addon, which is unavailable');
    const batch = opts.batch ?? 128;
    // Room for `batch` MTU-sized packets plus one maximal packet.
    this.buf = Buffer.allocUnsafe(Math.max(batch * 2048, 0) + 65536);
    this.meta = new Int32Array(batch * 2);
    const target = opts.fd !== undefined ? opts.fd : opts.name;
    if (target === undefined) throw new Error('TunDevice needs a name or an fd');
    this.handle = new addon.Tun(target, this.buf, this.meta, opts.multiQueue ?? false);
    this.name = this.handle.name;
  }

  get fd(): number {
    return this.handle.fd;
  }

  packet(i: number): Uint8Array {
    // A plain view, not Buffer#subarray (which goes through the species constructor): less
    // work on each packet's path, which matters most for a lone packet on a cold cache.
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.meta[2 * i]!, this.meta[2 * i + 1]!);
  }

  /** Starts reading; handler gets each batch. */
  start(handler: TunBatchHandler): void {
    this.handle.start(
      (count) => {
        this.count = count;
        this.stats.readBatches++;
        this.stats.readPackets += count;
        handler(this);
      },
      (errno, message) => this.finish(errno, message),
    );
  }

  /** Writes one IP packet; a full kernel queue drops it (counted), never blocks. */
  write(packet: Uint8Array): boolean {
    if (!this.open) {
      this.stats.writeDropped++;
      return false;
    }
    const n = this.handle.write(packet);
    if (n < 0) {
      this.stats.writeDropped++;
      // EIO/EBADFD on write: the interface is gone.
      if (n === -5 || n === -77) this.finish(-n, 'interface deleted');
      return false;
    }
    this.stats.written++;
    return true;
  }

  get mtu(): number {
    return this.handle.getMtu();
  }

  set mtu(value: number) {
    this.handle.setMtu(value);
  }

  close(): void {
    this.finish(0, 'closed');
  }

  private finish(errno: number, message: string): void {
    if (!this.open) return;
    this.open = false;
    this.handle.close();
    this.emit('closed', { errno, message });
  }
}
