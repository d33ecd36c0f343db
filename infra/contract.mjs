// openapi.yaml compiled at build time into functions/lib/openapi.gen.ts (not committed): the document
// as data, so nothing parses YAML at run time, and the TypeScript types of every operation
// (openapi-typescript), so that a handler reads typed input and an operationId that the document
// lacks fails the type check. `npm run build` and `npm run typecheck` write it first.
import { readFileSync, writeFileSync } from 'node:fs';
import openapiTS, { astToString } from 'openapi-typescript';
import { parse } from 'yaml';

export const contractModule = 'functions/lib/openapi.gen.ts';

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

export async function writeContract(specFile = 'openapi.yaml', out = contractModule) {
  const document = parse(readFileSync(specFile, 'utf8'));
  const types = astToString(await openapiTS(asValidated(document), { alphabetize: false }));
  writeFileSync(
    out,
    `// Generated from ${specFile} by infra/contract.mjs: do not edit.
import type { OpenAPIObject } from 'openapi3-ts/oas31';

// JSON text: parsed faster than an object literal, and not type-checked member by member.
export const document: OpenAPIObject = JSON.parse(${JSON.stringify(JSON.stringify(document))});

${types}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await writeContract();
