// Structured logs: one JSON line per event, with the order id and message id where there is one.
type Level = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const threshold = rank[(process.env.LOG_LEVEL as Level) ?? 'info'] ?? rank.info;

function write(level: Level, event: string, fields: Record<string, unknown>): void {
  if (rank[level] < threshold) return;
  const error = fields.error instanceof Error ? { error: fields.error.message } : {};
  const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields, ...error });
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line + '\n');
}

export const log = {
  debug: (event: string, fields: Record<string, unknown> = {}) => write('debug', event, fields),
  info: (event: string, fields: Record<string, unknown> = {}) => write('info', event, fields),
  warn: (event: string, fields: Record<string, unknown> = {}) => write('warn', event, fields),
  error: (event: string, fields: Record<string, unknown> = {}) => write('error', event, fields),
};
