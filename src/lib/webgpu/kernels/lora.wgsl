// LoRA branches of a group of projections that share their input x (q | k | v, gate | up, or one
// projection alone), forward and backward (PEFT's lora.Linear, unmerged), one dispatch per step
// for the whole group:
//
//   forward   x̃_m = dropout_m(x)  (training only; keep-mask / (1 − p), else x̃_m = x)
//             u_m = x̃_m A_mᵀ                 [T, R_m]   lora_forward (one dispatch)
//             y_m += s_m · u_m B_mᵀ           [T, OUT_m]
//     gelu:   act = gelu_tanh(y_0 + s_0·u_0 B_0ᵀ) ⊙ (y_1 + s_1·u_1 B_1ᵀ)   (y_0, y_1: the base
//             projections gate, up; act [T, OUT_0]: the fused decode's gelu-gate, one dispatch)
//   backward  (the forward line differentiated)
//             u_m = x̃_m A_mᵀ (recomputed)     [T, R_m]   lora_backward_rows
//             g_m = dy_m B_m                  [T, R_m]
//             dx += Σ_m s_m · (g_m A_m) ⊙ mask_m/(1−p)   [T, IN]
//             dB_m += s_m · dy_mᵀ u_m         [OUT_m, R_m]  lora_weight_grads
//             dA_m += s_m · g_mᵀ x̃_m          [R_m, IN]
//
//   x [T, IN]; y_m / dy_m rows of ld_m floats, the member's OUT_m columns from col_m, in the
//   output (or gradient) binding slot_m; A_m [R_m, IN], B_m [OUT_m, R_m] f32 row-major (PEFT's
//   layout) at float offsets A_m, B_m of the weights binding (or of the A and B bindings); u, g
//   [T, RT] scratch, member m's ranks at columns r0_m.. (RT = Σ R_m ≤ MAX_RANK).
//
// The dropout mask of a member is a hash of (seed_m, t, k): the backward recomputes exactly the
// forward's mask (and, with the same reduction, exactly its u) when it is given the same seeds and
// the same rows — nothing is stored between the two.
// Bindings are declared by lora.ts (they differ by entry point and by how the weights are bound)
// through the ld_* / add_* / st_* accessors below; params last.

struct Params {
  T: u32,
  IN: u32,
  M: u32,        // members (1..3)
  RT: u32,       // Σ R_m
  dropout: f32,  // p ∈ [0, 1); 0 = no dropout
  gelu: u32,     // lora_forward: 0, or the output slot of act (the gelu form)
  pad0: u32,
  pad1: u32,
  R_0: u32, OUT_0: u32, A_0: u32, B_0: u32, r0_0: u32, col_0: u32, ld_0: u32, slot_0: u32, scale_0: f32, seed_0: u32, pa_0: u32, pb_0: u32,
  R_1: u32, OUT_1: u32, A_1: u32, B_1: u32, r0_1: u32, col_1: u32, ld_1: u32, slot_1: u32, scale_1: f32, seed_1: u32, pa_1: u32, pb_1: u32,
  R_2: u32, OUT_2: u32, A_2: u32, B_2: u32, r0_2: u32, col_2: u32, ld_2: u32, slot_2: u32, scale_2: f32, seed_2: u32, pa_2: u32, pb_2: u32,
}

struct Member {
  R: u32,
  OUT: u32,
  A: u32,
  B: u32,
  r0: u32,
  col: u32,
  ld: u32,
  slot: u32,
  scale: f32,
  seed: u32,
}

fn member(i: u32) -> Member {
  if (i == 0u) {
    return Member(q.R_0, q.OUT_0, q.A_0, q.B_0, q.r0_0, q.col_0, q.ld_0, q.slot_0, q.scale_0, q.seed_0);
  }
  if (i == 1u) {
    return Member(q.R_1, q.OUT_1, q.A_1, q.B_1, q.r0_1, q.col_1, q.ld_1, q.slot_1, q.scale_1, q.seed_1);
  }
  return Member(q.R_2, q.OUT_2, q.A_2, q.B_2, q.r0_2, q.col_2, q.ld_2, q.slot_2, q.scale_2, q.seed_2);
}

// The member holding concatenated rank j (members with R = 0 hold none).
fn member_of(j: u32) -> u32 {
  var m = 0u;
  while (m + 1u < q.M && j >= member(m + 1u).r0) { m++; }
  return m;
}

const WG: u32 = 256u;

var<workgroup> red: array<f32, WG>;

