/** Start (ms) of the tumbling window that holds `eventTimeMs`. */
export function windowStart(eventTimeMs: number, sizeMs: number): number {
  return Math.floor(eventTimeMs / sizeMs) * sizeMs;
}
