/**
 * Test certificates, made fresh by the `openssl` CLI in a temporary directory (removed at once):
 * a CA, a server certificate for 127.0.0.1 / ::1 / localhost, a client certificate, an expired
 * server certificate, and a second, untrusted CA with certificates of its own. `undefined` when
 * no `openssl` is installed (the TLS tests then skip, saying so).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM texts of every certificate and key the TLS tests use. */
export interface TestCerts {
  readonly ca: string;
  readonly serverKey: string;
  readonly serverCert: string;
  /**
   * Same key as the server's, expired (made with `-days -1`); `undefined` where this `openssl`
   * refuses a negative validity.
   */
  readonly expiredServerCert: string | undefined;
  readonly clientKey: string;
  readonly clientCert: string;
  /** A client certificate signed by the other CA. */
  readonly strangerClientCert: string;
  /** A server certificate signed by the other CA (same key as the server's). */
  readonly strangerServerCert: string;
  /** A self-signed server certificate (same key as the server's). */
  readonly selfSignedServerCert: string;
  /** For nodes that both listen and dial (mutual TLS): server's key, both usages, signed by the CA. */
  readonly peerCert: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** Whether the `openssl` CLI can be run. */
export async function hasOpenssl(): Promise<boolean> {
  try {
    await run('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
}

/** Makes the certificates, or returns `undefined` without `openssl`. */
export async function makeCerts(): Promise<TestCerts | undefined> {
  if (!(await hasOpenssl())) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'peerlink-tls-'));
  try {
    const key = (name: string) =>
      openssl(dir, [
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-out',
        name,
      ]);
    const ca = (name: string, cn: string) =>
      openssl(dir, [
        'req',
        '-x509',
        '-new',
        '-key',
        `${name}.key`,
        '-subj',
        `/CN=${cn}`,
        '-days',
        '2',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-out',
        `${name}.crt`,
      ]);
    const csr = (name: string, cn: string) =>
      openssl(dir, [
        'req',
        '-new',
        '-key',
        `${name}.key`,
        '-subj',
        `/CN=${cn}`,
        '-out',
        `${name}.csr`,
      ]);
    let serial = 1;
    const sign = (csrName: string, caName: string, out: string, days: string, ext: string) =>
      openssl(dir, [
        'x509',
        '-req',
        '-in',
        `${csrName}.csr`,
        '-CA',
        `${caName}.crt`,
        '-CAkey',
        `${caName}.key`,
        '-set_serial',
        String(++serial),
        '-days',
        days,
        '-extfile',
        ext,
        '-out',
        out,
      ]);
    await writeFile(
      join(dir, 'server.ext'),
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
    await writeFile(
      join(dir, 'peer.ext'),
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
    );
    await Promise.all([key('ca.key'), key('other.key'), key('server.key'), key('client.key')]);
    await Promise.all([ca('ca', 'peerlink test CA'), ca('other', 'untrusted test CA')]);
    await Promise.all([csr('server', 'localhost'), csr('client', 'peerlink test client')]);
    await sign('server', 'ca', 'server.crt', '2', 'server.ext');
    // `-days -1`: not after = yesterday, so the certificate has expired.
    const expired = await sign('server', 'ca', 'expired.crt', '-1', 'server.ext').then(
      () => true,
      () => false,
    );
    await sign('client', 'ca', 'client.crt', '2', 'client.ext');
    await sign('server', 'ca', 'peer.crt', '2', 'peer.ext');
    await sign('client', 'other', 'stranger-client.crt', '2', 'client.ext');
    await sign('server', 'other', 'stranger-server.crt', '2', 'server.ext');
    await openssl(dir, [
      'req',
      '-x509',
      '-new',
      '-key',
      'server.key',
      '-subj',
      '/CN=localhost',
      '-days',
      '2',
      '-addext',
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
      '-out',
      'self.crt',
    ]);
    const read = (name: string) => readFile(join(dir, name), 'utf8');
    return {
      ca: await read('ca.crt'),
      serverKey: await read('server.key'),
      serverCert: await read('server.crt'),
      expiredServerCert: expired ? await read('expired.crt') : undefined,
      clientKey: await read('client.key'),
      clientCert: await read('client.crt'),
      strangerClientCert: await read('stranger-client.crt'),
      strangerServerCert: await read('stranger-server.crt'),
      selfSignedServerCert: await read('self.crt'),
      peerCert: await read('peer.crt'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
