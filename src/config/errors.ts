/**
 * A config problem, located: which file, which line (1-based), which key.
 * The message is complete on its own ("wg0.conf:7: ListenPort: expected ...").
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file: string;
  readonly line: number | undefined;
  readonly key: string | undefined;
  /** The message without the file/line/key prefix. */
  readonly detail: string;

  constructor(file: string, line: number | undefined, key: string | undefined, detail: string) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${key !== undefined ? `${key}: ` : ''}${detail}`);
    this.file = file;
    this.line = line;
    this.key = key;
    this.detail = detail;
  }
}
