/** Start (ms) of the tumbling window that holds `eventTimeMs`. */
export function windowStart(eventTimeMs: number, sizeMs: number): number {
  return Math.floor(eventTimeMs / sizeMs) * sizeMs;
}

/** Window start used when a batch diff has no event time: the whole input is one window. */
export const SINGLE_WINDOW = 0;
