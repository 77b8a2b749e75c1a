// Next-token sampling on the GPU, so only one u32 crosses back to the CPU per generated token.
//
//   logits [V] f32 (the last position, after the final softcap); prev [nPrev] u32 (distinct ids);
//   out [1] u32 (the chosen id).
//
// Semantics are Hugging Face `generate`'s, in its order:
//   1. repetition penalty (RepetitionPenaltyLogitsProcessor) on every id in `prev`:
//        z = z > 0 ? z / penalty : z · penalty                          (entry repetition_penalty)
//   2. temperature ≤ 0 → greedy argmax (lowest id on ties), else z /= temperature
//   3. top-k (k > 0): keep tokens whose z ≥ the k-th largest z (ties at the boundary are kept,
//      like HF's `scores < topk(...)[-1]` removal)
//   4. top-p (p < 1): of those, keep the smallest highest-probability set whose probability mass
//      is ≥ p (HF removes the low tail whose cumulative mass ≤ 1 − p); at least one token
//   5. draw with the caller's uniform u ∈ [0, 1): the first id (in id order) whose cumulative
//      kept mass exceeds u · Σ kept mass.
//
// One workgroup does it all (entry sample). Thresholds for 3 and 4 are found by bisection over the
// order-preserving u32 encoding of the f32 values (32 halvings give the exact k-th value), each
// halving a strided pass over V: ~64 passes over 1 MB for V = 256000, no sort, no V-sized scratch.

struct Params {
  V: u32,
  nPrev: u32,
  temperature: f32,
  topK: u32,
  topP: f32,
  penalty: f32,
  u: f32,
}

// One workgroup of 256: enough lanes to stream V with coalesced reads.
const SAMPLE_THREADS: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> logits_rw: array<f32>;
@group(0) @binding(1) var<storage, read> prev: array<u32>;
@group(0) @binding(2) var<uniform> pp: Params;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> ps: Params;

var<workgroup> red_f: array<f32, SAMPLE_THREADS>;
var<workgroup> red_i: array<u32, SAMPLE_THREADS>;
var<workgroup> counter: atomic<u32>;

@compute @workgroup_size(64)
fn repetition_penalty(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= pp.nPrev) { return; }
  let id = prev[i];
  if (id >= pp.V) { return; }
  let z = logits_rw[id];
  logits_rw[id] = select(z * pp.penalty, z / pp.penalty, z > 0.0);
}

