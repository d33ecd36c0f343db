// The page's files inside the app: the shop's page as the gateway serves it (web/, built into
// app.js, app.css and sw.js), plus the desktop's own script and stylesheet, which the page it serves
// loads after the shop's. Inside the single executable they are its SEA assets; run as a plain
// script, they are the files of the assets folder beside it.
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** URL path → asset name and content type. The build embeds every file of its assets folder under its name. */
export const pageFiles = {
  '/': { name: 'index.html', type: 'text/html; charset=utf-8' },
  '/web/app.js': { name: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/web/app.css': { name: 'app.css', type: 'text/css; charset=utf-8' },
  '/web/manifest.webmanifest': { name: 'manifest.webmanifest', type: 'application/manifest+json; charset=utf-8' },
  '/web/icon.svg': { name: 'icon.svg', type: 'image/svg+xml; charset=utf-8' },
  '/sw.js': { name: 'sw.js', type: 'text/javascript; charset=utf-8' },
  '/desktop/desktop.js': { name: 'desktop.js', type: 'text/javascript; charset=utf-8' },
  '/desktop/desktop.css': { name: 'desktop.css', type: 'text/css; charset=utf-8' },
} as const;

type AssetName = (typeof pageFiles)[keyof typeof pageFiles]['name'];
export type Assets = ReadonlyMap<string, { body: Buffer; type: string }>;

const desktopTags = ['<link rel="stylesheet" href="/desktop/desktop.css">', '<script src="/desktop/desktop.js" defer></script>'];

/** The shop's index.html with the desktop's stylesheet and script added at the end of its head. */
export function withDesktopTags(html: string): string {
  const head = /([ \t]*)<\/head>/.exec(html);
  if (!head) throw new Error('index.html has no </head> to add the desktop script before');
  const indent = head[1]!;
  const tags = desktopTags.map((tag) => `${indent}  ${tag}\n`).join('');
  return html.slice(0, head.index) + tags + html.slice(head.index);
}

/** Every page file by its URL path, read with `read(name)`; index.html gets the desktop's tags. */
export function loadAssets(read: (name: AssetName) => Buffer): Assets {
  return new Map(
    Object.entries(pageFiles).map(([urlPath, { name, type }]) => {
      const body = name === 'index.html' ? Buffer.from(withDesktopTags(read(name).toString('utf8'))) : read(name);
      return [urlPath, { body, type }];
    }),
  );
}

/** The files of a folder, for the app run as a plain script. */
export function folderReader(folder: string): (name: AssetName) => Buffer {
  return (name) => readFileSync(path.join(folder, name));
}
