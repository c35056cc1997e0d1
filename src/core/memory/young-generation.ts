import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'minor'; execution: 'sync' }) => void;

let gc: Gc | null | undefined;

/** V8's gc(), obtained without starting node with --expose-gc (which would also expose it to all code). */
function gcFunction(): Gc | null {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as Gc;
    } catch {
      gc = null;
    }
  }
  return gc;
}

/**
 * Collects the young generation now (a scavenge: ~1 ms, only live objects are copied). For streams that
 * allocate fast and keep nothing: Node's HTTP parser hands a large upload over as a fresh 64 KB Buffer per
 * read, whose memory lives outside the V8 heap, and V8 frees dead ones only when a scavenge finds them — which,
 * with the young generation grown to its 16 MB semi-spaces, can leave ~64 MB of them resident until the
 * external-memory trigger fires. Calling this every few MB of such a stream keeps the process's peak RSS
 * independent of the upload's size without shrinking the young generation (--max-semi-space-size) for every
 * other request, which cost small requests a fifth of their throughput. A no-op where gc() is unavailable.
 */
export function collectYoungGeneration(): void {
  gcFunction()?.({ type: 'minor', execution: 'sync' });
}

/** Calls collectYoungGeneration each time another `everyBytes` have passed through `count`. */
export class YoungGenerationPacer {
  private sinceLast = 0;

  constructor(private readonly everyBytes: number) {}

  count(bytes: number): void {
    this.sinceLast += bytes;
    if (this.sinceLast < this.everyBytes) return;
    this.sinceLast = 0;
    collectYoungGeneration();
  }
}
