#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Run one ONNX model in ONNX Runtime (onnxruntime-node, the peer qrun is measured
// against) and report its latency, and optionally write its outputs as .npy.
// Used only by bench/ and reference-output scripts, never by qrun itself.
//
//   node bench/ort_run.js MODEL [--input NAME=FILE.npy]... [--random-input]
//        [--repeat N] [--threads N] [--output-dir DIR] [--json]
//
// Session settings follow ../shared/models/MANIFEST.md: sequential execution,
// graph optimisation "all", inter-op threads 1, intra-op threads --threads (1).
'use strict';
const fs = require('fs');
const path = require('path');

function loadOrt() {
  const here = path.join(__dirname, 'node_modules', 'onnxruntime-node');
  try {
    return require(fs.existsSync(here) ? here : 'onnxruntime-node');
  } catch (e) {
    die('onnxruntime-node is not installed: run `npm install --ignore-scripts` in bench/');
  }
}

function die(msg) {
  process.stderr.write(`ort_run: error: ${msg}\n`);
  process.exit(1);
}

const { readNpy, writeNpy } = require('./npy');

// Same role as `qrun run --random-input`: deterministic values, symbolic dims = 1.
function randomInput(ort, meta) {
  const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  const n = dims.reduce((a, b) => a * b, 1);
  const arrays = { float32: Float32Array, uint8: Uint8Array, int8: Int8Array, int32: Int32Array };
  const A = arrays[meta.type];
  if (!A) die(`input '${meta.name}': --random-input does not support ${meta.type}`);
  const data = new A(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const u = (s >>> 8) / 16777216;
    data[i] = meta.type === 'float32' ? u * 2 - 1 : Math.floor(u * 256) - (meta.type === 'int8' ? 128 : 0);
  }
  return new ort.Tensor(meta.type, data, dims);
}

function parseArgs(argv) {
  const o = { inputs: {}, repeat: 1, threads: 1, random: false, json: false, outDir: null, model: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => (i + 1 < argv.length ? argv[++i] : die(`${a} needs a value`));
    if (a === '--input') {
      const v = next();
      const eq = v.indexOf('=');
      if (eq <= 0) die(`--input expects NAME=FILE.npy, got '${v}'`);
      o.inputs[v.slice(0, eq)] = v.slice(eq + 1);
    } else if (a === '--random-input') o.random = true;
    else if (a === '--repeat') o.repeat = Math.max(1, parseInt(next(), 10) || 1);
    else if (a === '--threads') o.threads = Math.max(1, parseInt(next(), 10) || 1);
    else if (a === '--output-dir') o.outDir = next();
    else if (a === '--json') o.json = true;
    else if (a.startsWith('-')) die(`unknown option ${a}`);
    else if (!o.model) o.model = a;
    else die(`unexpected argument ${a}`);
  }
  if (!o.model) die('usage: ort_run.js MODEL [--input NAME=FILE.npy]... [--random-input] [--repeat N] [--threads N] [--output-dir DIR] [--json]');
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  const sess = await ort.InferenceSession.create(o.model, {
    executionMode: 'sequential', graphOptimizationLevel: 'all',
    intraOpNumThreads: o.threads, interOpNumThreads: 1,
  });
  const feeds = {};
  for (const meta of sess.inputMetadata) {
    const file = o.inputs[meta.name];
    if (file) {
      const t = readNpy(file);
      feeds[meta.name] = new ort.Tensor(t.type, t.data, t.dims);
    } else if (o.random) feeds[meta.name] = randomInput(ort, meta);
    else die(`input '${meta.name}' not given (use --input ${meta.name}=FILE.npy or --random-input)`);
  }
  let out = await sess.run(feeds); // warm-up, also the reported outputs
  const times = [];
  for (let r = 0; r < o.repeat; r++) {
    const t0 = process.hrtime.bigint();
    out = await sess.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  if (o.outDir) {
    fs.mkdirSync(o.outDir, { recursive: true });
    sess.outputNames.forEach((name, i) => writeNpy(path.join(o.outDir, `output_${i}.npy`), out[name]));
  }
  const outputs = sess.outputNames.map((name) => ({ name, type: out[name].type, dims: out[name].dims }));
  if (o.json) console.log(JSON.stringify({ model: o.model, runtime: 'onnxruntime-node', time_ms: median, runs: o.repeat, threads: o.threads, outputs }));
  else console.log(`time: ${median.toFixed(3)} ms (onnxruntime, ${o.repeat} runs, median, ${o.threads} thread(s))`);
}

main().catch((e) => die(e.message || String(e)));
