import { describe, expect, it } from 'vitest';
import { instanceIdOf } from '../../src/config/cluster.js';
import { parseConfig } from '../../src/config/load.js';

const kafkaComparison = {
  id: 'orders-v2',
  live: { kafka: { topic: 'orders.v1' } },
  candidate: { kafka: { topic: 'orders.v2' } },
  key: ['order_id'],
};

describe('cluster config', () => {
  it('is off by default, with the default results topic', () => {
    const config = parseConfig({ comparisons: [kafkaComparison] });
    expect(config.cluster).toEqual({ enabled: false, resultsTopic: 'shadowdiff.results' });
  });

  it('takes enabled, a results topic and an instance id', () => {
    const config = parseConfig({
      cluster: { enabled: true, resultsTopic: 'team.shadowdiff-results', instanceId: 'shadowdiff-0' },
      comparisons: [kafkaComparison],
    });
    expect(config.cluster).toEqual({
      enabled: true,
      resultsTopic: 'team.shadowdiff-results',
      instanceId: 'shadowdiff-0',
    });
  });

  it.each([
    [{ enabled: 'sometimes' }, 'cluster.enabled: expected true or false'],
    [{ resultsTopic: 'results topic' }, /^cluster\.resultsTopic: /],
    [{ resultsTopic: '' }, /^cluster\.resultsTopic: /],
    [{ resultsTopic: '..' }, 'cluster.resultsTopic: ".." is not a topic name'],
    [{ resultsTopic: 'x'.repeat(250) }, /^cluster\.resultsTopic: /],
    [{ instanceId: '-pod' }, /^cluster\.instanceId: /],
    [{ instanceId: 'pod/0' }, /^cluster\.instanceId: /],
    [{ members: 3 }, 'cluster.members: unknown setting'],
  ])('names the path of a bad value (%#)', (cluster, message) => {
    expect(() => parseConfig({ cluster, comparisons: [kafkaComparison] })).toThrow(message);
  });

  it.each([
    ['live', { file: { path: 'live.ndjson' } }, 'file'],
    ['candidate', { simulate: {} }, 'simulate'],
    ['control', { file: { path: 'control.ndjson' } }, 'file'],
  ])('refuses a %s side that is not Kafka in cluster mode, naming the comparison and side', (side, source, kind) => {
    const comparison = { ...kafkaComparison, id: 'orders-file', [side]: source };
    expect(() => parseConfig({ cluster: { enabled: true }, comparisons: [kafkaComparison, comparison] })).toThrow(
      `comparisons[1].${side}: a ${kind} source cannot run in cluster mode (cluster.enabled): only Kafka comparisons are split over instances; run comparison orders-file on an instance without cluster mode`,
    );
    // Without cluster mode the same comparison is fine.
    expect(parseConfig({ comparisons: [comparison] }).comparisons).toHaveLength(1);
  });

  it('names an instance by its configured id, else by its host name', () => {
    const cluster = parseConfig({}).cluster;
    expect(instanceIdOf(cluster, 'shadowdiff-7d9f-abcde')).toBe('shadowdiff-7d9f-abcde');
    expect(instanceIdOf({ ...cluster, instanceId: 'a' }, 'shadowdiff-7d9f-abcde')).toBe('a');
  });
});
