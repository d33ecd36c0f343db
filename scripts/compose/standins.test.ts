// Which mirror the stand-ins' base comes from, which recipe stands in for which image, and when a
// stand-in must be rebuilt.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { composeImages, dockerfileBaseImages, type ComposeConfig } from './images.js';
import { debianSources, hashOf, nodeMismatch, recipeFiles, recipeFor } from './standins.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const recipesDir = join(root, 'infra/docker/standins');

describe('debianSources', () => {
  it("takes the Debian archive of this machine's deb822 sources, and ignores other repositories", () => {
    const sources = debianSources([
      `Types: deb
URIs: http://mirror.example/debian
Suites: trixie trixie-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: trixie-security
Components: main
`,
      'deb https://download.example/linux/debian bookworm stable\ndeb https://packages.example/apt cloud-sdk-bookworm main\n',
    ]);
    expect(sources).toEqual({
      mirror: 'http://mirror.example/debian',
      list: 'deb http://mirror.example/debian bookworm main\ndeb http://mirror.example/debian bookworm-updates main\ndeb http://mirror.example/debian-security bookworm-security main\n',
    });
  });

  it('reads the one-line format, with options and comments', () => {
    const { mirror, list } = debianSources(['# a comment\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.example/debian/ bookworm main # trailing\n']);
    expect(mirror).toBe('http://ftp.example/debian');
    expect(list).toContain('deb http://deb.debian.org/debian-security bookworm-security main');
  });

  it("falls back to Debian's public archive where the machine lists none", () => {
    expect(debianSources(['deb http://archive.example/ubuntu noble-proposed universe\n']).mirror).toBe('http://deb.debian.org/debian');
  });
});

describe('the stand-in recipes', () => {
  const dockerfile = readFileSync(join(root, 'infra/docker/Dockerfile'), 'utf8');
  const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as ComposeConfig;

  it('stand in for every image the Dockerfile and the compose file name, each with its Containerfile', () => {
    const images = [...dockerfileBaseImages(dockerfile), ...composeImages(compose)];
    expect(images.length).toBeGreaterThanOrEqual(4);
    for (const image of images) {
      const recipe = recipeFor(image);
      expect(recipe, image).toBeDefined();
      expect(recipeFiles(recipesDir, recipe!), image).toContain(`${recipe}.Containerfile`);
    }
    expect(recipeFiles(recipesDir, 'base')).toEqual(['base.Containerfile']);
  });

  it('know an image by its repository, whatever its registry and tag', () => {
    expect(['postgres:17-alpine', 'docker.io/library/rabbitmq:4-management-alpine', 'nginx', 'redis:7'].map(recipeFor)).toEqual(['postgres', 'rabbitmq', 'nginx', undefined]);
  });

  it("refuse a node image of another major than this machine's node", () => {
    expect(nodeMismatch('node:20-bookworm-slim', 'v20.20.2')).toBeUndefined();
    expect(nodeMismatch('node:22-bookworm-slim', 'v20.20.2')).toBe("node:22-bookworm-slim needs Node 22, and its stand-in copies this machine's node, which is v20.20.2");
  });

  it('are rebuilt when any part of their recipe changes', () => {
    expect(hashOf('a', 'b')).toBe(hashOf('a', 'b'));
    expect(hashOf('a', 'b')).not.toBe(hashOf('a', 'c'));
    expect(hashOf('ab')).not.toBe(hashOf('a', 'b'));
  });
});
