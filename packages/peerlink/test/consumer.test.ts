/**
 * The consumer check: the packages as a user gets them, the way the README's "In your own project"
 * says until the first release. Packs every public package with `scripts/pack.sh`, installs the
 * tarballs with npm into a scratch project outside the workspace, then imports the umbrella and a
 * single package from plain ESM JavaScript (which exchanges a message over TCP on 127.0.0.1) and
 * from TypeScript (type-checked with the workspace's tsc, strict + exactOptionalPropertyTypes).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'peerlink-consumer-'));

function sh(command: string, args: string[], cwd: string, timeout = 120_000) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: process.env });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** `tsc -b` for the whole workspace, under a lock shared with other test files that build. */
function build(): void {
  const command = [process.execPath, join(root, 'node_modules/typescript/bin/tsc'), '-b'];
  const lock = join(root, 'node_modules/.peerlink-build.lock');
  const flock = existsSync('/usr/bin/flock') || existsSync('/bin/flock');
  const [bin, ...args] = flock ? ['flock', lock, ...command] : command;
  sh(bin!, args, root);
}

/** The names of the public packages (not `private`). */
function publicPackages(): string[] {
  const names: string[] = [];
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    const file = join(root, 'packages', dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; private?: boolean };
    if (pkg.private !== true) names.push(pkg.name);
  }
  return names;
}

/**
 * The README's commands for installing before the first release: build, `bash scripts/pack.sh
 * <dir>`, then `cd <project> && npm install <dir>/*.tgz`. Returns the pack and install lines.
 */
function readmeInstall(): { pack: string; install: string } {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n### In your own project\n');
  expect(start, 'README section "In your own project"').toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start))![1]!.trim().split('\n');
  expect(block[0]).toBe('npx -y pnpm@12.21.0 install && npx -y pnpm@12.21.0 build');
  const dir = /^bash scripts\/pack\.sh (\S+)$/.exec(block[1]!)?.[1];
  expect(dir, block[1]).toBeDefined();
  expect(block[2]).toMatch(new RegExp(`^cd \\S+ && npm install ${dir}/\\*\\.tgz$`));
  expect(block).toHaveLength(3);
  return { pack: block[1]!, install: block[2]! };
}

const consumerJs = `
import { lengthPrefixed, run, PeerlinkError as UmbrellaError } from 'peerlink';
import { PeerlinkError } from '@peerlink/codec';

const codec = lengthPrefixed({ maxSize: 1024 });
const server = await run({ codec, listen: '127.0.0.1:0' });
const client = await run({ codec });
const received = new Promise((resolve) => {
  server.onEvent((event) => {
    if (event.type === 'message') resolve(new TextDecoder().decode(event.message));
  });
});
const peer = await client.connect(server.listenAddresses[0]);
const sent = client.send(peer, new TextEncoder().encode('hello from a consumer'));
const message = await received;
await Promise.all([client.shutdown(), server.shutdown()]);
console.log(JSON.stringify({ sent, message, sameErrorClass: UmbrellaError === PeerlinkError }));
`;

const consumerTs = `
import { type Codec, decoded, incomplete, PeerlinkError } from '@peerlink/codec';
import {
  type DisconnectReason,
  type PeerId,
  type Reactor,
  type ReactorEvent,
  type RunOptions,
  type SendResult,
  lengthPrefixed,
  memoryPair,
  run,
  runWithSocks5Proxy,
  tcpTransport,
} from 'peerlink';

const u8: Codec<number> = {
  maxSize: 1,
  encode(message, sink) {
    return sink.writeU8(message);
  },
  decode(bytes) {
    return bytes.length < 1 ? incomplete() : decoded(bytes[0]!, 1);
  },
  sizeHint: () => 1,
};

const options: RunOptions<number> = { codec: u8, listen: ['127.0.0.1:0'], config: { txTimeout: 5000 } };

export async function main(): Promise<string> {
  const node: Reactor<number> = await run(options);
  const bytes: Reactor<Uint8Array> = await runWithSocks5Proxy(
    { codec: lengthPrefixed({ maxSize: 64 }) },
    { proxy: '127.0.0.1:9050' },
  );
  const peer: PeerId = await node.connect(node.listenAddresses[0]!);
  const result: SendResult = node.send(peer, 7);
  node.onEvent((event: ReactorEvent<number>) => {
    if (event.type === 'disconnected') {
      const reason: DisconnectReason = event.reason;
      if (reason.kind === 'codec-violation') console.log(reason.error.code);
    }
    if (event.type === 'message') console.log(event.message + 1, event.size);
  });
  await node.drained(peer);
  await Promise.all([node.shutdown({ flushTimeout: 100 }), bytes.shutdown()]);
  const error: unknown = new PeerlinkError('ERR_X', 'x');
  if (PeerlinkError.isInstance(error)) return error.code;
  void tcpTransport;
  void memoryPair;
  return result;
}
`;

