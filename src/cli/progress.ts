import { Presets, SingleBar } from 'cli-progress';
import type { DiffStages } from '../diff/engine.js';

/**
 * A progress bar on stderr for long diffs, driven by DuckDB's own progress estimate per stage.
 * Only on a TTY: logs and `--json` output stay clean.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): DiffStages & { stop(): void } {
  const bar = new SingleBar(
    { stream, format: ' {bar} {percentage}% | {stage}', hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  bar.start(100, 0, { stage: 'starting' });
  return {
    onStage: (stage) => bar.update(0, { stage }),
    onProgress: (fraction) => bar.update(Math.round(fraction * 100)),
    stop: () => bar.stop(),
  };
}
