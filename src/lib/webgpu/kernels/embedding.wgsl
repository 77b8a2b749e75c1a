// Token embedding forward: h[t, :] = E[ids[t], :] · normalizer   (normalizer = f32(sqrt(d)))
//
//   ids [T] u32;  E [V, d] split into row chunks, this dispatch holds rows rowStart..rowStart+rows-1
//   (tokens whose id falls outside the chunk are left for the dispatch of their chunk);
//   h [T, d] f32.
//   f32: table [rows, d] f32.   q4: table [rows, d/8] u32 + scales [rows, d/32] (f16 pairs or f32).
// Grid (ceil(d / EMBED_THREADS), T). Backward (scatter-add into a LoRA'd embedding) is not needed:
// the embedding is frozen and LoRA does not target it.

struct Params {
  T: u32,
  d: u32,
  rowStart: u32,
  rows: u32,
  normalizer: f32,
}

override SCALE_F16: bool = true;

// One thread per output element; 256 covers most of a 2304-wide row in 9 workgroups.
const EMBED_THREADS: u32 = 256u;

// Bindings: EMBEDDING_BINDINGS in embedding.ts (ids, h, the table (and the q4 scales), then the
// parameters), prepended to this file.

fn scale_at(i: u32) -> f32 {
  if (SCALE_F16) {
    let pair = unpack2x16float(scales[i >> 1u]);
    return select(pair.x, pair.y, (i & 1u) == 1u);
  }
  return bitcast<f32>(scales[i]);
}

// This thread's output element: (token t, column c, row r of the chunk, 1), or w = 0 when it has
// none here (past d, or the token's id is in another chunk).
fn locate(wid: vec3<u32>, lid: u32, p: Params) -> vec4<u32> {
  let c = wid.x * EMBED_THREADS + lid;
  let id = ids[wid.y];
  let here = c < p.d && id >= p.rowStart && id < p.rowStart + p.rows;
  return vec4<u32>(wid.y, c, id - p.rowStart, select(0u, 1u, here));
}

@compute @workgroup_size(EMBED_THREADS)
fn embed_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = p_f32;
  let at = locate(wid, lid, p);
  if (at.w == 0u) { return; }
  h[at.x * p.d + at.y] = table_f32[at.z * p.d + at.y] * p.normalizer;
}

@compute @workgroup_size(EMBED_THREADS)
fn embed_q4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = p_q4;
  let at = locate(wid, lid, p);
  if (at.w == 0u) { return; }
  let c = at.y;
  let word = table_q4[at.z * (p.d / 8u) + c / 8u];
  let q = f32((word >> (4u * (c % 8u))) & 15u);
  h[at.x * p.d + c] = (q - 7.0) * scale_at(at.z * (p.d / 32u) + c / 32u) * p.normalizer;
}
