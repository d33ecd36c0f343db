// The names images go by: those the files name, as each engine stores them, as docker-compose looks
// for a service's built image, and a container's health as `ps` shows it.
import { describe, expect, it } from 'vitest';
import { composeImageName, qualifiedImageName } from './engine.js';
import { healthOf, startedTooSoon } from './health.js';
import { composeImages, dockerfileBaseImages } from './images.js';

describe('dockerfileBaseImages', () => {
  it('lists the images stages start from, once each, not the stages themselves', () => {
    const dockerfile = 'FROM node:20-bookworm-slim AS build\nRUN x\nFROM node:20-bookworm-slim AS service\nCOPY --from=build /a /a\nFROM build AS again\nFROM --platform=linux/amd64 nginx:stable-alpine AS web\n';
    expect(dockerfileBaseImages(dockerfile)).toEqual(['node:20-bookworm-slim', 'nginx:stable-alpine']);
  });
});

describe('composeImages', () => {
  it('lists the images of services that are not built', () => {
    expect(composeImages({ services: { db: { image: 'postgres:17-alpine' }, api: { build: { context: '.', dockerfile: 'Dockerfile', target: 'service' } }, db2: { image: 'postgres:17-alpine' } } })).toEqual(['postgres:17-alpine']);
  });
});

describe('image names', () => {
  it('are qualified as podman stores a short name pulled from Docker Hub', () => {
    expect(['postgres:17-alpine', 'bitnami/redis:7', 'localhost/base:1', 'quay.io/x/y:2'].map((n) => qualifiedImageName('podman', n))).toEqual([
      'docker.io/library/postgres:17-alpine',
      'docker.io/bitnami/redis:7',
      'localhost/base:1',
      'quay.io/x/y:2',
    ]);
    expect(qualifiedImageName('docker', 'postgres:17-alpine')).toBe('postgres:17-alpine');
  });

  it("are docker-compose 1.29's <project>_<service> for a built service", () => {
    expect(composeImageName('podman', 'shoptest1', 'payments-worker')).toBe('localhost/shoptest1_payments-worker:latest');
    expect(composeImageName('docker', 'shoptest1', 'web')).toBe('shoptest1_web:latest');
  });
});

describe('healthOf', () => {
  it("reads podman's and Docker's ps status", () => {
    expect(['Up 40 seconds ago (healthy)', 'Up 2 seconds (health: starting)', 'Up 5 minutes (unhealthy)', 'Up 3 seconds', 'Exited (137) 2 seconds ago', 'Created'].map(healthOf)).toEqual([
      'healthy',
      'starting',
      'unhealthy',
      'none',
      'down',
      'down',
    ]);
  });
});

describe('startedTooSoon', () => {
  it('names a container that started before what it waits for was healthy, beyond the slack', () => {
    const edges = [
      { service: 'p_payments_1', startedAt: 10_000, dependency: 'p_postgres_1', healthyAt: 9_000 },
      { service: 'p_orders_1', startedAt: 10_000, dependency: 'p_postgres_1', healthyAt: 11_000 },
      { service: 'p_gateway_1', startedAt: 10_000, dependency: 'p_payments_1', healthyAt: 14_000 },
      { service: 'p_web_1', startedAt: 10_000, dependency: 'p_gateway_1', healthyAt: undefined },
    ];
    expect(startedTooSoon(edges)).toEqual(['p_gateway_1 started 4000 ms before p_payments_1 was healthy', 'p_web_1 started while p_gateway_1 was never healthy']);
  });
});
