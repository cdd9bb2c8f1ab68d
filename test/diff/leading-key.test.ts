import { afterAll, describe, expect, it } from 'vitest';
import { parseComparison } from '../../src/config/load.js';
import { runBatchDiff } from '../../src/diff/batch.js';
import { tempDir } from '../helpers/tmp.js';

const files = tempDir();
afterAll(() => files.remove());

// Live's texts start with their key (read by a regular expression, not parsed); the candidate
// writes the same records with the key last (read from a typed row). Every pair must align.
const live = [
  '{"id":"plain","v":1}',
  '{"id":"","v":2}',
  '{"id":"é ü","v":3}',
  '{"id":"a\\"b","v":4}',
  '{"id":"x\\u00e9","v":5}',
  '{"id":"first","v":6,"id":"repeated"}',
  '{"id":"shadowed","v":7,"\\u0069d":"escaped-name"}',
  '{"id":"outer","v":8,"n":{"id":"inner"}}',
  '{"id":"12","v":9}',
  '{"id":12,"v":10}',
  '{"id":"trailing","v":11,}',
  '{"id":"suffix","uid":"u","id":"suffix-repeated"}',
  '{"id":"name-ends-alike","uid":"u"}',
  '{"id":"no-object"',
];
const candidate = [
  '{"v":1,"id":"plain"}',
  '{"v":2,"id":""}',
  '{"v":3,"id":"é ü"}',
  '{"v":4,"id":"a\\"b"}',
  '{"v":5,"id":"xé"}',
  '{"v":6,"id":"repeated"}',
  '{"v":7,"id":"escaped-name"}',
  '{"v":8,"n":{"id":"inner"},"id":"outer"}',
  '{"v":9,"id":"12"}',
  '{"v":10,"id":12}',
  '{"v":11,"id":"trailing"}',
  '{"uid":"u","id":"suffix-repeated"}',
  '{"uid":"u","id":"name-ends-alike"}',
];

describe('a key read from the start of the text', () => {
  it('is the key a parse reads: escapes, repeated and escaped names, nesting, empty, strings apart from numbers', async () => {
    const comparison = parseComparison({
      id: 'leading',
      live: { file: { path: 'unused' } },
      candidate: { file: { path: 'unused' } },
      key: ['id'],
    });
    const result = await runBatchDiff(
      comparison,
      {
        live: files.write('lead-live.ndjson', `${live.join('\n')}\n`),
        candidate: files.write('lead-candidate.ndjson', `${candidate.join('\n')}\n`),
      },
      { samples: 5 },
    );
    expect(result.counts).toMatchObject({
      live: 13,
      candidate: 13,
      equal: 13,
      different: 0,
      missing: 0,
      extra: 0,
      invalidLive: 1,
    });
    expect(result.invalidReasons.live).toEqual({ malformed: 1 });
  });
});
