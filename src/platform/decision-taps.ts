import type { DecisionRecord } from '../gateway/index.ts';

/**
 * Fans every enforcement decision made in this process (the own gateway and the decision listener's doors
 * share one decision core) out to what follows them: the console's decision log and charts, metrics. A
 * listener is called synchronously on the request path: it must be cheap and must not throw.
 */
export interface DecisionTaps {
  add(listener: (entry: DecisionRecord) => void): () => void;
  emit(entry: DecisionRecord): void;
}

export function createDecisionTaps(): DecisionTaps {
  let listeners: Array<(entry: DecisionRecord) => void> = [];
  return {
    add(listener) {
      listeners = [...listeners, listener];
      return () => {
        listeners = listeners.filter((l) => l !== listener);
      };
    },
    emit(entry) {
      for (const listener of listeners) {
        try {
          listener(entry);
        } catch {
          // A follower's fault never turns into a refused or failed request.
        }
      }
    },
  };
}
