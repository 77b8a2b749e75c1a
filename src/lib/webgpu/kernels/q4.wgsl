// MLC q4 weights, shared by gemv.wgsl and matmul.wgsl (the .ts prepends this text to both):
//   w_q4   [N, K/8] u32, 8 nibbles per word, lowest bits first (MLC q4f16_1 / q4f32_1)
//   scales [N, K/32] f16 packed two per u32 (SCALE_F16) or f32 bit patterns;  w = (q − 7) · scale
// The including module declares `scales: array<u32>` (storage, read).

override SCALE_F16: bool = true;

// Scale of quantization group i (row-major over [N, K/32]).
fn scale_at(i: u32) -> f32 {
  if (SCALE_F16) {
    let pair = unpack2x16float(scales[i >> 1u]);
    return select(pair.x, pair.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(scales[i]);
}
