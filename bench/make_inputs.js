#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Turn the corpus datasets into one float32 .npy per sample for qrun and ONNX Runtime:
//
//   node bench/make_inputs.js cifar N OUTDIR   ../shared eembc-ic01-cifar10: [1,3,32,32]
//                                              CHW float pixels 0..255 (from 32x32x3 HWC .bin)
//   node bench/make_inputs.js mnist N OUTDIR   mnist-t10k: [1,1,28,28] float pixels 0..255
//
// Files are named sample_KKKK.npy (first N samples in the dataset's label order) and
// OUTDIR/labels.txt holds "sample_KKKK.npy LABEL" lines.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { writeNpy } = require('./npy');

// ../shared next to the checkout, or $QRUN_SHARED.
const SHARED = process.env.QRUN_SHARED || path.join(__dirname, '..', '..', 'shared');
const DATA = path.join(SHARED, 'models', 'data');

function die(msg) {
  process.stderr.write(`make_inputs: error: ${msg}\n`);
  process.exit(1);
}

function cifar(n) {
  const dir = path.join(DATA, 'eembc-ic01-cifar10');
  const rows = fs.readFileSync(path.join(dir, 'y_labels.csv'), 'utf8').trim().split('\n');
  return rows.slice(0, n).map((row) => {
    const [file, , label] = row.split(',');
    const hwc = fs.readFileSync(path.join(dir, file));
    if (hwc.length !== 3072) die(`${file}: expected 3072 bytes`);
    const chw = new Float32Array(3072);
    for (let c = 0; c < 3; c++)
      for (let p = 0; p < 1024; p++) chw[c * 1024 + p] = hwc[p * 3 + c];
    return { data: chw, dims: [1, 3, 32, 32], label: Number(label) };
  });
}

function mnist(n) {
  const dir = path.join(DATA, 'mnist-t10k');
  const img = zlib.gunzipSync(fs.readFileSync(path.join(dir, 't10k-images-idx3-ubyte.gz')));
  const lab = zlib.gunzipSync(fs.readFileSync(path.join(dir, 't10k-labels-idx1-ubyte.gz')));
  const out = [];
  for (let k = 0; k < n; k++) {
    const px = img.subarray(16 + k * 784, 16 + (k + 1) * 784);
    out.push({ data: Float32Array.from(px), dims: [1, 1, 28, 28], label: lab[8 + k] });
  }
  return out;
}

const [kind, nArg, outDir] = process.argv.slice(2);
const n = parseInt(nArg, 10);
if (!outDir || !(n > 0) || !['cifar', 'mnist'].includes(kind))
  die('usage: make_inputs.js cifar|mnist N OUTDIR');
const samples = kind === 'cifar' ? cifar(n) : mnist(n);
fs.mkdirSync(outDir, { recursive: true });
const labels = samples.map((s, k) => {
  const name = `sample_${String(k).padStart(4, '0')}.npy`;
  writeNpy(path.join(outDir, name), { type: 'float32', data: s.data, dims: s.dims });
  return `${name} ${s.label}`;
});
fs.writeFileSync(path.join(outDir, 'labels.txt'), labels.join('\n') + '\n');
