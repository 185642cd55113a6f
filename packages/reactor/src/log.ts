/**
 * A logger the reactor can write to: any object with these four methods (pino, console, ...).
 * Each call gets a structured record and a message, pino-style.
 */
export interface Logger {
  debug(record: object, message: string): void;
  info(record: object, message: string): void;
  warn(record: object, message: string): void;
  error(record: object, message: string): void;
}

type DebugLog = ((message: string, ...args: unknown[]) => void) & { enabled: boolean };

/**
 * Node's `util.debuglog('peerlink')` (on with `NODE_DEBUG=peerlink`), reached through
 * `process.getBuiltinModule` rather than an import of `node:util`, so that the reactor bundles
 * for browsers; there (no `process`) it is `undefined`, and a `logger` is the way to log.
 */
function nodeDebugLog(): DebugLog | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const util = proc?.getBuiltinModule?.('node:util') as
    | { debuglog(section: string): DebugLog }
    | undefined;
  return util?.debuglog('peerlink');
}

/** Where reactor diagnostics go; a no-op unless `NODE_DEBUG=peerlink` or a logger is given. */
export class Log {
  /** Whether debug records are wanted at all (checked before building one). */
  readonly enabled: boolean;
  private readonly logger: Logger | undefined;
  private readonly prefix: string;
  private readonly debug: ((message: string, ...args: unknown[]) => void) | undefined;

  constructor(logger: Logger | undefined, name: string | undefined) {
    this.logger = logger;
    this.prefix = name === undefined ? '' : `[${name}] `;
    const d = nodeDebugLog();
    this.debug = d?.enabled === true ? d : undefined;
    this.enabled = logger !== undefined || this.debug !== undefined;
  }

  /** Writes one record at `level`. Callers check {@link enabled} first on hot-ish paths. */
  write(level: keyof Logger, record: Record<string, unknown>, message: string): void {
    if (this.logger !== undefined) this.logger[level](record, this.prefix + message);
    if (this.debug !== undefined) this.debug('%s%s %j', this.prefix, message, record);
  }
}
