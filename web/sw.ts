// The service worker: keeps the page's shell (never the API) so the shop opens, and installs as an
// app, without the network. Network first, so a deploy is seen at once; the cache only when offline.
// Typed by hand: the WebWorker library's globals clash with the DOM library the page is checked with.
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}
interface ServiceWorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  location: Location;
}

/** Set by the build: a hash of the shell, so each deploy gets a cache of its own */
declare const SHELL_VERSION: string;

const worker = self as unknown as ServiceWorkerScope;
const cacheName = `shop-shell-${SHELL_VERSION}`;
const shell = ['/', '/web/app.js', '/web/app.css', '/web/manifest.webmanifest', '/web/icon.svg'];

worker.addEventListener('install', (event) => {
  event.waitUntil(caches.open(cacheName).then((cache) => cache.addAll(shell)).then(() => worker.skipWaiting()));
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith('shop-shell-') && name !== cacheName).map((name) => caches.delete(name))))
      .then(() => worker.clients.claim()),
  );
});

async function networkFirst(request: Request, path: string): Promise<Response> {
  const cache = await caches.open(cacheName);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(path, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(path);
    if (cached) return cached;
    throw error;
  }
}

worker.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  // Only the shell: API calls and the status stream always go to the network, untouched.
  if (event.request.method !== 'GET' || url.origin !== worker.location.origin || !shell.includes(url.pathname)) return;
  event.respondWith(networkFirst(event.request, url.pathname));
});