// Monotone map f32 → u32: a < b ⇔ key(a) < key(b) (for non-NaN values).
fn key(f: f32) -> u32 {
  let b = bitcast<u32>(f);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn z_at(i: u32) -> f32 { return logits[i] / ps.temperature; }

// Σ over the workgroup of red_f (tree); every thread returns the total.
fn sum_all(lid: u32, v: f32) -> f32 {
  red_f[lid] = v;
  for (var s = SAMPLE_THREADS / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { red_f[lid] += red_f[lid + s]; }
  }
  workgroupBarrier();
  let total = red_f[0];
  workgroupBarrier();
  return total;
}

fn count_all(lid: u32, v: u32) -> u32 {
  if (lid == 0u) { atomicStore(&counter, 0u); }
  workgroupBarrier();
  atomicAdd(&counter, v);
  workgroupBarrier();
  let total = atomicLoad(&counter);
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(SAMPLE_THREADS)
fn sample(@builtin(local_invocation_index) lid: u32) {
  let V = ps.V;

  // Argmax of the raw logits (lowest id on ties) and the minimum, in one pass.
  var best = -3.4e38;
  var bestId = 0xffffffffu;
  var lo_v = 3.4e38;
  for (var i = lid; i < V; i += SAMPLE_THREADS) {
    let z = logits[i];
    if (z > best) { best = z; bestId = i; }
    lo_v = min(lo_v, z);
  }
  red_f[lid] = best;
  red_i[lid] = bestId;
  for (var s = SAMPLE_THREADS / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) {
      let ob = red_f[lid + s];
      let oi = red_i[lid + s];
      if (ob > red_f[lid] || (ob == red_f[lid] && oi < red_i[lid])) { red_f[lid] = ob; red_i[lid] = oi; }
    }
  }
  workgroupBarrier();
  let argmax = red_i[0];
  let maxLogit = red_f[0];
  workgroupBarrier();
  // Greedy: temperature ≤ 0 or top-k = 1.
  if (ps.temperature <= 0.0 || ps.topK == 1u) {
    if (lid == 0u) { out[0] = argmax; }
    return;
  }
  red_f[lid] = lo_v;
  for (var s = SAMPLE_THREADS / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lid < s) { red_f[lid] = min(red_f[lid], red_f[lid + s]); }
  }
  workgroupBarrier();
  let zmin = red_f[0] / ps.temperature;
  workgroupBarrier();
  let zmax = maxLogit / ps.temperature;

  // 3. top-k threshold: the largest key t with count(key(z) ≥ t) ≥ k.
  var lo = key(zmin);
  var hi = key(zmax);
  if (ps.topK > 0u && ps.topK < V) {
    for (var it = 0u; it < 32u; it++) {
      let mid = lo + (hi - lo) / 2u + ((hi - lo) & 1u);
      var c = 0u;
      for (var i = lid; i < V; i += SAMPLE_THREADS) { c += select(0u, 1u, key(z_at(i)) >= mid); }
      let total = count_all(lid, c);
      if (lo < hi) {
        if (total >= ps.topK) { lo = mid; } else { hi = mid - 1u; }
      }
    }
  }
  let thrK = lo;

  // 4. top-p threshold: the largest key t ≥ thrK with mass(key(z) ≥ t) ≥ p · mass(key(z) ≥ thrK).
  var mass = 0.0;
  for (var i = lid; i < V; i += SAMPLE_THREADS) {
    let z = z_at(i);
    if (key(z) >= thrK) { mass += exp(z - zmax); }
  }
  let Zk = sum_all(lid, mass);
  lo = thrK;
  hi = key(zmax);
  if (ps.topP < 1.0) {
    for (var it = 0u; it < 32u; it++) {
      let mid = lo + (hi - lo) / 2u + ((hi - lo) & 1u);
      var m = 0.0;
      for (var i = lid; i < V; i += SAMPLE_THREADS) {
        let z = z_at(i);
        if (key(z) >= mid) { m += exp(z - zmax); }
      }
      let total = sum_all(lid, m);
      if (lo < hi) {
        if (total >= ps.topP * Zk) { lo = mid; } else { hi = mid - 1u; }
      }
    }
  }
  let thr = lo;

  // 5. Inverse CDF in id order: thread t owns ids [t·span, (t+1)·span).
  let span = (V + SAMPLE_THREADS - 1u) / SAMPLE_THREADS;
  let start = lid * span;
  let end = min(V, start + span);
  var part = 0.0;
  for (var i = start; i < end; i++) {
    let z = z_at(i);
    if (key(z) >= thr) { part += exp(z - zmax); }
  }
  red_f[lid] = part;
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0.0;
    for (var t = 0u; t < SAMPLE_THREADS; t++) { total += red_f[t]; }
    let goal = ps.u * total;
    // Walk the per-thread partial sums to the range holding `goal`, then the ids inside it.
    // If rounding carries `goal` past the end, the last kept id is taken.
    var acc = 0.0;
    var owner = SAMPLE_THREADS;
    var lastKeptRange = 0u;
    for (var t = 0u; t < SAMPLE_THREADS; t++) {
      if (red_f[t] <= 0.0) { continue; }
      lastKeptRange = t;
      if (acc + red_f[t] > goal) { owner = t; break; }
      acc += red_f[t];
    }
    let r = select(lastKeptRange, owner, owner < SAMPLE_THREADS);
    var chosen = argmax;
    for (var i = r * span; i < min(V, (r + 1u) * span); i++) {
      let z = z_at(i);
      if (key(z) >= thr) {
        chosen = i;
        acc += exp(z - zmax);
        if (owner < SAMPLE_THREADS && acc > goal) { break; }
      }
    }
    out[0] = chosen;
  }
}