// Keep-multiplier of element (t, k) of x for a member's seed: 0 or 1/(1−p). PCG-style hash.
fn keep(seed: u32, t: u32, k: u32) -> f32 {
  if (q.dropout <= 0.0) { return 1.0; }
  var h = seed * 747796405u + t * 2891336453u + k * 1664525u + 1013904223u;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  h = (h >> 22u) ^ h;
  h = h * 2654435761u;
  h = h ^ (h >> 16u);
  let u = f32(h >> 8u) / 16777216.0;
  return select(0.0, 1.0 / (1.0 - q.dropout), u >= q.dropout);
}

// ---- row kernels: one workgroup per token row t ------------------------------------------------
//
// lora_forward         u[t, :] = x̃[t] Aᵀ (every member; kept in u), then each y_m[t] += s_m·u_m Bᵀ
//                      (or the gelu form)                                            — one dispatch
// lora_backward_rows   u[t, :] and g[t, :] = dy_m[t] B_m (both kept for lora_weight_grads), then
//                      dx[t, :] += Σ_m s_m · keep_m · (g_m[t] A_m)                  — one dispatch
// A row's u or g stays in workgroup memory between the phases. The reductions over IN or OUT_m
// run 16 ranks at a time, 16 neighbouring threads (neighbouring k) per rank.

const ROW_OUTS: u32 = 16u; // ranks per reduction pass, WG / ROW_OUTS threads each
const MAX_RANK: u32 = 1024u; // LORA_MAX_RANK in lora.ts
var<workgroup> row_v: array<f32, MAX_RANK>; // u[t, :] or g[t, :]

// row_v[j] = Σ_k x̃_m[t, k] · A_m[j', k] (grad = false) or Σ_n dy_m[t, n] · B_m[n, j'] (grad = true),
// for every concatenated rank j (member m, its rank j').
fn row_reduce(t: u32, lid: u32, grad: bool) {
  let s = lid % (WG / ROW_OUTS);
  let jj = lid / (WG / ROW_OUTS);
  for (var j0 = 0u; j0 < q.RT; j0 += ROW_OUTS) {
    let j = j0 + jj;
    var acc = 0.0;
    if (j < q.RT) {
      let m = member(member_of(j));
      let jm = j - m.r0;
      if (grad) {
        for (var n = s; n < m.OUT; n += WG / ROW_OUTS) {
          acc += ld_dy(m.slot, t * m.ld + m.col + n) * ld_b(m.B + n * m.R + jm);
        }
      } else {
        for (var k = s; k < q.IN; k += WG / ROW_OUTS) {
          acc += ld_x(t * q.IN + k) * keep(m.seed, t, k) * ld_a(m.A + jm * q.IN + k);
        }
      }
    }
    red[lid] = acc;
    workgroupBarrier();
    if (s == 0u && j < q.RT) {
      var total = 0.0;
      for (var i = 0u; i < WG / ROW_OUTS; i++) { total += red[lid + i]; }
      row_v[j] = total;
    }
    workgroupBarrier();
  }
}

// s_m · (u_m[t] B_mᵀ)[n], u_m in row_v.
fn branch_out(m: Member, n: u32) -> f32 {
  var acc = 0.0;
  for (var j = 0u; j < m.R; j++) { acc += ld_b(m.B + n * m.R + j) * row_v[m.r0 + j]; }
  return m.scale * acc;
}

fn row_of(wid: vec3<u32>, nwg: vec3<u32>) -> u32 { return wid.x + wid.y * nwg.x; }

@compute @workgroup_size(WG)
fn lora_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let t = row_of(wid, nwg);
  if (t >= q.T) { return; }
  row_reduce(t, lid, false);
  for (var j = lid; j < q.RT; j += WG) { st_u(t * q.RT + j, row_v[j]); }
  if (q.gelu == 0u) {
    for (var i = 0u; i < q.M; i++) {
      let m = member(i);
      for (var n = lid; n < m.OUT; n += WG) { add_y(m.slot, t * m.ld + m.col + n, branch_out(m, n)); }
    }
    return;
  }
  let g = member(0u);
  let u = member(1u);
  for (var n = lid; n < g.OUT; n += WG) {
    let gate = ld_y(g.slot, t * g.ld + g.col + n) + branch_out(g, n);
    let up = ld_y(u.slot, t * u.ld + u.col + n) + branch_out(u, n);
    st_y(q.gelu, t * g.OUT + n, gelu_tanh(gate) * up);
  }
}

