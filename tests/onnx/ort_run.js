// Runs an ONNX model in ONNX Runtime (npm onnxruntime-node) on raw uint8
// images, for tests/onnx:
//   node ort_run.js MODEL.onnx PIXELS.u8 N C H W OUT.f32 [all|disabled]
// The model input is x = pixel / 255 as float32 [N, C, H, W]; OUT gets the
// logits as raw float32. The last argument is ORT's graph optimization level
// (default all: QDQ pairs are fused into its integer QLinear* kernels).
const fs = require('fs');
const path = require('path');
const ort = require(process.env.QACCEL_ORT_MODULE ||
  path.join(__dirname, '..', '..', 'third_party', 'npm', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [model, pixelsPath, n, c, h, w, out, level] = process.argv.slice(2);
  const N = +n, C = +c, H = +h, W = +w;
  const px = fs.readFileSync(pixelsPath);
  if (px.length !== N * C * H * W) throw new Error(`${pixelsPath}: ${px.length} bytes, expected ${N * C * H * W}`);
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: level || 'all', intraOpNumThreads: 1, interOpNumThreads: 1,
  });
  const x = new Float32Array(px.length);
  for (let i = 0; i < px.length; ++i) x[i] = px[i] / 255;
  const dims = H > 0 ? [N, C, H, W] : [N, C];
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor('float32', x, dims);
  const result = await session.run(feeds);
  const logits = result[session.outputNames[0]].data;
  fs.writeFileSync(out, Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength));
}
main().catch((e) => { console.error(`ort_run: ${e.message}`); process.exit(1); });
