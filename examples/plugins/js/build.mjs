// node build.mjs SOURCE.js WIT_DIR WORLD OUT.wasm: componentize-js through its API, with absolute
// paths (its CLI has failed on relative WIT paths).
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';

const [source, wit, worldName, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node build.mjs SOURCE.js WIT_DIR WORLD OUT.wasm');
  process.exit(2);
}
const { component } = await componentize({ sourcePath: resolve(source), witPath: resolve(wit), worldName });
await writeFile(resolve(out), component);
