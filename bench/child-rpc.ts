import { type ChildProcess, fork } from 'node:child_process';
import { setPriority } from 'node:os';

/**
 * A forked benchmark process driven by request/reply messages over IPC, each reply awaited with a deadline. A
 * child answers `{ type: 'error', message }` when a request fails, and exits on `{ type: 'exit' }`.
 */
export class ChildRpc<Out extends { type: string }, In extends { type: string }> {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #label: string;
  #exitCode: number | null | undefined;

  /** `lowestPriority`: nice 19, for work that would run on another machine (a load's client side). */
  constructor(script: URL, options: { label?: string; lowestPriority?: boolean } = {}) {
    this.#label = options.label ?? 'child process';
    this.#child = fork(script, [], { stdio: ['ignore', 2, 2, 'ipc'] });
    if (options.lowestPriority && this.#child.pid !== undefined) setPriority(this.#child.pid, 19);
    this.#exited = new Promise((resolve) =>
      this.#child.once('exit', (code) => {
        this.#exitCode = code;
        resolve();
      }),
    );
  }

  /** Waits for the child's `reply`, after sending `message` when there is one. */
  await<T extends In['type']>(
    reply: T,
    message?: Out,
    timeoutMs = 30_000,
  ): Promise<Extract<In, { type: T }>> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.#child.off('message', onMessage);
        this.#child.off('exit', onExit);
      };
      const onMessage = (m: In) => {
        if (m.type === reply) {
          cleanup();
          resolve(m as Extract<In, { type: T }>);
        } else if (m.type === 'error') {
          cleanup();
          reject(new Error(`${this.#label}: ${(m as { message?: string }).message}`));
        }
      };
      const onExit = (code: number | null) => {
        cleanup();
        reject(new Error(`${this.#label} exited (code ${code}) while waiting for "${reply}"`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.#label} did not answer "${message?.type ?? reply}" within ${timeoutMs} ms`));
      }, timeoutMs);
      if (this.#exitCode !== undefined) return onExit(this.#exitCode);
      this.#child.on('message', onMessage);
      this.#child.once('exit', onExit);
      if (message) this.#child.send(message);
    });
  }

  call<T extends In['type']>(message: Out, reply: T, timeoutMs = 30_000): Promise<Extract<In, { type: T }>> {
    return this.await(reply, message, timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.#exitCode !== undefined) return;
    if (this.#child.connected) this.#child.send({ type: 'exit' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await this.#exited;
    clearTimeout(timer);
  }
}
