// Docker HEALTHCHECK for a runner: `node healthcheck.mjs /ready` GETs http://127.0.0.1:$PORT/ready
// and exits 0 on a 2xx answer, 1 on anything else (503 while the database or broker is out of reach).
const path = process.argv[2] ?? '/ready';
const port = process.env.PORT;
if (!port) {
  console.error('healthcheck: PORT is not set');
  process.exit(1);
}
try {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(4_000) });
  const body = await response.text();
  if (!response.ok) {
    console.error(`healthcheck: GET ${path} answered ${response.status}: ${body}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`healthcheck: GET ${path} failed: ${error.message}`);
  process.exit(1);
}
