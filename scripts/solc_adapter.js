#!/usr/bin/env node
// A `solc` executable on top of solc-js, for machines where no native solc can be
// downloaded. It speaks the part of native solc's command line that py-solc-x,
// brownie and Slither (crytic-compile, standard-json mode) use:
//   --version                      native-format version banner
//   --standard-json [FILE|-]       Standard JSON in (stdin or FILE), Standard JSON out
//   --base-path P, --include-path P, --allow-paths A,B   import resolution as solc does
// Output is written with blocking writes and drained before exit: a node process that
// exits right after a large write to a pipe can truncate it (seen at ~62 KB).
'use strict';

const fs = require('fs');
const path = require('path');

function fail(message, code) {
  fs.writeSync(2, message.endsWith('\n') ? message : message + '\n');
  process.exit(code === undefined ? 1 : code);
}

function loadCompiler() {
  try {
    return require('solc');
  } catch (err) {
    fail(`solc adapter: cannot load solc-js next to ${__dirname} (${err.code || err.message}); re-run 'make setup'`);
  }
}

// Blocking write of the whole buffer, retrying on EAGAIN (non-blocking pipes).
function writeFully(fd, text) {
  const buffer = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < buffer.length) {
    try {
      offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

function parseArgs(argv) {
  const options = { basePath: '', includePaths: [], allowPaths: [], inputFile: null, mode: null };
  const takesValue = new Set(['--base-path', '--include-path', '--allow-paths']);
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (takesValue.has(arg) && value === null) {
      if (i + 1 >= argv.length) fail(`the argument '${arg}' requires a value`);
      value = argv[++i];
    }
    switch (arg) {
      case '--version': options.mode = options.mode || 'version'; break;
      case '--help': options.mode = 'help'; break;
      case '--standard-json': options.mode = 'standard-json'; break;
      case '--base-path': options.basePath = value; break;
      case '--include-path': options.includePaths.push(value); break;
      case '--allow-paths': options.allowPaths.push(...value.split(',').filter(Boolean)); break;
      case '-': break;
      default:
        if (arg.startsWith('-')) fail(`unrecognised option '${arg}'`);
        if (options.inputFile) fail(`solc adapter: only one input file is supported with --standard-json`);
        options.inputFile = arg;
    }
  }
  return options;
}

function isInside(file, dir) {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

// Mirrors solc's FileReader: a source unit name is looked up under the base path, then
// each include path; the file must lie inside an allowed directory.
function makeImportCallback(options) {
  const base = path.resolve(options.basePath || '.');
  const roots = [base, ...options.includePaths.map((p) => path.resolve(p))];
  const allowed = [...roots, ...options.allowPaths.map((p) => path.resolve(p))];
  return function findImports(sourceUnitName) {
    const candidates = path.isAbsolute(sourceUnitName)
      ? [sourceUnitName]
      : roots.map((root) => path.join(root, sourceUnitName));
    for (const candidate of candidates) {
      if (!fs.existsSync(candidate) || !fs.statSync(candidate).isFile()) continue;
      const real = fs.realpathSync(candidate);
      if (!allowed.some((dir) => isInside(real, dir) || isInside(candidate, dir))) {
        return { error: `File outside of allowed directories. The following are allowed: ${allowed.join(', ')}` };
      }
      return { contents: fs.readFileSync(candidate, 'utf8') };
    }
    return { error: `File not found. Searched the following locations: ${roots.map((r) => `"${r}"`).join(', ')}.` };
  };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.mode === 'help') {
    writeFully(1, 'solc (solc-js adapter)\nUsage: solc --version | solc --standard-json [--base-path P] [--include-path P] [--allow-paths A,B] [FILE|-]\n');
    return;
  }
  if (options.mode === 'version') {
    const solc = loadCompiler();
    writeFully(1, `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (options.mode !== 'standard-json') {
    fail('solc adapter: only --version and --standard-json are supported (this is solc-js behind a native-style command line)');
  }
  const input = options.inputFile ? fs.readFileSync(options.inputFile, 'utf8') : fs.readFileSync(0, 'utf8');
  const solc = loadCompiler();
  // Like native solc in --standard-json mode: every problem, including invalid input
  // JSON and compile errors, is reported inside the output JSON with exit code 0.
  const output = solc.compile(input, { import: makeImportCallback(options) });
  writeFully(1, output.endsWith('\n') ? output : output + '\n');
}

try {
  main();
} catch (err) {
  fail(`solc adapter: ${err.message}`);
}
