// The two YAML documents, made into modules at build time (not committed), so that nothing parses
// YAML at run time: openapi.yaml into functions/lib/openapi.gen.ts, the document as data and the
// TypeScript types of every operation (openapi-typescript), so that a handler reads typed input and
// an operationId that the document lacks fails the type check; serverless.yml into
// infra/manifest.gen.ts. `npm run build` and `npm run typecheck` write them first.
import { readFileSync, writeFileSync } from 'node:fs';
import openapiTS, { astToString } from 'openapi-typescript';
import { parse } from 'yaml';


/**
 * The request as a handler sees it once validated: a parameter with a default is always there.
 * Only the copy given to the type generator is changed.
 */
function asValidated(document) {
  const copy = structuredClone(document);
  const resolve = (node) => (node?.$ref ? node.$ref.slice(2).split('/').reduce((at, key) => at[key], copy) : node);
  for (const item of Object.values(copy.paths ?? {})) {
    for (const operation of Object.values(item)) {
      operation.parameters = (operation.parameters ?? []).map((p) => {
        const parameter = resolve(p);
        return resolve(parameter.schema)?.default === undefined ? p : { ...parameter, required: true };
      });
    }
  }
  return copy;
}

async function writeContract(specFile = 'openapi.yaml', out = 'functions/lib/openapi.gen.ts') {
  const document = parse(readFileSync(specFile, 'utf8'));
  const types = astToString(await openapiTS(asValidated(document), { alphabetize: false }));
  writeFileSync(
    out,
    `// Generated from ${specFile} by infra/generate.mjs: do not edit.
import type { OpenAPIObject } from 'openapi3-ts/oas31';

// JSON text: parsed faster than an object literal, and not type-checked member by member.
export const document: OpenAPIObject = JSON.parse(${JSON.stringify(JSON.stringify(document))});

${types}`,
  );
}

function writeManifest(manifestFile = 'serverless.yml', out = 'infra/manifest.gen.ts') {
  const manifest = parse(readFileSync(manifestFile, 'utf8'));
  writeFileSync(
    out,
    `// Generated from ${manifestFile} by infra/generate.mjs: do not edit.
export const rawManifest: unknown = JSON.parse(${JSON.stringify(JSON.stringify(manifest))});
`,
  );
}

export async function writeGenerated() {
  await writeContract();
  writeManifest();
}

if (import.meta.url === `file://${process.argv[1]}`) await writeGenerated();
