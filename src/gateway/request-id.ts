import { randomUUID } from 'node:crypto';

/**
 * Request ids in UUID form, unique per gateway process: a random per-process prefix (the first 74 random
 * bits of a v4 UUID) and a 48-bit counter. They correlate log lines, answers and upstream calls; they are
 * never secrets or capabilities, so a counter serves as well as 122 fresh random bits and costs far less.
 */
export function createRequestIds(): () => string {
  const prefix = randomUUID().slice(0, 24);
  let counter = 0;
  return () => {
    counter = (counter + 1) % 0x1000000000000;
    return prefix + counter.toString(16).padStart(12, '0');
  };
}