describe('the packed packages, installed outside the workspace', () => {
  let names: string[] = [];

  beforeAll(() => {
    build();
    names = publicPackages();
    const tarballs = join(scratch, 'tarballs');
    // The README's lines, with its directories replaced by scratch ones.
    const { pack } = readmeInstall();
    sh('bash', [...pack.split(' ').slice(1, -1), tarballs], root);
    const project = join(scratch, 'project');
    sh('mkdir', ['-p', project], scratch);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'peerlink-consumer',
        version: '1.0.0',
        private: true,
        type: 'module',
      }),
    );
    const files = readdirSync(tarballs).map((f) => join(tarballs, f));
    sh(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--no-save',
        '--loglevel=error',
        ...files,
      ],
      project,
    );
    writeFileSync(join(project, 'consumer.mjs'), consumerJs);
    writeFileSync(join(project, 'consumer.ts'), consumerTs);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          verbatimModuleSyntax: true,
          noEmit: true,
          types: ['node'],
          // @types/node from the workspace: the scratch project installs only our tarballs.
          typeRoots: [join(root, 'node_modules/@types')],
        },
        files: ['consumer.ts'],
      }),
    );
  }, 150_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('installs every public package from its tarball, with README and LICENSE', () => {
    expect(names).toContain('peerlink');
    expect(names).toContain('@peerlink/codec');
    for (const name of names) {
      const installed = join(scratch, 'project/node_modules', name, 'package.json');
      expect(existsSync(installed), name).toBe(true);
      const pkg = JSON.parse(readFileSync(installed, 'utf8')) as {
        dependencies?: Record<string, string>;
      };
      for (const range of Object.values(pkg.dependencies ?? {}))
        expect(range).not.toMatch(/^workspace:/);
      for (const file of ['README.md', 'LICENSE'])
        expect(
          existsSync(join(scratch, 'project/node_modules', name, file)),
          `${name} ${file}`,
        ).toBe(true);
    }
  });

  it('exchanges a message over TCP from plain ESM JavaScript (umbrella + a single package)', () => {
    const out = sh(process.execPath, ['consumer.mjs'], join(scratch, 'project'), 30_000);
    expect(JSON.parse(out.trim())).toEqual({
      sent: 'queued',
      message: 'hello from a consumer',
      sameErrorClass: true,
    });
  });

  it('type-checks a TypeScript consumer with strict and `exactOptionalPropertyTypes`', () => {
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    sh(process.execPath, [tsc, '-p', 'tsconfig.json'], join(scratch, 'project'), 60_000);
  });

  it('rejects a type error in the consumer (the check is real)', () => {
    const project = join(scratch, 'project');
    writeFileSync(
      join(project, 'broken.ts'),
      `import { run } from 'peerlink';\nawait run({ listen: 1 });\n`,
    );
    writeFileSync(
      join(project, 'tsconfig.broken.json'),
      JSON.stringify({ extends: './tsconfig.json', files: ['broken.ts'] }),
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.broken.json'], {
      cwd: project,
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/broken\.ts/);
  });
});
