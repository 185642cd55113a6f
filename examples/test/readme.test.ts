import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProject, root } from './build.js';

const readme = readFileSync(`${root}README.md`, 'utf8');

/** The fenced code blocks of the section that starts with `heading`. */
function blocks(heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README has no "${heading}"`);
  const next = readme.indexOf('\n## ', start + heading.length + 2);
  const section = readme.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe('README', () => {
  beforeAll(() => buildProject('examples'), 60_000);

  it('quick start: exactly two commands in one block, install-and-demo then the CI test command', () => {
    const [first] = blocks('## Quick start');
    const commands = first!.trim().split('\n');
    expect(commands).toEqual([
      'npx -y pnpm@12.21.0 install && npx -y pnpm@12.21.0 demo',
      'npx -y pnpm@12.21.0 test',
    ]);
    const ci = readFileSync(`${root}.ci/run`, 'utf8');
    expect(ci).toContain('PNPM_VERSION=12.21.0');
    expect(ci).toContain(['"$', '{PNPM[@]}" test'].join(''));
  });

  it('the complete program is examples/src/hello.ts, and it runs', () => {
    const [program] = blocks('## A complete program').filter((b) => b.includes("from 'peerlink'"));
    expect(program).toBe(readFileSync(`${root}examples/src/hello.ts`, 'utf8'));
    const result = spawnSync(process.execPath, [`${root}examples/dist/hello.js`], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^peer \d+ says HELLO \(9 bytes on the wire\)$/),
      expect.stringMatching(/^peer \d+ says PEER \(8 bytes on the wire\)$/),
      expect.stringMatching(/^peer \d+ says TO \(6 bytes on the wire\)$/),
      expect.stringMatching(/^peer \d+ says PEER \(8 bytes on the wire\)$/),
    ]);
    // "It prints the same peer id on all four lines" (ids are unique per process, not per
    // reactor: packages/peerlink/test/readme-codes.test.ts).
    expect(new Set(lines.map((l) => l.split(' ')[1])).size).toBe(1);
  });

  it("the demo's sample output is the shape of what the demo prints, line for line", () => {
    const readmeText = readme.slice(readme.indexOf('The demo ends like this'));
    const sample = /```text\n([\s\S]*?)```/.exec(readmeText)![1]!.trimEnd().split('\n');
    expect(sample[0]).toBe('summary:');
    // Every figure in the sample stands for any figure; units and plurals may differ.
    const shape = (line: string) =>
      new RegExp(
        `^${line
          .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
          .replace(/\d[\d,]*(\\\.\d+)?/g, '[\\d,.]+')
          .replace(/ (µs|ms)\b/g, ' (µs|ms)')
          .replace(/ B queued/g, ' (B|KiB|MiB) queued')
          .replace(/(peer|sample|client)s\b/g, '$1s?')}$`,
      );
    const result = spawnSync(
      process.execPath,
      [`${root}examples/dist/demo.js`, '--clients', '2', '--count', '300'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(result.status).toBe(0);
    const out = result.stdout.trimEnd().split('\n');
    const tail = out.slice(out.lastIndexOf('summary:'));
    expect(tail).toHaveLength(sample.length);
    for (const [i, line] of sample.entries()) expect(tail[i]).toMatch(shape(line));
  });

  it('contributing: each optional tool is checked for by the tests named, and .ci/run installs it', () => {
    const start = readme.indexOf('**Optional tools.**');
    expect(start).toBeGreaterThan(0);
    const rows = readme
      .slice(start, readme.indexOf('\n\n**', start + 1))
      .split('\n')
      .filter((l) => /^\| `[a-z]+` \(`[a-z0-9-]+`\)/.test(l));
    expect(rows.map((r) => /^\| `([a-z]+)`/.exec(r)![1])).toEqual([
      'microsocks',
      'openssl',
      'ip',
      'chromium',
      'prlimit',
      'script',
    ]);
    const ci = readFileSync(`${root}.ci/run`, 'utf8');
    for (const row of rows) {
      const [, tool, debian] = /^\| `([a-z]+)` \(`([a-z0-9-]+)`\)/.exec(row)!;
      // The first file named in the row probes for the tool.
      const file = /`((?:packages|examples)\/[^`]+\.ts)`/.exec(row)![1]!;
      expect(readFileSync(`${root}${file}`, 'utf8'), `${file} checks for ${tool}`).toMatch(
        new RegExp(`\\b${tool}'`), // 'tool' or '/usr/bin/tool'
      );
      if (['microsocks', 'openssl', 'iproute2', 'chromium'].includes(debian!))
        expect(ci, `.ci/run installs ${debian}`).toContain(`need+=(${debian})`);
    }
    expect(
      readFileSync(`${root}packages/integration-tests/test/hardening/netns.test.ts`, 'utf8'),
    ).toContain("process.getuid?.() !== 0) return 'not root'");
  });

  it('maps every public item of the Rust crate (SPEC §9)', () => {
    const [table] = blocks('## From the Rust crate: every public item of peerlink 0.10.0');
    expect(table).toBeUndefined(); // a table, not a code block
    const start = readme.indexOf('## From the Rust crate');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 5));
    const items = [
      'Config',
      'StreamConfig',
      'MaxMessageSizeMultiple',
      'Message',
      'DecodeError',
      'PeerId',
      'Command',
      'Event',
      'DisconnectReason',
      'Target',
      'Connector',
      'DefaultConnector',
      'Socks5Connector',
      'Handle',
      'run',
      'run_with_connector',
      'run_with_socks5_proxy',
    ];
    for (const item of items)
      expect(section, item).toMatch(new RegExp(`\\n\\| \`${item}\`( \\(trait\\))? \\|`));
  });
});
