/**
 * Runs one asynchronous pass at a time, however often it is woken: a wake-up during a pass asks for one more
 * pass after it (never a queue of them), a timer wakes it too (other processes' work), and a failed pass is
 * reported and retried on the next wake-up. The event relay, the webhook dispatcher and the mail notifier
 * each drive their work with one.
 */
export interface CoalescingRunner {
  /** Starts a pass, or asks the running one for another; resolves when the pass it joined ends. */
  wake(): Promise<void>;
  /** Resolves once no pass is running or asked for (everything woken so far is done). */
  flush(): Promise<void>;
  /** True once closed: passes check it to stop early. */
  readonly closed: boolean;
  close(): Promise<void>;
}

export function createCoalescingRunner(
  pass: () => Promise<void>,
  options: { intervalMs: number; onError: (err: unknown) => void },
): CoalescingRunner {
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const loop = async () => {
    do {
      again = false;
      try {
        await pass();
      } catch (err) {
        if (!closed) options.onError(err);
      }
    } while (again && !closed);
  };
  const wake = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = loop().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void wake(), options.intervalMs);
  timer.unref();
  return {
    wake,
    async flush() {
      await wake();
      while (running) await running;
    },
    get closed() {
      return closed;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
