/**
 * A source thread: one side's Kafka consumer, decoding and packing (`align/prepare.ts`), driven by
 * `ThreadedSource` on the main thread. kafkajs' wire decoding, the per-record checks and their
 * garbage cost this thread, so the main thread's event loop stays free for ingest and HTTP.
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { RecordPreparer } from '../../align/prepare.js';
import { createDecoder } from '../../codec/decoder.js';
import { SchemaRegistryClient } from '../../codec/registry.js';
import { createKafkajsClient } from '../kafka/kafkajs-client.js';
import { KafkaSource } from '../kafka/source.js';
import type { StartPositions } from '../source.js';
import type { FromSourceThread, SourceState, SourceThreadData, ThreadError, ToSourceThread } from './protocol.js';
import { TextRingWriter } from './text-ring.js';

/**
 * How much lower this thread runs than the one that started it. It only feeds batches, which wait
 * for DuckDB anyway, so DuckDB and the event loop, which answers gate polls, get the cores first.
 * Linux keeps priorities per thread; elsewhere this would lower the whole process, so it does not.
 */
const LOWER_PRIORITY_BY = 5;
if (process.platform === 'linux') setPriority(Math.min(19, getPriority() + LOWER_PRIORITY_BY));

const port = parentPort;
if (!port) throw new Error('the source thread runs as a worker thread');
const spec = workerData as SourceThreadData;
const ring = new TextRingWriter(spec.ring);
/** Stands for texts in the ring, which the main thread reads there. */
const IN_RING = new Uint8Array(0);
const post = (message: FromSourceThread, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);
const errorOf = (error: unknown): ThreadError => ({
  message: (error as Error)?.message ?? String(error),
  name: (error as Error)?.name ?? 'Error',
});

// Log lines go to the main thread's logger, which owns the destination.
const logger =
  spec.logLevel === null
    ? undefined
    : pino({ level: spec.logLevel }, { write: (line: string) => post({ type: 'log', line }) });
const source = new KafkaSource(createKafkajsClient(spec.connection, logger?.child({ component: 'kafka' })), {
  ...spec.source,
  onCrash: (error) => {
    post({ type: 'crash', error: errorOf(error) });
    postState();
  },
  onShortRetention: (retentionMs) => {
    logger?.warn(
      { topic: spec.source.topic, retentionMs, neededMs: spec.source.neededMs },
      'the topic keeps records for less than a window plus its allowed lateness: after a restart, records of open windows may be gone from it and are counted lost',
    );
  },
  onConnectError: (error, retryInMs) => {
    logger?.warn({ err: error, topic: spec.source.topic, retryInMs }, 'kafka source cannot start; retrying');
    postState();
  },
});
const decoder = await createDecoder(spec.decode, () => new SchemaRegistryClient({ url: spec.decode.registryUrl }));
/** Batches handed to the main thread, by id, until it has taken them. */
const inFlight = new Map<number, (error?: string) => void>();
let batches = 0;
let lastState = '';
/** As often as the runner looks (its tick). */
const STATE_EVERY_MS = 250;

function postState(): void {
  const state: SourceState = {
    connected: source.isConnected(),
    error: source.lastError(),
    ended: source.hasEnded(),
    backlog: source.backlog(),
    partitions: source.partitions(),
  };
  const text = JSON.stringify(state);
  if (text !== lastState) post({ type: 'state', state });
  lastState = text;
}

// Empty fetches move the high watermark, and a group join connects, without a batch to report them.
setInterval(postState, STATE_EVERY_MS);

async function reply(id: number, work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
    post({ type: 'reply', id });
  } catch (error) {
    post({ type: 'reply', id, error: errorOf(error) });
  }
}

async function start(positions: StartPositions): Promise<void> {
  const preparer = new RecordPreparer({ ...spec.prepare, decoder, memory: ring }, positions);
  await source.start(async (records, control, gaps) => {
    const batch = await preparer.prepare(records, control, source.decoded, gaps);
    const id = ++batches;
    const taken = new Promise<void>((resolve, reject) =>
      inFlight.set(id, (error) => (error === undefined ? resolve() : reject(new Error(error)))),
    );
    // Texts in the ring stay there; those in buffers of their own are transferred.
    const partitions = batch.partitions.map((partition) =>
      partition.ring ? { ...partition, docs: IN_RING } : partition,
    );
    post(
      { type: 'batch', id, batch: { ...batch, partitions } },
      batch.partitions.filter((partition) => !partition.ring).map((partition) => partition.docs.buffer as ArrayBuffer),
    );
    try {
      await taken;
    } finally {
      inFlight.delete(id);
      postState();
    }
  }, positions.skipThrough);
  postState();
}

port.on('message', (message: ToSourceThread) => {
  switch (message.type) {
    case 'start':
      void reply(message.id, () =>
        start({ skipThrough: new Map(message.skipThrough), countedThrough: new Map(message.countedThrough) }),
      );
      return;
    case 'handled':
      inFlight.get(message.id)?.(message.error);
      return;
    case 'commit':
      void reply(message.id, () => source.commit(new Map(message.positions)));
      return;
    case 'pause':
      source.pause();
      return;
    case 'resume':
      source.resume();
      return;
    case 'stop':
      // The main thread ends this thread once it has the answer.
      void reply(message.id, () => source.stop());
      return;
  }
});
