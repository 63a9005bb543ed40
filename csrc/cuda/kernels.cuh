// The GPU kernels as per-thread bodies: each thread owns one row (or one chunk, or one pair) and
// runs plain sequential code over the shared arithmetic of csrc/common, with no shared memory,
// no warp intrinsics and no synchronisation; threads communicate only through their own rows'
// state, one atomic recheck counter and B's ball counters (atomic, see below). The same text
// therefore compiles three ways: nvcc (csrc/cuda/kernels.cu, the `_cuda` extension), NVRTC (the
// `cupy` backend, through kernel_entry.cuh) and the host compiler (the `sim` backend,
// fastprdc._core, which runs every thread of a launch in a loop so that the GPU pipeline is
// tested on machines without a GPU).
//
// A pass over a tile T (rows i0.. of A x rows j0.. of B, T = -2 A~ B~^T from the GEMM, row-major
// ni x nj) runs `scan_hits` (in parallel over every element: the ball decisions of the pairs
// within a ball's reach, and the few pairs that may matter to their rows' lists, into short
// per-row lists), `recheck_pairs` (the ball decisions that needed the oracle distance), then
// `cross_rows` (one thread per row of A: its neighbour list over its listed pairs) and
// `cross_cols` (one thread per row of B: its neighbour list and realism). The balls are decided
// in the scan, four pairs a thread, so that a point inside hundreds of the other set's balls (a
// hub) or a ball holding hundreds of points no longer makes one row's thread the longest of a
// launch; the counters take atomic adds and minima (common/cross_state.hpp). A ball decision
// that needs the oracle distance waits (defer_cap per tile row of A; past it the scan's thread
// rechecks the pair itself): `recheck_pairs` evaluates and decides every waiting pair in one
// launch, one thread each, all of whose threads recheck. A self pass (neighbour lists alone) is a
// cross pass of a set with itself: tiles
// with I < J run both kernels (rows of I and of J are disjoint), diagonal tiles run cross_rows
// alone, skipping i == j. Each kernel may serve a group of tiles in one launch (launch_tile), tiles
// that share no row, so that the per-row kernels have many tile sides' worth of threads;
// per-tile-row buffers (hit lists and counts, gate parts, scratch, waiting pairs) start at the
// tile's row buf0.
#pragma once

#include "common/cross_state.hpp"
#include "common/error_bound.hpp"
#include "common/row_groups.hpp"
#include "cuda/params.hpp"

