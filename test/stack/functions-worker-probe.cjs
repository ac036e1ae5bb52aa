// Loads an assembled Functions package the way the Azure Functions Node.js worker does: the worker
// provides the virtual module `@azure/functions-core`, then requires the file named by package.json
// "main". This stand-in for the worker records what the package's own `@azure/functions` registers and
// prints it as one JSON line. Usage: node functions-worker-probe.cjs PACKAGE_DIR
'use strict';
const Module = require('node:module');
const path = require('node:path');

const dir = path.resolve(process.argv[2]);
const functions = [];
const models = [];
const core = {
  setProgrammingModel: (model) => models.push({ name: model.name, version: model.version }),
  registerFunction: (metadata, callback) => {
    functions.push({ ...metadata, handler: typeof callback });
    return { dispose() {} };
  },
  registerHook: () => ({ dispose() {} }),
  log: () => {},
};
// The worker injects the core API the same way: by answering require('@azure/functions-core').
const load = Module._load;
Module._load = function (request, parent, isMain) {
  return request === '@azure/functions-core' ? core : load.call(this, request, parent, isMain);
};

const manifest = require(path.join(dir, 'package.json'));
require(path.join(dir, manifest.main));
// The reconcile pipeline is loaded lazily on the first invocation (src/apps/functions/runtime.ts): load
// it now too, so a dependency missing from the package fails here and not on the first timer run.
const runtime = require(path.join(dir, 'dist/apps/functions/scheduled.js'));
const sdk = require(require.resolve('@azure/functions/package.json', { paths: [dir] }));

process.stdout.write(JSON.stringify({
  models,
  functions,
  runtimeExports: Object.keys(runtime).sort(),
  azureFunctionsVersion: sdk.version,
  resolvedFrom: path.relative(dir, require.resolve('@azure/functions', { paths: [path.join(dir, manifest.main)] })),
}) + '\n');
