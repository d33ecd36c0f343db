// Idempotent requests (the IETF Idempotency-Key draft, as Stripe runs it): the first request with a
// key does the work and its response is recorded in the same transaction; the same key and request
// within 24 hours gets that response again; a different request under the key is 422; the same key
// while the first is still being processed is 409.
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { statement, transaction, type Db, type Tx } from './db.js';
import { HttpProblem } from './problem.js';

const keyHeader = 'idempotency-key';
export const keyLifetimeHours = 24;
const printableAscii = /^[\x20-\x7e]{1,255}$/;

/** The key of a request, undefined without one; a malformed key is a 400. */
export function idempotencyKey(headers: Record<string, string | undefined>): string | undefined {
  const key = headers[keyHeader];
  if (key === undefined) return undefined;
  if (!printableAscii.test(key)) {
    throw new HttpProblem(400, 'Idempotency-Key must be 1 to 255 printable ASCII characters', {
      type: '/problems/validation',
      title: 'Invalid request',
      errors: [{ in: 'header', name: 'Idempotency-Key', detail: 'must be 1 to 255 printable ASCII characters' }],
    });
  }
  return key;
}

export function fingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(body ?? null)}`).digest('base64url');
}

interface StoredResponse {
  fingerprint: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

const claimKey = statement<{ claimed: boolean }>('idempotency.claim', 'SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS claimed');

const findResponse = statement<StoredResponse>(
  'idempotency.find',
  `SELECT fingerprint, status, headers, body FROM idempotency_keys
    WHERE route = $1 AND key = $2 AND created_at > now() - interval '${keyLifetimeHours} hours'`,
);

// An expired record of the same key is replaced.
const recordResponse = statement(
  'idempotency.record',
  `INSERT INTO idempotency_keys (route, key, fingerprint, status, headers, body) VALUES ($1, $2, $3, $4, $5, $6)
   ON CONFLICT (route, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
     headers = excluded.headers, body = excluded.body, created_at = now()`,
);

/**
 * Runs `work` at most once per (route, key). The key is claimed with a transaction-scoped advisory
 * lock, so of concurrent requests with a new key exactly one works while the others get 409; the
 * work and the recorded response commit together, so a crash leaves neither behind.
 */
export async function idempotently(
  db: Db,
  route: string,
  key: string,
  requestFingerprint: string,
  work: (tx: Tx) => Promise<APIGatewayProxyStructuredResultV2>,
): Promise<APIGatewayProxyStructuredResultV2> {
  return transaction(db, async (tx) => {
    const [claim] = await claimKey(tx, [`${route}\n${key}`]);
    if (!claim?.claimed) {
      throw new HttpProblem(409, 'A request with this Idempotency-Key is still being processed; retry later', {
        type: '/problems/idempotency-key-in-use',
        headers: { 'retry-after': '1' },
      });
    }
    const [earlier] = await findResponse(tx, [route, key]);
    if (earlier) {
      if (earlier.fingerprint !== requestFingerprint) {
        throw new HttpProblem(422, 'This Idempotency-Key was used for a different request', {
          type: '/problems/idempotency-key-reused',
        });
      }
      return { statusCode: earlier.status, headers: { ...earlier.headers, 'idempotent-replayed': 'true' }, body: earlier.body };
    }
    const response = await work(tx);
    await recordResponse(tx, [route, key, requestFingerprint, response.statusCode, JSON.stringify(response.headers ?? {}), response.body ?? '']);
    return response;
  });
}
