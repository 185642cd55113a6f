// A reactor in its own process, driven over stdin/stdout with one JSON object per line.
// Imports the BUILT packages (run `npx tsc -b packages/reactor packages/transport-tcp` first).
//
// argv[2]: JSON options { listen: string[], maxInbound?: number, name?: string, echo?: boolean }
// stdout: {"ready": [bound addresses]}, then one line per event:
//   {"event": type, "peer"?, "code"?, "kind"?, "size"?, "text"?, "remote"?}
//   and {"fatal": "..."} on an uncaught exception or unhandled rejection (exit code 70),
//   {"warning": name, "message"} on a process warning (e.g. MaxListenersExceededWarning).
// stdin commands:
//   {"connect": "host:port", "id": n}     -> {"connectResult": n, "peer"?: p, "code"?: c}
//   {"send": peer, "text": "..."}          -> sends one message (UTF-8 text)
//   {"stats": true}                        -> {"stats": {"peers": n}}
//   {"quit": true}                         -> shuts down, prints {"bye": true}, exits 0
import { createInterface } from 'node:readline';
import { lengthPrefixed } from '@peerlink/codec';
import { Reactor } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';

const options = JSON.parse(process.argv[2] ?? '{}');
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
process.on('uncaughtException', (e) => {
  out({ fatal: String(e?.stack ?? e) });
  process.exit(70);
});
process.on('unhandledRejection', (e) => {
  out({ fatal: String(e?.stack ?? e) });
  process.exit(70);
});
process.on('warning', (w) => out({ warning: w.name, message: w.message }));

const codec = lengthPrefixed({ maxSize: 65536 });
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const reactor = new Reactor({
  codec,
  transport: tcpTransport(),
  ...(options.maxInbound ? { maxInbound: options.maxInbound } : {}),
  name: options.name ?? 'child',
});
reactor.onEvent((e) => {
  switch (e.type) {
    case 'message': {
      const text = decoder.decode(e.message);
      // With `echo`, a message starting with "echo:" goes back to its sender at once.
      if (options.echo && text.startsWith('echo:')) reactor.send(e.peer, e.message.slice());
      out({ event: 'message', peer: e.peer, size: e.size, text });
      break;
    }
    case 'disconnected':
      out({ event: 'disconnected', peer: e.peer, kind: e.reason.kind, code: e.reason.error?.code });
      break;
    case 'listen-error':
      out({ event: 'listen-error', code: e.error.code, address: e.address });
      break;
    case 'connect-failed':
      out({ event: 'connect-failed', target: e.target, code: e.error.code });
      break;
    case 'accepted':
    case 'connected':
      out({ event: e.type, peer: e.peer, remote: e.remoteAddress, local: e.localAddress });
      break;
    default:
      out({ event: e.type, peer: e.peer });
  }
});
const bound = await reactor.listen(options.listen ?? ['127.0.0.1:0']);
out({ ready: bound });

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const cmd = JSON.parse(line);
  if (cmd.connect !== undefined) {
    try {
      const peer = await reactor.connect(cmd.connect);
      out({ connectResult: cmd.id, peer });
    } catch (error) {
      out({ connectResult: cmd.id, code: error.code });
    }
  } else if (cmd.send !== undefined) {
    reactor.send(cmd.send, encoder.encode(cmd.text));
  } else if (cmd.stats) {
    out({ stats: { peers: reactor.peerCount } });
  } else if (cmd.quit) {
    rl.close();
    process.stdin.destroy();
    await reactor.shutdown({ flushTimeout: 500 });
    // Whatever is still active now would keep the process alive: the parent checks it exits.
    out({ bye: true, resources: process.getActiveResourcesInfo() });
  }
});
