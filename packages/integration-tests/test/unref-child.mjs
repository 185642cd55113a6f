// A listening node for unref.test.ts: `unref` lets the process exit while it listens; `ref` keeps
// it alive until an unref'd 200 ms timer says so ('alive') and then unrefs.
import { lengthPrefixed } from '@peerlink/codec';
import { Reactor } from '@peerlink/reactor';
import { tcpTransport } from '@peerlink/transport-tcp';

const reactor = new Reactor({
  codec: lengthPrefixed({ maxSize: 1024 }),
  transport: tcpTransport(),
});
const [address] = await reactor.listen('127.0.0.1:0');
console.log(`listening ${address}`);
if (process.argv[2] === 'unref') {
  reactor.unref();
} else {
  setTimeout(() => {
    console.log('alive');
    reactor.unref();
  }, 200).unref();
}
