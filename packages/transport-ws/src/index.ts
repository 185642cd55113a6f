export {
  closeError,
  END_MARKER,
  RESET_CLOSE_CODE,
  WsCloseError,
  type WsErrorCode,
  WsErrorCodes,
} from './errors.js';
export { type NodeWebSocketTransportOptions, webSocketTransport } from './node.js';
export type { WebSocketTransportOptions } from './options.js';
