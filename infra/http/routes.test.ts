import { describe, expect, it } from 'vitest';
import type { HttpProblem } from '../../functions/lib/problem.js';
import { matchRoute, type Route } from './routes.js';

describe('matchRoute', () => {
  const route = (method: string, path: string, name: string): Route => ({ method, path, name, upstream: 'http://127.0.0.1:1' });
  const wallet = route('GET', '/api/wallet/{user_id}', 'getWallet');
  const create = route('GET', '/api/wallet/create', 'create');
  const deposit = route('POST', '/api/wallet/{user_id}/deposit', 'deposit');
  const asset = route('GET', '/docs/{file+}', 'asset');

  it('decodes path parameters', () => {
    expect(matchRoute([wallet], 'GET', '/api/wallet/a%2Fb%20c')).toEqual({ route: wallet, pathParameters: { user_id: 'a/b c' } });
  });

  it('prefers a literal segment over a parameter, whatever the order of the routes', () => {
    expect(matchRoute([wallet, create], 'GET', '/api/wallet/create')).toMatchObject({ route: create });
    expect(matchRoute([create, wallet], 'GET', '/api/wallet/create')).toMatchObject({ route: create });
    expect(matchRoute([create, wallet], 'GET', '/api/wallet/u1')).toMatchObject({ route: wallet });
  });

  it('lets {name+} take the rest of the path, but not nothing', () => {
    expect(matchRoute([asset], 'GET', '/docs/css/site.css')).toEqual({ route: asset, pathParameters: { file: 'css/site.css' } });
    expect(matchRoute([asset], 'GET', '/docs')).toBeUndefined();
  });

  it('does not match a trailing slash, an empty segment or an unknown path', () => {
    expect(matchRoute([wallet, deposit], 'GET', '/api/wallet/u1/')).toBeUndefined();
    expect(matchRoute([wallet, deposit], 'POST', '/api/wallet//deposit')).toBeUndefined();
    expect(matchRoute([wallet, deposit], 'GET', '/api/nothing')).toBeUndefined();
  });

  it('lists the allowed methods when only the method is wrong', () => {
    const update = route('PUT', '/api/wallet/{user_id}', 'update');
    expect(matchRoute([update, wallet, deposit], 'DELETE', '/api/wallet/u1')).toEqual({ allow: ['GET', 'PUT'] });
  });

  it('rejects a malformed escape with a 400 problem', () => {
    expect(() => matchRoute([wallet], 'GET', '/api/wallet/%zz')).toThrow(expect.objectContaining({ status: 400 }) as HttpProblem);
  });
});
