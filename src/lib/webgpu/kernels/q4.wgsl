// MLC q4 weights, shared by gemv.wgsl and matmul.wgsl (the .ts prepends this text to both):
//   w_q4   [N, K/8] u32, 8 nibbles per word, lowest bits first (MLC q4f16_1 / q4f32_1)
//   scales [N, K/32] f16 packed two per u32 (SCALE_F16) or f32 bit patterns;  w = (q − 7) · scale

override SCALE_F16: bool = true;

// The u32 word of a scales buffer holding the scale of quantization group i (row-major [N, K/32]).
fn scale_word(i: u32) -> u32 { return select(i, i >> 1u, SCALE_F16); }

// Group i's scale from its word (scale_word(i)).
fn scale_value(word: u32, i: u32) -> f32 {
  if (SCALE_F16) {
    let pair = unpack2x16float(word);
    return select(pair.x, pair.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(word);
}
