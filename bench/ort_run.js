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

const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array],
  '<i4': ['int32', Int32Array], '<i8': ['int64', BigInt64Array],
  '<u2': ['uint16', Uint16Array], '<i2': ['int16', Int16Array],
  '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY')
    die(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape) die(`${file}: unreadable .npy header`);
  if (/'fortran_order':\s*True/.test(header)) die(`${file}: Fortran-order arrays are not supported`);
  const t = NPY_TYPES[descr[1]];
  if (!t) die(`${file}: unsupported dtype ${descr[1]}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const n = dims.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const bytes = buf.subarray(off, off + n * t[1].BYTES_PER_ELEMENT);
  if (bytes.length !== n * t[1].BYTES_PER_ELEMENT) die(`${file}: truncated data`);
  const data = new t[1](new Uint8Array(bytes).buffer);
  return { type: t[0], data: t[0] === 'bool' ? Uint8Array.from(data, (v) => v !== 0) : data, dims };
}

function writeNpy(file, tensor) {
  const entry = Object.entries(NPY_TYPES).find(([, t]) => t[0] === tensor.type);
  if (!entry) die(`output type ${tensor.type} cannot be written as .npy`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${entry[0]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), data]));
}

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
