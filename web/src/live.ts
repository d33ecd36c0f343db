// Following order statuses: Server-Sent Events from the gateway while the stream works, polling while
// it does not (a host without the stream, a gateway restarting), and a resync whenever events may
// have been missed. The browser resumes a dropped stream itself, sending Last-Event-ID.
import { api, parseJson, type StatusChange } from './api.js';

export type LiveMode = 'connecting' | 'live' | 'polling';

interface LiveHandlers {
  change(change: StatusChange): void;
  /** Changes may have been missed: read the list again */
  resync(): void;
  mode(mode: LiveMode): void;
}

const timing = {
  /** Between two reads of the list while polling */
  pollMs: 3_000,
  /** How long a stream may take to (re)connect before the page polls meanwhile */
  patienceMs: 3_000,
  /** After the stream was refused, when to try it again; doubled after each refusal in a row */
  reopenMs: 2_000,
  maxReopenMs: 60_000,
};

/** Starts following one user's orders; returns the function that stops it. */
export function followStatuses(userId: number, on: LiveHandlers): () => void {
  let source: EventSource | undefined;
  let poller: ReturnType<typeof setInterval> | undefined;
  let patience: ReturnType<typeof setTimeout> | undefined;
  let reopen: ReturnType<typeof setTimeout> | undefined;
  let refusals = 0;

  const startPolling = () => {
    if (poller !== undefined) return;
    on.mode('polling');
    on.resync();
    poller = setInterval(() => on.resync(), timing.pollMs);
  };
  const stopPolling = () => {
    clearInterval(poller);
    poller = undefined;
  };
  // A browser retries a dropped stream every `retry` ms: the patience runs from the first failure.
  const waitForStream = () => {
    if (patience !== undefined || poller !== undefined) return;
    on.mode('connecting');
    patience = setTimeout(startPolling, timing.patienceMs);
  };
  const stopWaiting = () => {
    clearTimeout(patience);
    patience = undefined;
  };

  const open = () => {
    const stream = new EventSource(api.streamUrl(userId));
    source = stream;
    waitForStream();
    stream.addEventListener('ready', (event) => {
      refusals = 0;
      stopWaiting();
      stopPolling();
      on.mode('live');
      // Not resumed: this gateway cannot replay what happened since the last event seen.
      if (!parseJson<{ resumed: boolean }>(event.data).resumed) on.resync();
    });
    stream.addEventListener('status', (event) => on.change(parseJson<StatusChange>(event.data)));
    stream.addEventListener('resync', () => on.resync());
    stream.addEventListener('error', () => {
      if (stream.readyState !== EventSource.CLOSED) return waitForStream();
      // Refused for good (no stream on this host, an error status): poll, and try it again later.
      stopWaiting();
      startPolling();
      reopen = setTimeout(open, Math.min(timing.reopenMs * 2 ** refusals++, timing.maxReopenMs));
    });
  };

  open();
  return () => {
    source?.close();
    stopWaiting();
    clearTimeout(reopen);
    stopPolling();
  };
}
