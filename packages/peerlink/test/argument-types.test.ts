import { lengthPrefixed, run, runWithConnector } from 'peerlink';
import { describe, expect, it } from 'vitest';

const codec = lengthPrefixed({ maxSize: 1024 });

function invalid(name: string) {
  return expect.objectContaining({
    code: 'ERR_INVALID_ARGUMENT',
    message: expect.stringMatching(new RegExp(`^${name.replace('.', '\\.')}: `)),
  });
}

describe('wrong argument types for run() and its variants', () => {
  it('answers each with ERR_INVALID_ARGUMENT naming the argument, opening nothing', async () => {
    await expect(run(null as never)).rejects.toEqual(invalid('options'));
    await expect(run({ codec, listen: 1 as never })).rejects.toEqual(invalid('options.listen'));
    await expect(run({ codec, listen: ['127.0.0.1:0', 2] as never })).rejects.toEqual(
      invalid('options.listen'),
    );
    await expect(run({ codec, tcp: 'fast' as never })).rejects.toEqual(invalid('options.tcp'));
    await expect(run({ codec: null as never })).rejects.toEqual(invalid('options.codec'));
    await expect(runWithConnector({ codec }, 'socks' as never)).rejects.toEqual(
      invalid('connector'),
    );
    await expect(runWithConnector(42 as never, async () => ({}) as never)).rejects.toEqual(
      invalid('options'),
    );
  });
});