@compute @workgroup_size(WG)
fn lora_backward_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                      @builtin(local_invocation_index) lid: u32) {
  let t = row_of(wid, nwg);
  if (t >= q.T) { return; }
  row_reduce(t, lid, false);
  for (var j = lid; j < q.RT; j += WG) { st_u(t * q.RT + j, row_v[j]); }
  // (row_v is rewritten only after the first barrier of the next reduction: every thread has
  // stored its u by then)
  row_reduce(t, lid, true);
  for (var j = lid; j < q.RT; j += WG) { st_g(t * q.RT + j, row_v[j]); }
  for (var k = lid; k < q.IN; k += WG) {
    var total = 0.0;
    for (var i = 0u; i < q.M; i++) {
      let m = member(i);
      var acc = 0.0;
      for (var j = 0u; j < m.R; j++) { acc += row_v[m.r0 + j] * ld_a(m.A + j * q.IN + k); }
      total += m.scale * keep(m.seed, t, k) * acc;
    }
    add_dx(t * q.IN + k, total);
  }
}

// ---- lora_weight_grads: every member's dA and dB in one dispatch, tiled over tokens ----------
//
//   dA_m[j, k] += s_m · Σ_t g_m[t, j] · x̃_m[t, k]      [R_m, IN]
//   dB_m[n, j] += s_m · Σ_t dy_m[t, n] · u_m[t, j]     [OUT_m, R_m]
// The first workgroups take the dA of each member in turn, the rest the dB. A workgroup owns WG
// columns (k or n) × 16 ranks of one member: it stages 16 tokens × 16 ranks of g (or u) in
// workgroup memory, and each thread reads its column of x̃ (or dy) once per token for 16 FMAs —
// x is read ceil(R_m / 16) times per member in all, not R_m.

const GT: u32 = 16u; // tokens per staged chunk = ranks per workgroup
var<workgroup> lt: array<vec4<f32>, 64>; // [GT tokens][16 ranks] of g or u

fn rank_blocks(m: Member) -> u32 { return (m.R + GT - 1u) / GT; }

@compute @workgroup_size(WG)
fn lora_weight_grads(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
  // which member, which part (dA first), which block of columns and ranks
  var w = row_of(wid, nwg);
  var is_a = true;
  var mi = q.M;
  for (var part = 0u; part < 2u && mi == q.M; part++) {
    for (var i = 0u; i < q.M; i++) {
      let m = member(i);
      let cols = select(m.OUT, q.IN, part == 0u);
      let n = ((cols + WG - 1u) / WG) * rank_blocks(m);
      if (w < n) {
        mi = i;
        is_a = part == 0u;
        break;
      }
      w -= n;
    }
  }
  if (mi == q.M) { return; }
  let m = member(mi);
  let cols = select(m.OUT, q.IN, is_a);
  let blocks = rank_blocks(m);
  let j0 = GT * (w % blocks);
  let col = (w / blocks) * WG + lid;
  var acc = array<vec4<f32>, 4>();
  let tt = lid / GT;
  let jj = lid % GT;
  for (var t0 = 0u; t0 < q.T; t0 += GT) {
    var v = 0.0;
    if (t0 + tt < q.T && j0 + jj < m.R) {
      let i = (t0 + tt) * q.RT + m.r0 + j0 + jj;
      if (is_a) { v = ld_g(i); } else { v = ld_u(i); }
    }
    lt[tt * 4u + jj / 4u][jj % 4u] = v;
    workgroupBarrier();
    if (col < cols) {
      for (var i = 0u; i < GT && t0 + i < q.T; i++) {
        let t = t0 + i;
        var c: f32;
        if (is_a) {
          c = ld_x(t * q.IN + col) * keep(m.seed, t, col);
        } else {
          c = ld_dy(m.slot, t * m.ld + m.col + col);
        }
        acc[0] += c * lt[i * 4u];
        acc[1] += c * lt[i * 4u + 1u];
        acc[2] += c * lt[i * 4u + 2u];
        acc[3] += c * lt[i * 4u + 3u];
      }
    }
    workgroupBarrier();
  }
  if (col >= cols) { return; }
  for (var j = 0u; j < GT && j0 + j < m.R; j++) {
    let v = m.scale * acc[j / 4u][j % 4u];
    if (is_a) { add_da(m.A + (j0 + j) * q.IN + col, v); } else { add_db(m.B + col * m.R + j0 + j, v); }
  }
}
