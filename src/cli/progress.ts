import { Presets, SingleBar } from 'cli-progress';
import type { DiffStages } from '../diff/engine.js';

/**
 * A progress bar on stderr for long diffs: the share of the whole run done, labelled with the stage
 * it is in. Only on a TTY: logs and `--json` output stay clean.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): DiffStages & { stop(): void } {
  const bar = new SingleBar(
    { stream, format: ' {bar} {percentage}% | {stage}', hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  let value = 0;
  bar.start(100, 0, { stage: 'starting' });
  return {
    onStage: (stage) => bar.update(value, { stage }),
    onProgress: (fraction) => {
      value = Math.floor(fraction * 100);
      bar.update(value);
    },
    stop: () => bar.stop(),
  };
}
