// The two reductions of gemv.wgsl over the GEMV_LANES lanes of each row (gemv.ts takes one).
// The sum is returned to lane 0 of the row; every thread of the workgroup must call it.

//#shared
// A shared-memory tree: log2(GEMV_LANES) barriers.
fn row_sum(acc: f32, lid: u32, lane: u32) -> f32 {
  red[lid] = acc;
  for (var s = GEMV_LANES / 2u; s > 0u; s = s >> 1u) {
    workgroupBarrier();
    if (lane < s) { red[lid] += red[lid + s]; }
  }
  workgroupBarrier();
  return red[lid];
}

//#subgroups
// Butterfly shuffles inside each subgroup, then lane 0 adds the row's subgroup sums
// from shared memory (one barrier). Assumes what every implementation does for a 1-D workgroup:
// subgroups are aligned runs of consecutive local_invocation_index (subgroup_invocation_id =
// lid % subgroup_size), so a power-of-two subgroup never straddles two rows of ≥ its width.
fn row_sum(acc: f32, lid: u32, lane: u32) -> f32 {
  var v = acc;
  let width = min(sg_size, GEMV_LANES);
  for (var o = 1u; o < width; o = o << 1u) { v += subgroupShuffleXor(v, o); }
  red[lid] = v;
  workgroupBarrier();
  var s = 0.0;
  if (lane == 0u) {
    for (var b = 0u; b < GEMV_LANES; b += width) { s += red[lid + b]; }
  }
  return s;
}
