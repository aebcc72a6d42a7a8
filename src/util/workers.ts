/**
 * Stopping worker threads gracefully. `worker.terminate()` while a thread is busy (or while V8 still compiles its
 * code in the background) can hit a Node 20 race that aborts the whole process
 * (`Assertion failed: (data.first) != nullptr` in `NodePlatform::ForIsolate`). Workers here instead get a `null`
 * message, close their port and exit on their own; `terminate()` remains the fallback for a thread that hangs.
 */
import type { MessagePort, Worker } from 'node:worker_threads';

/** Asks `worker` to stop (a `null` message) and resolves once it has exited; terminates it after `timeoutMs`. */
export function stopWorker(worker: Worker, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | null = null;
    worker.once('exit', () => {
      if (timer) clearTimeout(timer);
      resolve();
    });
    worker.ref(); // an unref'd idle worker would let the event loop end before its exit arrives
    timer = setTimeout(() => void worker.terminate(), timeoutMs);
    timer.unref();
    try {
      worker.postMessage(null);
    } catch {
      void worker.terminate();
    }
  });
}

/** In a worker: handles each message with `handle`, and closes the port (ending the thread) on `null`. */
export function serveMessages<T>(port: MessagePort, handle: (msg: T) => void): void {
  port.on('message', (msg: T | null) => {
    if (msg === null) {
      port.close();
      return;
    }
    handle(msg);
  });
}
