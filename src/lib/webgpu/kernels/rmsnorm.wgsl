// RMSNorm forward, multiplier form (the stored vector already holds HF's 1 + w):
//   y[t, :] (+)= x[t, :] · rsqrt(mean(x[t, :]²) + eps) · w
//
//   x [T, C] f32, w [C] f32, y [T, C] f32. One workgroup per row; RMS_THREADS threads stride over C
//   and reduce Σx² in shared memory. `accumulate` = 1 fuses Gemma-2's post-norm residual
//   h += RMSNorm_post(o) into one pass (y = h then); rmsnorm_add (below) writes h + RMSNorm_post(o)
//   to another buffer.
// The backward (rmsnorm_backward, below) differentiates it for LoRA training; the norm is frozen.

// Bindings: RMSNORM_BINDINGS in rmsnorm.ts, prepended to this file.

struct Params {
  T: u32,
  C: u32,
  eps: f32,
  accumulate: u32,
}

// Threads per row (a power of two ≤ 256): 256 for a few rows (decode: C = 2304 is 9 strided
// reads per thread, the tree takes 8 steps), 64 for many rows (prefill, training: the rows alone
// fill the GPU, and a smaller tree has fewer barriers).
override RMS_THREADS: u32 = 256u;

var<workgroup> red: array<f32, 256>;

// Σ over the row's RMS_THREADS threads of v (every thread gets the sum).
fn row_sum(v: f32, lid: u32) -> f32 {
  workgroupBarrier(); // red may still be read by the previous sum
  red[lid] = v;
  for (var s = RMS_THREADS / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { red[lid] += red[lid + s]; }
  }
  workgroupBarrier();
  return red[0];
}

@compute @workgroup_size(RMS_THREADS)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  let base = t * p.C;
  var ss = 0.0;
  for (var c = lid; c < p.C; c += RMS_THREADS) { let v = x[base + c]; ss += v * v; }
  let r = inverseSqrt(row_sum(ss, lid) / f32(p.C) + p.eps);
  for (var c = lid; c < p.C; c += RMS_THREADS) {
    let v = x[base + c] * r * w[c];
    y[base + c] = select(v, y[base + c] + v, p.accumulate == 1u);
  }
}

// ---- rmsnorm_add: the accumulate mode into a separate output ------------------------------------
//
//   x [T, C], w [C], res [T, C]  →  y [T, C] = res + RMSNorm(x)·w   (y distinct from x and res)
//
// The same f32 operations as rmsnorm_forward with accumulate = 1 (res read where y was), so a
// residual stream can be read from one buffer (a training checkpoint) and written to another.

@compute @workgroup_size(RMS_THREADS)
fn rmsnorm_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let C = ad_p.C;
  let base = wid.x * C;
  var ss = 0.0;
  for (var c = lid; c < C; c += RMS_THREADS) { let v = ad_x[base + c]; ss += v * v; }
  let r = inverseSqrt(row_sum(ss, lid) / f32(C) + ad_p.eps);
  for (var c = lid; c < C; c += RMS_THREADS) {
    let v = ad_x[base + c] * r * ad_w[c];
    ad_y[base + c] = ad_res[base + c] + v;
  }
}

// ---- rmsnorm_residual: a post-norm's residual add and the next pre-norm in one pass -------------
//
//   o [T, C], h [T, C] (read-write), wa, wb [C]  →  h += RMSNorm_a(o);  x = RMSNorm_b(h)
//
// Gemma-2's block boundary: post_attention_norm + residual + pre_feedforward_norm, or
// post_feedforward_norm + residual + the next layer's input_norm (the final norm after the last
// layer). The same f32 operations as rmsnorm_forward with accumulate, then rmsnorm_forward.

@compute @workgroup_size(RMS_THREADS)
fn rmsnorm_residual(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let C = rr_p.C;
  let base = wid.x * C;
  var ss = 0.0;
  for (var c = lid; c < C; c += RMS_THREADS) { let v = rr_o[base + c]; ss += v * v; }
  let ra = inverseSqrt(row_sum(ss, lid) / f32(C) + rr_p.eps);
  var sh = 0.0;
  for (var c = lid; c < C; c += RMS_THREADS) {
    let h = rr_h[base + c] + rr_o[base + c] * ra * rr_wa[c];
    rr_h[base + c] = h;
    sh += h * h;
  }
  let rb = inverseSqrt(row_sum(sh, lid) / f32(C) + rr_p.eps);
  // each thread re-reads only the h values it wrote itself
  for (var c = lid; c < C; c += RMS_THREADS) { rr_x[base + c] = rr_h[base + c] * rb * rr_wb[c]; }
}

// ---- rmsnorm_backward -------------------------------------------------------------------------
//
//   dy [T, C], x [T, C] (the forward's INPUT), w [C]  →  dx [T, C]  (dx += … with accumulate = 1)
//
// In the forward this was `y = x · r · w`, r = rsqrt(mean(x²) + eps). With u = dy ⊙ w, r depends
// on every x_k (∂r/∂x_c = −r³·x_c / C), so besides the direct r·u_c each x_c collects the
// row-wide term:
//   dx_c = r·u_c − (r³/C)·x_c·Σ_k x_k·u_k
// Two row reductions (Σx² for r, Σx·u for the correction) share one tree. accumulate = 1 adds
// into dx: the residual stream's gradient receives the branch's contribution (dh += …).

var<workgroup> red_xu: array<f32, 256>;

@compute @workgroup_size(RMS_THREADS)
fn rmsnorm_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let C = bw_p.C;
  let base = wid.x * C;
  var ss = 0.0;
  var xu = 0.0;
  for (var c = lid; c < C; c += RMS_THREADS) {
    let xv = bw_x[base + c];
    ss += xv * xv;
    xu += xv * bw_dy[base + c] * bw_w[c];
  }
  red[lid] = ss;
  red_xu[lid] = xu;
  for (var s = RMS_THREADS / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      red[lid] += red[lid + s];
      red_xu[lid] += red_xu[lid + s];
    }
  }
  workgroupBarrier();
  let r = inverseSqrt(red[0] / f32(C) + bw_p.eps);
  let k = r * r * r / f32(C) * red_xu[0];
  for (var c = lid; c < C; c += RMS_THREADS) {
    let v = r * bw_dy[base + c] * bw_w[c] - k * bw_x[base + c];
    bw_dx[base + c] = select(v, bw_dx[base + c] + v, bw_p.accumulate == 1u);
  }
}