namespace fastprdc {
namespace gpu {

template <class T>
FASTPRDC_HD T* ptr(uint64_t v) {
  return reinterpret_cast<T*>(static_cast<uintptr_t>(v));
}

FASTPRDC_HD TopkStore topk_store(uint64_t heap, uint64_t heap_size, uint64_t threshold, uint64_t cand_lo,
                                 uint64_t cand_j, uint64_t count, int32_t k, int32_t cap,
                                 const int64_t* cand_group = nullptr, uint64_t bar_group = 0, uint64_t bar_idx = 0) {
  TopkStore s;
  if (cand_group && bar_idx) {
    s.cand_group = cand_group;
    s.bar_group = ptr<int64_t>(bar_group);
    s.bar_idx = ptr<int32_t>(bar_idx);
  }
  s.heap = ptr<float>(heap);
  s.heap_size = ptr<int32_t>(heap_size);
  s.threshold = ptr<float>(threshold);
  s.cand_lo = ptr<float>(cand_lo);
  s.cand_j = ptr<int32_t>(cand_j);
  s.count = ptr<int32_t>(count);
  s.k = k;
  s.cap = cap;
  return s;
}

FASTPRDC_HD CrossState cross_state(const CrossParams& p) {
  CrossState st;
  st.a.m = MatrixView{ptr<const void>(p.a_data), p.n_a, p.dim, p.a_f64 != 0};
  st.b.m = MatrixView{ptr<const void>(p.b_data), p.n_b, p.dim, p.b_f64 != 0};
  st.a.group = ptr<const int64_t>(p.a_group);
  st.b.group = ptr<const int64_t>(p.b_group);
  st.exact = p.exact != 0;
  st.strict = p.strict != 0;
  st.frame_scale = p.frame_scale;
  st.balls_a = BallSet{p.ka, ptr<const double>(p.radii_a), ptr<const float>(p.th_in_a), ptr<const float>(p.th_out_a),
                       ptr<const float>(p.reach_a)};
  st.b_count = ptr<int64_t>(p.b_count);
  st.b_min_radius = ptr<double>(p.b_min_radius);
  st.a_ball_count = ptr<int64_t>(p.a_ball_count);
  st.balls_b = BallSet{p.kb, ptr<const double>(p.radii_b), ptr<const float>(p.th_in_b), ptr<const float>(p.th_out_b),
                       ptr<const float>(p.reach_b)};
  st.a_count = ptr<int64_t>(p.a_count);
  st.a_min_radius = ptr<double>(p.a_min_radius);
  st.b_ball_count = ptr<int64_t>(p.b_ball_count);
  st.top_a = topk_store(p.ta_heap, p.ta_heap_size, p.ta_threshold, p.ta_cand_lo, p.ta_cand_j, p.ta_count, p.ta_k,
                        p.ta_cap, st.b.group, p.ta_bar_group, p.ta_bar_idx);
  st.top_b = topk_store(p.tb_heap, p.tb_heap_size, p.tb_threshold, p.tb_cand_lo, p.tb_cand_j, p.tb_count, p.tb_k,
                        p.tb_cap, st.a.group, p.tb_bar_group, p.tb_bar_idx);
  st.kr = p.kr;
  st.realism_radii = ptr<const double>(p.realism_radii);
  st.realism_frame = ptr<const double>(p.realism_frame);
  st.realism_rmax = ptr<const double>(p.realism_rmax);
  st.realism_eps = p.realism_eps;
  st.realism_eps_frame = p.realism_eps_frame;
  st.top_r =
      topk_store(p.tr_heap, p.tr_heap_size, p.tr_threshold, p.tr_cand_lo, p.tr_cand_j, p.tr_count, p.tr_k, p.tr_cap);
  return st;
}

// The tile and the thread of thread `tid` of a launch: the launch's own (t.tiles == 0), or, for a
// launch over a group of tiles, thread tid % t.stride of tile tid / t.stride (false past the last
// tile). The tiles of a group share no row of A and no row of B (a self pass: no row at all;
// GpuEngine's tile schedule), so their threads write disjoint state and may run in any order.
FASTPRDC_HD bool launch_tile(const TileArgs& t, int64_t tid, TileArgs* tile, int64_t* local) {
  if (!t.tiles) {
    *tile = t;
    *local = tid;
    return true;
  }
  const int64_t g = tid / t.stride;
  if (g >= t.tiles) return false;
  *tile = ptr<const TileArgs>(t.group)[g];
  *local = tid - g * t.stride;
  return true;
}

// The pairs of buffer row r of A whose ball decisions wait for the oracle (defer_cap > 0): the
// number offered (the first defer_cap of them wait) and their tile columns.
struct DeferredPairs {
  int32_t* count;
  int32_t* cols;
};

FASTPRDC_HD DeferredPairs deferred_pairs(const CrossParams& p, int64_t r) {
  return {ptr<int32_t>(p.defer_count) + r, ptr<int32_t>(p.defer_j) + r * p.defer_cap};
}

// Thread `tid`'s scratch for list compaction and finalisation.
FASTPRDC_HD TopkScratch scratch(const CrossParams& p, int64_t tid) {
  const int64_t at = tid * p.scratch_cap;
  return {ptr<double>(p.scratch_key) + at, ptr<double>(p.scratch_aux) + at, ptr<int32_t>(p.scratch_idx) + at};
}

// The neighbour list of tile row `ii` over every column (cols == nullptr) or the listed ones
// (ascending), each pair needed when its lower bound is within the list's gate (which tightens as
// the list improves).
FASTPRDC_HD void row_pass(const CrossParams& p, const TileArgs& t, int64_t ii, const int32_t* cols, int32_t n) {
  const CrossState st = cross_state(p);
  const TopkScratch sc = scratch(p, t.buf0 + ii);
  const float* tile = ptr<const float>(t.tile) + ii * t.nj;
  const float* norm_b = ptr<const float>(p.b_norm);
  const int64_t i = t.i0 + ii;
  const float na = ptr<const float>(p.a_norm)[i];
  const bool skip_self = p.self_pass && t.diagonal;
  const int64_t count = cols ? n : t.nj;
  int64_t rc = 0;
  float gate = st.list_gate_a(i);
  for (int64_t h = 0; h < count; ++h) {
    const int64_t jj = cols ? cols[h] : h;
    if (skip_self && jj == ii) continue;
    const int64_t j = t.j0 + jj;
    const PairBounds b = pair_bounds(na, norm_b[j], tile[jj], p.coef, p.absb);
    if (!(b.lo <= gate)) continue;
    rc += st.a_side(i, j, b.lo, b.hi, sc);
    gate = st.list_gate_a(i);
  }
  ptr<float>(p.gate_a)[i] = gate;
  if (rc) atomic_add_u64(ptr<uint64_t>(p.rechecks), static_cast<uint64_t>(rc));
}

// The B side of the pairs of tile column `jj` (every row, or the listed ones, ascending).
FASTPRDC_HD void col_pass(const CrossParams& p, const TileArgs& t, int64_t jj, const int32_t* rows, int32_t n) {
  const CrossState st = cross_state(p);
  const TopkScratch sc = scratch(p, t.buf0 + jj);
  const float* tile = ptr<const float>(t.tile) + jj;
  const float* norm_a = ptr<const float>(p.a_norm);
  const int64_t j = t.j0 + jj;
  const float nb = ptr<const float>(p.b_norm)[j];
  const int64_t count = rows ? n : t.ni;
  int64_t rc = 0;
  float gate = st.gate_b(j);
  for (int64_t h = 0; h < count; ++h) {
    const int64_t ii = rows ? rows[h] : h;
    const int64_t i = t.i0 + ii;
    const PairBounds b = pair_bounds(norm_a[i], nb, tile[ii * t.nj], p.coef, p.absb);
    if (!st.needs_b(b.lo, gate, i, j)) continue;
    rc += st.b_side(i, j, b.lo, b.hi, sc);
    gate = st.gate_b(j);
  }
  ptr<float>(p.gate_b)[j] = gate;
  if (rc) atomic_add_u64(ptr<uint64_t>(p.rechecks), static_cast<uint64_t>(rc));
}

// Moves list[root] down the max-heap list[0..n) to its place.
FASTPRDC_HD void sift_down(int32_t* list, int32_t root, int32_t n) {
  const int32_t v = list[root];
  int32_t at = root;
  for (int32_t child = 2 * at + 1; child < n; child = 2 * at + 1) {
    if (child + 1 < n && list[child + 1] > list[child]) ++child;
    if (list[child] <= v) break;
    list[at] = list[child];
    at = child;
  }
  list[at] = v;
}

// Sorts list[0..n) ascending in place (heapsort: O(n log n) with no extra memory, so that the
// long lists of hub rows, hundreds of pairs per tile, cost little next to the pass itself).
FASTPRDC_HD void sort_list(int32_t* list, int32_t n) {
  for (int32_t r = n / 2 - 1; r >= 0; --r) sift_down(list, r, n);
  for (int32_t end = n - 1; end > 0; --end) {
    const int32_t top = list[0];
    list[0] = list[end];
    list[end] = top;
    sift_down(list, 0, end);
  }
}

// Tile gates, before the scan (where a side's kNN lists are at most kGateKMax deep): the kk-th
// smallest upper bound among a row's kk or more distinct candidates in this tile bounds the row's
// final k-th key, so the scan may list only the pairs whose lower bound is within it. Without it a
// row's first tile (no threshold yet) is a full pass. gate_parts: kGateSegs threads per row, each
// the kk smallest upper bounds of every kGateSegs-th column (or row, for a row of B) into
// gate_parts (+inf padded); gate_merge: one thread per row, the kk-th smallest of its parts, its
// stored gate capped by it. Rows of A come first, then rows of B. Only rows whose list has no
// threshold yet read the tile (topk::unbounded, asked of the same state by both kernels: the
// lists change only in later kernels): from a row's second tile on, its threshold is the
// k-th smallest upper bound of the tiles before, and a new tile holds k pairs below it for ever
// fewer rows (about 1/t^2 of them at their t-th tile), so a read of the whole tile per tile (as
// much memory traffic as the scan's) would buy almost nothing.
// Likewise for the realism collectors of B's rows that have no bound yet (a collector is bounded
// only once it holds a centre, so each row's first tile was a full pass): the smallest key upper
// bound over the tile's kept centres bounds the collector's final key (its best ratio is at least
// that centre's), in the parts' slots after the kNN ones. (kGateSegs, kGateKMax: cuda/params.hpp)

// The kk smallest finite values offered (kk <= kGateKMax), in no order; `top`, the largest of
// them once there are kk (+inf before), is the one comparison most values need.
struct SmallestK {
  float v[kGateKMax];
  float top = inf_f32();
  int32_t kk, n = 0, worst = 0;
  FASTPRDC_HD explicit SmallestK(int32_t k) : kk(k) {}
  FASTPRDC_HD void offer(float x) {
    if (!(x < top)) return;  // also +inf and NaN, which bound nothing
    if (n < kk) {
      v[n++] = x;
      if (n == kk) find_top();
    } else {
      v[worst] = x;
      find_top();
    }
  }
  FASTPRDC_HD void find_top() {
    worst = 0;
    for (int32_t q = 1; q < n; ++q)
      if (v[q] > v[worst]) worst = q;
    top = v[worst];
  }
  // The kk-th smallest value offered, +inf with fewer than kk.
  FASTPRDC_HD float kth() const { return top; }
  FASTPRDC_HD void store(float* out) const {
    for (int32_t q = 0; q < kk; ++q) out[q] = q < n ? v[q] : inf_f32();
  }
};

// The depth of the tile gates of A's rows (0: none) and of B's (none on a diagonal tile, where
// the scan lists nothing for B).
FASTPRDC_HD int32_t gate_depth_a(const CrossParams& p) {
  return p.tile_gates && p.ta_k > 0 && p.ta_k <= kGateKMax ? p.ta_k : 0;
}
FASTPRDC_HD int32_t gate_depth_b(const CrossParams& p, const TileArgs& t) {
  const bool diagonal = p.self_pass && t.diagonal;
  return p.tile_gates && !diagonal && p.tb_k > 0 && p.tb_k <= kGateKMax ? p.tb_k : 0;
}
// The realism columns with tile gates (0: none), in the parts of B's rows after the kb kNN slots
// (cross passes only: a self pass has no realism).
FASTPRDC_HD int32_t gate_realism_b(const CrossParams& p, int32_t kb) {
  return p.tile_gates && p.kr > 0 && kb + p.kr <= kGateKMax ? p.kr : 0;
}

// (ni + nj) * kGateSegs threads.
FASTPRDC_HD void gate_parts(const CrossParams& p, const TileArgs& t, int64_t tid) {
  const int32_t ka = gate_depth_a(p), kb = gate_depth_b(p, t);
  const int64_t a_threads = ka ? t.ni * kGateSegs : 0;
  const float* tile = ptr<const float>(t.tile);
  const float* norm_a = ptr<const float>(p.a_norm);
  const float* norm_b = ptr<const float>(p.b_norm);
  float* parts = ptr<float>(p.gate_parts) + 2 * t.buf0 * kGateSegs * kGateKMax;  // 2 rows per tile row
  const CrossState st = cross_state(p);
  if (tid < a_threads) {  // adjacent threads: adjacent columns of one row
    const int64_t ii = tid / kGateSegs, seg = tid % kGateSegs;
    if (!topk::unbounded(st.top_a, t.i0 + ii)) return;
    const bool diagonal = p.self_pass && t.diagonal;
    const float na = norm_a[t.i0 + ii];
    SmallestK best(ka);
    for (int64_t jj = seg; jj < t.nj; jj += kGateSegs) {
      if (diagonal && jj == ii) continue;
      best.offer(pair_bounds(na, norm_b[t.j0 + jj], tile[ii * t.nj + jj], p.coef, p.absb).hi);
    }
    best.store(parts + tid * kGateKMax);
    return;
  }
  const int64_t u = tid - a_threads;
  const int32_t kr = gate_realism_b(p, kb);
  if ((!kb && !kr) || u >= t.nj * kGateSegs) return;
  const int64_t jj = u % t.nj, seg = u / t.nj;  // adjacent threads: adjacent columns
  const int64_t j = t.j0 + jj;
  const float nb = norm_b[j];
  // the realism columns still unbounded (the others' own thresholds are their gates)
  const float* threshold = st.top_r.threshold + j * st.kr;
  float key[kGateKMax];
  bool open[kGateKMax];
  bool any_open = false;
  for (int32_t c = 0; c < kr; ++c) {
    key[c] = inf_f32();
    open[c] = !realism_bounded(threshold[c]);
    any_open = any_open || open[c];
  }
  const bool knn = kb && topk::unbounded(st.top_b, j);
  if (!knn && !any_open) return;  // bounded by its own thresholds: no pair to read
  float* out = parts + (a_threads + jj * kGateSegs + seg) * kGateKMax;
  SmallestK best(kb);
  for (int64_t ii = seg; ii < t.ni; ii += kGateSegs) {
    const PairBounds b = pair_bounds(norm_a[t.i0 + ii], nb, tile[ii * t.nj + jj], p.coef, p.absb);
    if (knn) best.offer(b.hi);
    for (int32_t c = 0; any_open && c < kr; ++c) {
      const double rs = st.realism_frame[(t.i0 + ii) * kr + c];
      // kept, precise centres only (pruned: -1; NaN: imprecise, left to the recheck)
      if (!open[c] || !(rs >= 0.0)) continue;
      const float hi = realism_key_bounds(rs, b.lo, b.hi, p.realism_eps_frame).hi;
      key[c] = hi < key[c] ? hi : key[c];
    }
  }
  if (knn) best.store(out);
  for (int32_t c = 0; c < kr; ++c) out[kb + c] = key[c];
}

// ni + nj threads: every row's stored gate from its state (before a row's first tile the stored
// gate is +inf, which marks a full pass, though balls or realism may already bound it), capped by
// its parts' kk-th smallest value where gate_parts wrote them.
FASTPRDC_HD void gate_merge(const CrossParams& p, const TileArgs& t, int64_t tid) {
  const bool diagonal = p.self_pass && t.diagonal;
  const bool of_a = tid < t.ni;
  const int64_t r = of_a ? tid : tid - t.ni;
  if (!of_a && (diagonal || r >= t.nj)) return;
  const int32_t ka = gate_depth_a(p);
  const int32_t k = of_a ? ka : gate_depth_b(p, t);
  const int32_t kr = of_a ? 0 : gate_realism_b(p, k);
  const int64_t row = 2 * t.buf0 + (of_a || !ka ? 0 : t.ni) + r;  // as gate_parts stored it
  const float* part = ptr<const float>(p.gate_parts) + row * kGateSegs * kGateKMax;
  const CrossState st = cross_state(p);
  float cap = inf_f32();
  if (k && topk::unbounded(of_a ? st.top_a : st.top_b, of_a ? t.i0 + r : t.j0 + r)) {
    SmallestK best(k);
    for (int32_t q = 0; q < kGateSegs; ++q)
      for (int32_t c = 0; c < k; ++c) best.offer(part[q * kGateKMax + c]);
    cap = next_up(best.kth());  // as a list's threshold: one float32 ulp up
  }
  float key_cap[kGateKMax];  // the realism collectors': their smallest key upper bound, one ulp up
  for (int32_t c = 0; c < kr; ++c) {
    key_cap[c] = inf_f32();
    if (realism_bounded(st.top_r.threshold[(t.j0 + r) * st.kr + c])) continue;
    SmallestK best(1);
    for (int32_t q = 0; q < kGateSegs; ++q) best.offer(part[q * kGateKMax + k + c]);
    key_cap[c] = next_up(best.kth());
  }
  if (of_a) {
    ptr<float>(p.gate_a)[t.i0 + r] = st.list_gate_a(t.i0 + r, cap);
  } else {
    ptr<float>(p.gate_b)[t.j0 + r] = st.gate_b(t.j0 + r, cap, kr ? key_cap : nullptr);
  }
}

// The ball decisions of pair (tile row ii, row j of B), within a ball's reach: by the bounds where
// they decide, else (defer_cap) the pair waits for recheck_pairs when it is among the first
// defer_cap of its row and tile, else the oracle here. Returns the evaluations.
FASTPRDC_HD int64_t scan_balls(const CrossParams& p, const CrossState& st, const TileArgs& t, int64_t ii, int64_t j,
                               const PairBounds& b) {
  const int64_t i = t.i0 + ii;
  if (p.defer_cap && st.balls_undecided(i, j, b.lo, b.hi)) {
    const DeferredPairs q = deferred_pairs(p, t.buf0 + ii);
    const int32_t slot = atomic_add_i32(q.count, 1);
    if (slot < p.defer_cap) {
      q.cols[slot] = static_cast<int32_t>(j - t.j0);
      return 0;
    }
  }
  int64_t rc = 0;
  PairDistance pd{&st.a, &st.b, i, j, &rc};
  st.balls(i, j, b.lo, b.hi, pd);
  return rc;
}

// The scan of a tile, in parallel over every element (four consecutive columns per thread): the
// ball decisions of every pair within a ball's reach (scan_balls), and each pair that may matter
// to the neighbour list of its row of A (lo within the gate the row had before this tile) is
// appended to that row's list, and likewise for its row of B (list or realism). A list that
// overflows `hit_cap` marks its row for a full pass. The gates only shrink, so the lists hold a
// superset of the pairs the passes need. A row whose gate is still +inf (its first tile: every
// pair is needed) is marked for the full pass once, by one thread, instead of by one contended
// atomic per element.
FASTPRDC_HD void scan_hits(const CrossParams& p, const TileArgs& t, int64_t tid) {
  const int64_t groups = (t.nj + 3) / 4;
  const int64_t ii = tid / groups;
  if (ii >= t.ni) return;
  const CrossState st = cross_state(p);
  const int64_t i = t.i0 + ii;
  const float na = ptr<const float>(p.a_norm)[i];
  const float* norm_b = ptr<const float>(p.b_norm);
  const float* tile = ptr<const float>(t.tile) + ii * t.nj;
  const float gate_ai = ptr<const float>(p.gate_a)[i];
  const bool full_a = !(gate_ai < inf_f32());
  const bool diagonal = p.self_pass && t.diagonal;
  const int64_t j0 = (tid % groups) * 4;
  const int64_t j_end = j0 + 4 < t.nj ? j0 + 4 : t.nj;
  int32_t* count_a = ptr<int32_t>(p.hit_count_a) + t.buf0;
  int32_t* count_b = ptr<int32_t>(p.hit_count_b) + t.buf0;
  int32_t* hits_a = ptr<int32_t>(p.hits_a) + t.buf0 * p.hit_cap;
  int32_t* hits_b = ptr<int32_t>(p.hits_b) + t.buf0 * p.hit_cap;
  const bool balls = st.balls_a.k || st.balls_b.k;
  int64_t rc = 0;
  if (full_a && j0 == 0) atomic_add_i32(count_a + ii, p.hit_cap + 1);
  for (int64_t jj = j0; jj < j_end; ++jj) {
    if (diagonal && jj == ii) continue;
    const int64_t j = t.j0 + jj;
    const float gate_bj = diagonal ? 0.0f : ptr<const float>(p.gate_b)[j];
    const bool full_b = !diagonal && !(gate_bj < inf_f32());
    if (full_b && ii == 0) atomic_add_i32(count_b + jj, p.hit_cap + 1);
    if (!balls && full_a && (diagonal || full_b)) continue;
    const PairBounds b = pair_bounds(na, norm_b[j], tile[jj], p.coef, p.absb);
    if (st.near_balls(i, j, b.lo)) rc += scan_balls(p, st, t, ii, j, b);
    if (!full_a && b.lo <= gate_ai) {
      const int32_t slot = atomic_add_i32(count_a + ii, 1);
      if (slot < p.hit_cap) hits_a[ii * p.hit_cap + slot] = static_cast<int32_t>(jj);
    }
    if (!diagonal && !full_b && st.needs_b(b.lo, gate_bj, i, j)) {
      const int32_t slot = atomic_add_i32(count_b + jj, 1);
      if (slot < p.hit_cap) hits_b[jj * p.hit_cap + slot] = static_cast<int32_t>(ii);
    }
  }
  if (rc) atomic_add_u64(ptr<uint64_t>(p.rechecks), static_cast<uint64_t>(rc));
}

// Buffer row `r`'s hits from the scan (hits / counts: hits_a / hit_count_a or the b
// pair), sorted, with their number in *n; nullptr for a full pass (the list overflowed). Resets
// the count for the next tile.
FASTPRDC_HD const int32_t* take_hits(const CrossParams& p, uint64_t hits, uint64_t counts, int64_t r, int32_t* n) {
  *n = 0;
  int32_t* count = ptr<int32_t>(counts) + r;
  const int32_t c = *count;
  *count = 0;
  if (c > p.hit_cap) return nullptr;
  int32_t* list = ptr<int32_t>(hits) + r * p.hit_cap;
  sort_list(list, c);
  *n = c;
  return list;
}

// The A side of tile row `ii` (thread per row of A): its listed hits, or every column. Empties
// the row's waiting pairs, which recheck_pairs has decided, for the next tile.
FASTPRDC_HD void cross_rows(const CrossParams& p, const TileArgs& t, int64_t ii) {
  if (ii >= t.ni) return;
  if (p.defer_cap) *deferred_pairs(p, t.buf0 + ii).count = 0;
  int32_t n;
  const int32_t* list = take_hits(p, p.hits_a, p.hit_count_a, t.buf0 + ii, &n);
  row_pass(p, t, ii, list, n);
}

// The B side of tile column `jj` (thread per row of B; none on a diagonal tile of a self pass,
// where cross_rows decides both orders of each pair).
FASTPRDC_HD void cross_cols(const CrossParams& p, const TileArgs& t, int64_t jj) {
  if (jj >= t.nj || (p.self_pass && t.diagonal)) return;
  int32_t n;
  const int32_t* list = take_hits(p, p.hits_b, p.hit_count_b, t.buf0 + jj, &n);
  col_pass(p, t, jj, list, n);
}

// Waiting pair `slot` of tile row `r` (thread r + slot * ni: adjacent threads, adjacent rows): its
// ball decisions, with its oracle distance (0 for identical rows, as PairDistance gives it).
FASTPRDC_HD void recheck_pairs(const CrossParams& p, const TileArgs& t, int64_t tid) {
  const int64_t r = tid % t.ni, slot = tid / t.ni;
  if (slot >= p.defer_cap) return;
  const DeferredPairs q = deferred_pairs(p, t.buf0 + r);
  if (slot >= *q.count) return;  // the count goes on past the cap: the pairs the scan decided
  const CrossState st = cross_state(p);
  const int64_t i = t.i0 + r, jj = q.cols[slot], j = t.j0 + jj;
  const float na = ptr<const float>(p.a_norm)[i], nb = ptr<const float>(p.b_norm)[j];
  const PairBounds b = pair_bounds(na, nb, ptr<const float>(t.tile)[r * t.nj + jj], p.coef, p.absb);
  int64_t rc = 0;
  PairDistance pd{&st.a, &st.b, i, j, &rc};
  st.balls(i, j, b.lo, b.hi, pd);
  if (rc) atomic_add_u64(ptr<uint64_t>(p.rechecks), static_cast<uint64_t>(rc));
}

// Exact neighbour lists of rows i0 + tid of A (finalize_a) or of B (finalize_b) into out_dist /
// out_idx (rows x out_k).
FASTPRDC_HD void finalize_list(const CrossParams& p, const TileArgs& t, int64_t tid, bool of_a) {
  if (tid >= t.ni) return;
  const CrossState st = cross_state(p);
  const int64_t row = t.i0 + tid;
  double* key = ptr<double>(p.out_dist) + row * p.out_k;
  int64_t* idx = ptr<int64_t>(p.out_idx) + row * p.out_k;
  const KnnKeys keys = of_a ? KnnKeys{&st.a, &st.b} : KnnKeys{&st.b, &st.a};
  const int64_t rc = topk::finalize(of_a ? st.top_a : st.top_b, row, st.exact, keys, scratch(p, tid), key, idx);
  keys_to_distances(key, p.out_k, st.exact, st.frame_scale);
  if (rc) atomic_add_u64(ptr<uint64_t>(p.rechecks), static_cast<uint64_t>(rc));
}

FASTPRDC_HD void finalize_a(const CrossParams& p, const TileArgs& t, int64_t tid) { finalize_list(p, t, tid, true); }
FASTPRDC_HD void finalize_b(const CrossParams& p, const TileArgs& t, int64_t tid) { finalize_list(p, t, tid, false); }

// Realism of collector rows i0 + tid (point j, column c) into out_dist (ratio, NaN without a kept
// ball) and out_idx (the maximising centre, -1 without a kept ball).
FASTPRDC_HD void finalize_realism(const CrossParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const CrossState st = cross_state(p);
  const int64_t row = t.i0 + tid;
  double key;
  int64_t idx;
  const RealismKeys keys{&st.a, &st.b, st.realism_radii, st.kr, st.realism_eps};
  const int64_t rc = topk::finalize(st.top_r, row, st.exact, keys, scratch(p, tid), &key, &idx);
  ptr<double>(p.out_dist)[row] = idx < 0 ? nan_f64() : -key;
  ptr<int64_t>(p.out_idx)[row] = idx;
  if (rc) atomic_add_u64(ptr<uint64_t>(p.rechecks), static_cast<uint64_t>(rc));
}

// Listed row i0 + tid of copy_presets (cpu/duplicates.hpp): the list of A (preset_side 0) or of B
// that its copies fill gets them, before the sweep.
FASTPRDC_HD void preset_lists(const CrossParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const CrossState st = cross_state(p);
  const TopkStore& top = p.preset_side ? st.top_b : st.top_a;
  const int64_t at = t.i0 + tid;
  topk::preset(top, ptr<const int64_t>(p.preset_rows)[at], ptr<const int32_t>(p.preset_js) + at * top.k);
}

// Realism collector row i0 + tid (point j, column c) offered its two centres of radius 0 from
// zero_radius_centres (preset_js: 2 per row), before the sweep (realism_frame's zeros_preset).
FASTPRDC_HD void preset_realism(const CrossParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const CrossState st = cross_state(p);
  const int64_t row = t.i0 + tid;
  const int64_t rc = st.offer_realism_exact(row, ptr<const int32_t>(p.preset_js) + row * 2, 2, scratch(p, tid));
  if (rc) atomic_add_u64(ptr<uint64_t>(p.rechecks), static_cast<uint64_t>(rc));
}

FASTPRDC_HD MatrixView rows_view(const RowsParams& p) {
  return MatrixView{ptr<const void>(p.data), p.rows, p.dim, p.f64 != 0};
}

// Row i0 + tid: its largest |value|, or NaN when the row holds a NaN or an infinity (validation
// of device-resident inputs; the frame's range).
FASTPRDC_HD void row_stats(const RowsParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const int64_t i = t.i0 + tid;
  const MatrixView m = rows_view(p);
  double mx = 0.0;
  bool finite = true;
  for (int64_t c = 0; c < p.dim; ++c) {
    const double a = abs_f64(m.at(i, c));
    finite = finite && a <= 1.7976931348623157e308;  // false for NaN and infinities
    mx = a > mx ? a : mx;
  }
  ptr<double>(p.rowmax)[i] = finite ? mx : nan_f64();
}

// Row other[i0 + tid] (an index list) of `data` copied to row i0 + tid of `out`
// (same dtype): the few rows that need deeper neighbour lists.
FASTPRDC_HD void gather_rows(const RowsParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const int64_t row = t.i0 + tid;
  const int64_t src = ptr<const int64_t>(p.other)[row];
  const int64_t width = p.dim * (p.f64 ? 8 : 4);
  const char* from = ptr<const char>(p.data) + src * width;
  char* to = ptr<char>(p.out) + row * width;
  for (int64_t b = 0; b < width; ++b) to[b] = from[b];
}

// Column sums of x * shrink over one chunk of rows (index i0 + tid = chunk * dim + column), in row order:
// the CPU engine's frame centre, bit for bit.
FASTPRDC_HD void column_sums(const RowsParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const int64_t at = t.i0 + tid;
  const int64_t chunk = at / p.dim, c = at % p.dim;
  const MatrixView m = rows_view(p);
  const int64_t r0 = chunk * p.chunk_rows;
  const int64_t r1 = r0 + p.chunk_rows < p.rows ? r0 + p.chunk_rows : p.rows;
  double acc = 0.0;
  for (int64_t i = r0; i < r1; ++i) acc += m.at(i, c) * p.shrink;
  ptr<double>(p.partial)[at] = acc;
}

// Row i0 + tid: its largest |x - centre| (the frame's scale).
FASTPRDC_HD void centred_max(const RowsParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const int64_t i = t.i0 + tid;
  const MatrixView m = rows_view(p);
  const double* centre = ptr<const double>(p.centre);
  double mx = 0.0;
  for (int64_t c = 0; c < p.dim; ++c) {
    const double v = m.at(i, c) - centre[c];
    const double a = abs_f64(v);
    mx = a > mx ? a : mx;
  }
  ptr<double>(p.rowmax)[i] = mx;
}

// Row i0 + tid packed for the GEMM path `gemm_path` (a GemmPath, common/error_bound.hpp) into row
// i0 + tid of `packed`: v = float32((x - centre) * scale), and its squared norm (in float64,
// stored in float32), the CPU engine's arithmetic. fp32: v. tf32x3: v with its 13 low mantissa
// bits cleared (exact in TF32), and in `packed_small` the remainder (exact in float32). tf32: v
// rounded to the nearest TF32 value. fp16: 2^kFp16Shift v rounded to the nearest FP16 value, as
// bits (uint16). fp16x3: that, and in `packed_small` its remainder (exact in float32) rounded to
// the nearest FP16 value. The norm stays v's: the bounds count the roundings.
FASTPRDC_HD void pack_rows(const RowsParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const int64_t i = t.i0 + tid;
  const MatrixView m = rows_view(p);
  const double* centre = ptr<const double>(p.centre);
  const GemmPath path = static_cast<GemmPath>(p.gemm_path);
  float* out = ptr<float>(p.packed) + i * p.dim;
  uint16_t* half = ptr<uint16_t>(p.packed) + i * p.dim;
  float* small = path == GemmPath::kTf32x3 ? ptr<float>(p.packed_small) + i * p.dim : nullptr;
  uint16_t* half_small = path == GemmPath::kFp16x3 ? ptr<uint16_t>(p.packed_small) + i * p.dim : nullptr;
  double n2 = 0.0;
  for (int64_t c = 0; c < p.dim; ++c) {
    const double x = m.at(i, c);
    const float v = static_cast<float>((x - centre[c]) * p.scale);
    n2 += static_cast<double>(v) * static_cast<double>(v);
    if (path == GemmPath::kTf32x3) {
      const float big = tf32_cut(v);
      out[c] = big;
      small[c] = v - big;
    } else if (path == GemmPath::kTf32) {
      out[c] = tf32_round(v);
    } else if (path == GemmPath::kFp16) {
      half[c] = f16_bits(v * kFp16Scale);
    } else if (path == GemmPath::kFp16x3) {
      const float shifted = v * kFp16Scale;
      half[c] = f16_bits(shifted);
      half_small[c] = f16_bits(shifted - f16_value(half[c]));
    } else {
      out[c] = v;
    }
  }
  ptr<float>(p.norm)[i] = static_cast<float>(n2);
}

// Row i0 + tid: the hash of its values (common/row_groups.hpp) into `out` (uint64).
FASTPRDC_HD void hash_rows(const RowsParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const int64_t i = t.i0 + tid;
  ptr<uint64_t>(p.out)[i] = row_hash(rows_view(p), i);
}

// Pair i0 + tid of `pairs` (two positions each in the rows of `data` followed by those of `other`):
// 1 when the two rows hold the same values, else 0, into `out` (int32).
FASTPRDC_HD void compare_rows(const RowsParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const int64_t at = t.i0 + tid;
  const MatrixView a = rows_view(p);
  const MatrixView b{ptr<const void>(p.other), p.other_rows, p.dim, p.other_f64 != 0};
  const int64_t x = ptr<const int64_t>(p.pairs)[2 * at], y = ptr<const int64_t>(p.pairs)[2 * at + 1];
  const bool same =
      same_values(x < p.rows ? a : b, x < p.rows ? x : x - p.rows, y < p.rows ? a : b, y < p.rows ? y : y - p.rows);
  ptr<int32_t>(p.out)[at] = same ? 1 : 0;
}

// Oracle distance of pair i0 + tid = i * other_rows + j (rows of `data` x rows of `other`).
FASTPRDC_HD void pairwise(const RowsParams& p, const TileArgs& t, int64_t tid) {
  if (tid >= t.ni) return;
  const int64_t at = t.i0 + tid;
  const int64_t i = at / p.other_rows, j = at % p.other_rows;
  const MatrixView a = rows_view(p);
  const MatrixView b{ptr<const void>(p.other), p.other_rows, p.dim, p.other_f64 != 0};
  ptr<double>(p.out)[at] = oracle_pair(a, i, b, j).dist();
}

}  // namespace gpu
}  // namespace fastprdc
