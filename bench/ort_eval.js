#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Run a one-input model in ONNX Runtime over every DIR/*.npy with one session (settings as
// ort_run.js) and print "FILE ARGMAX" per sample (argmax of output 0); with --output-dir,
// also write output 0 of each sample as OUTDIR/FILE.
//
//   node bench/ort_eval.js MODEL DIR [--output-dir OUTDIR] [--opt all|extended|basic|disabled]
//
// --opt sets ORT's graph optimization level (default all). ORT 1.30's QDQ fusion turns FP8
// DequantizeLinear -> Conv -> QuantizeLinear into a QLinearConv its kernels reject, so FP8 QDQ
// models run with --opt basic (constant folding and the like, no QDQ fusion).
'use strict';
const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('./npy');

function die(msg) {
  process.stderr.write(`ort_eval: error: ${msg}\n`);
  process.exit(1);
}

function loadOrt() {
  const here = path.join(__dirname, 'node_modules', 'onnxruntime-node');
  try {
    return require(fs.existsSync(here) ? here : 'onnxruntime-node');
  } catch (e) {
    die('onnxruntime-node is not installed: run `npm install --ignore-scripts` in bench/');
  }
}

async function main() {
  const args = process.argv.slice(2);
  let outDir = null;
  let opt = 'all';
  const pos = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--output-dir') outDir = args[++i];
    else if (args[i] === '--opt') opt = args[++i];
    else pos.push(args[i]);
  }
  const [model, dir] = pos;
  if (!model || !dir) die('usage: ort_eval.js MODEL DIR [--output-dir OUTDIR] [--opt LEVEL]');
  const ort = loadOrt();
  const sess = await ort.InferenceSession.create(model, {
    executionMode: 'sequential', graphOptimizationLevel: opt,
    intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  if (sess.inputNames.length !== 1) die(`${model}: expected one input`);
  if (outDir) fs.mkdirSync(outDir, { recursive: true });
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.npy')).sort();
  for (const f of files) {
    const t = readNpy(path.join(dir, f));
    const out = await sess.run({ [sess.inputNames[0]]: new ort.Tensor(t.type, t.data, t.dims) });
    const y = out[sess.outputNames[0]];
    let best = 0;
    for (let i = 1; i < y.data.length; i++) if (y.data[i] > y.data[best]) best = i;
    if (outDir) writeNpy(path.join(outDir, f), y);
    process.stdout.write(`${f} ${best}\n`);
  }
}

main().catch((e) => die(e.message || String(e)));
