// Runs the serverless framework (3.x, installed as a devDependency) the way a user would, without
// AWS credentials: only the variables given here reach it.
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const serverlessBin = fileURLToPath(new URL('../../node_modules/serverless/bin/serverless.js', import.meta.url));

/** The environment of a serverless command: no AWS_* variables, no telemetry, no notifications. */
export function serverlessEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    ...extra,
  };
}
