// The page's entry: render the shop, and install the service worker that keeps its shell offline.
import { render } from 'preact';
import { App } from './App.js';
import './style.css';

render(<App />, document.getElementById('app')!);

if ('serviceWorker' in navigator) {
  addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js').catch(() => undefined);
  });
}
