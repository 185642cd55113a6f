import { invalidArgument } from '@peerlink/stream';
import type { PeerId } from './events.js';
import type { ReactorOptions } from './options.js';

/*
 * Argument type checks of the public entry points: a wrong type is answered with
 * `ERR_INVALID_ARGUMENT` naming the argument, never a bare `TypeError` from deep inside. Values of
 * the right type but out of range are `ERR_INVALID_CONFIG` (options) or the command's own error.
 * The checks of hot commands (`send`, `canSend`) run only on their slow path (no such peer).
 */

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** `value` is a function, or `undefined` when `optional`. */
export function checkFunction(name: string, value: unknown, optional = false): void {
  if (typeof value === 'function' || (optional && value === undefined)) return;
  throw invalidArgument(name, optional ? 'a function or undefined' : 'a function', value);
}

/** `value` is an object (not `null`), or `undefined` when `optional`. */
export function checkObject(name: string, value: unknown, optional = false): void {
  if (isObject(value) || (optional && value === undefined)) return;
  throw invalidArgument(name, optional ? 'an object or undefined' : 'an object', value);
}

/** `value` is a peer id (a number). */
export function checkPeer(value: unknown): asserts value is PeerId {
  if (typeof value !== 'number') throw invalidArgument('peer', 'a peer id (a number)', value);
}

/** The types of every field of the reactor's options (their values are checked where used). */
export function checkReactorOptions(options: unknown): asserts options is ReactorOptions<unknown> {
  checkObject('options', options);
  const o = options as Record<string, unknown>;
  const codec = o.codec;
  if (
    !isObject(codec) ||
    (typeof codec.create !== 'function' &&
      (typeof codec.encode !== 'function' || typeof codec.decode !== 'function'))
  ) {
    throw invalidArgument(
      'options.codec',
      'a codec (encode, decode, maxSize) or a codec factory (create, maxSize)',
      codec,
    );
  }
  const transport = o.transport;
  if (
    !isObject(transport) ||
    typeof transport.listen !== 'function' ||
    typeof transport.connect !== 'function'
  ) {
    throw invalidArgument('options.transport', 'a transport (listen, connect)', transport);
  }
  checkObject('options.config', o.config, true);
  checkFunction('options.acceptGate', o.acceptGate, true);
  checkFunction('options.clock', o.clock, true);
  const logger = o.logger;
  if (
    logger !== undefined &&
    (!isObject(logger) ||
      !['debug', 'info', 'warn', 'error'].every((level) => typeof logger[level] === 'function'))
  ) {
    throw invalidArgument('options.logger', 'a logger (debug, info, warn, error)', logger);
  }
  const timers = o.timers;
  if (
    timers !== undefined &&
    (!isObject(timers) ||
      !['now', 'setTimeout', 'clearTimeout'].every((f) => typeof timers[f] === 'function'))
  ) {
    throw invalidArgument('options.timers', 'timers (now, setTimeout, clearTimeout)', timers);
  }
  if (o.name !== undefined && typeof o.name !== 'string') {
    throw invalidArgument('options.name', 'a string or undefined', o.name);
  }
  for (const flag of ['telemetry', 'trace']) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') {
      throw invalidArgument(`options.${flag}`, 'a boolean or undefined', o[flag]);
    }
  }
}
