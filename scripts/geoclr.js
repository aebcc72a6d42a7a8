#!/usr/bin/env node
// The `geoclr` bin: a thin launcher for the compiled CLI (built by `npm install` through the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'scripts', 'cli.js');
if (!existsSync(cli)) {
  console.error(`geoclr: ${cli} is missing — build it first with \`npm run build\` (npm install does this).`);
  process.exit(2);
}
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv.slice(2));
