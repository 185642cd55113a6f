export {
  BROWSER_LOCAL_ADDRESS,
  type BrowserWebSocketTransportOptions,
  webSocketTransport,
} from './browser-transport.js';
export {
  closeError,
  END_MARKER,
  RESET_CLOSE_CODE,
  WsCloseError,
  type WsErrorCode,
  WsErrorCodes,
} from './errors.js';
export type { WebSocketTransportOptions } from './options.js';
