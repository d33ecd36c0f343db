import { describe, expect, it } from 'vitest';
import type { OperationId } from '../../functions/lib/contract.js';
import { expectResponseMatchesSpec } from './contract.js';

const wallet = { user_id: 42, balance: 12.5, created_at: '2025-01-31T10:00:00.000Z' };
const notFound = { type: 'about:blank', title: 'Not Found', status: 404, detail: 'User 42 has no wallet' };

describe('expectResponseMatchesSpec', () => {
  it('accepts a wallet for getWallet 200, whatever the charset parameter', () => {
    expect(() => expectResponseMatchesSpec('getWallet', 200, 'application/json', wallet)).not.toThrow();
    expect(() => expectResponseMatchesSpec('getWallet', 200, 'application/json; charset=utf-8', wallet)).not.toThrow();
  });

  it('rejects a wallet whose balance is a string, naming the field', () => {
    expect(() => expectResponseMatchesSpec('getWallet', 200, 'application/json', { ...wallet, balance: '12.50' })).toThrow(
      /getWallet 200 application\/json: the body does not match openapi.yaml:\n\s+body\/balance must be number/,
    );
  });

  it('rejects a body that breaks a format or misses a required field', () => {
    expect(() => expectResponseMatchesSpec('getWallet', 200, 'application/json', { ...wallet, created_at: 'yesterday' })).toThrow(
      /body\/created_at must match format "date-time"/,
    );
    const { user_id: _, ...withoutUser } = wallet;
    expect(() => expectResponseMatchesSpec('getWallet', 200, 'application/json', withoutUser)).toThrow(/must have required property 'user_id'/);
  });

  it('rejects a status code the operation does not document', () => {
    expect(() => expectResponseMatchesSpec('getWallet', 201, 'application/json', wallet)).toThrow(
      /getWallet 201: openapi.yaml documents no such response/,
    );
  });

  it('rejects a content type the response does not document', () => {
    expect(() => expectResponseMatchesSpec('getWallet', 200, 'text/html', '<p>wallet</p>')).toThrow(/content-type text\/html is not documented/);
    expect(() => expectResponseMatchesSpec('getWallet', 200, undefined, wallet)).toThrow(/has no content-type/);
  });

  it('follows a response $ref to components/responses', () => {
    expect(() => expectResponseMatchesSpec('getWallet', 404, 'application/problem+json', notFound)).not.toThrow();
    expect(() => expectResponseMatchesSpec('getWallet', 404, 'application/json', notFound)).toThrow(/application\/json is not documented/);
    expect(() => expectResponseMatchesSpec('getWallet', 404, 'application/problem+json', { ...notFound, status: '404' })).toThrow(
      /body\/status must be integer/,
    );
  });

  it('matches a media range such as */*', () => {
    expect(() => expectResponseMatchesSpec('docsAsset', 200, 'text/css; charset=utf-8', 'body { margin: 0 }')).not.toThrow();
    expect(() => expectResponseMatchesSpec('docsAsset', 200, 'text/css', 42)).toThrow(/body must be string/);
  });

  it('rejects an operation openapi.yaml does not have (a name the type check lets through from untyped JSON)', () => {
    expect(() => expectResponseMatchesSpec('getWalet' as OperationId, 200, 'application/json', wallet)).toThrow(/openapi.yaml has no operation getWalet/);
  });
});
