#!/usr/bin/env node
// The emulator serving a generated tenant, generated in this process (no fixture file: a 1,000,000-user
// tenant as one JSON text is past what a JavaScript string can hold). Used by bench/scale.mjs.
// Usage: node bench/serve-generated.mjs USERS ADMINS SEED NOW [--no-throttle]
// Prints "listening on URL" once it serves, then "ready rss=… heapUsed=…" (MiB); stops on SIGTERM.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { generateTenant } = require(path.join(ROOT, 'dist/sim/generate.js'));
const { startEmulator } = require(path.join(ROOT, 'dist/sim/server.js'));
const { SIM_TOKEN } = require(path.join(ROOT, 'dist/graph/client.js'));

const [users, admins, seed, now] = process.argv.slice(2);
const throttle = !process.argv.includes('--no-throttle');
const t0 = performance.now();
let fixture = generateTenant({ users: Number(users), admins: Number(admins), seed: Number(seed), now });
const generated = performance.now();
const emulator = await startEmulator({ tenant: fixture, port: 0, host: '127.0.0.1', token: SIM_TOKEN, faults: { throttle } });
fixture = undefined;
const mib = (b) => (b / 1048576).toFixed(0);
process.stdout.write(`listening on ${emulator.url}\n`);
const m = process.memoryUsage();
process.stdout.write(`ready pid=${process.pid} generate=${((generated - t0) / 1000).toFixed(1)}s load=${((performance.now() - generated) / 1000).toFixed(1)}s rss=${mib(m.rss)} heapUsed=${mib(m.heapUsed)}\n`);
const stop = async () => {
  await emulator.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
