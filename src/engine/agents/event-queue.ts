/**
 * A push-fed async iterable with one consumer. Events are buffered until read, so an orchestrator
 * that starts reading late still sees everything an agent reported.
 */
export interface EventQueue<T> extends AsyncIterable<T> {
  push(value: T): void;
  /** No more values; a waiting reader finishes. Pushes after this are dropped. */
  end(): void;
}

export function createEventQueue<T>(): EventQueue<T> {
  const buffer: T[] = [];
  let ended = false;
  let claimed = false;
  let wake: (() => void) | null = null;

  const notify = (): void => {
    const resume = wake;
    wake = null;
    resume?.();
  };

  return {
    push(value) {
      if (ended) return;
      buffer.push(value);
      notify();
    },
    end() {
      ended = true;
      notify();
    },
    [Symbol.asyncIterator](): AsyncIterator<T> {
      // A second reader would silently steal half of the events; refuse it loudly instead.
      if (claimed) throw new Error('agent events can be read by one consumer only');
      claimed = true;
      return {
        async next(): Promise<IteratorResult<T>> {
          while (buffer.length === 0 && !ended) {
            await new Promise<void>((resolve) => (wake = resolve));
          }
          if (buffer.length > 0) return { value: buffer.shift() as T, done: false };
          return { value: undefined, done: true };
        },
        async return(): Promise<IteratorResult<T>> {
          // The reader stopped early (break): keep nothing around for it.
          ended = true;
          buffer.length = 0;
          return { value: undefined, done: true };
        },
      };
    },
  };
}
