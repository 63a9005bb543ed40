#include "cpu/cross_pass.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/cross_state.hpp"
#include "common/error_bound.hpp"
#include "cpu/duplicates.hpp"
#include "cpu/knn.hpp"
#include "cpu/prepare.hpp"
#include "cpu/scan.hpp"
#include "cpu/tile_engine.hpp"
#include "cpu/topk.hpp"

namespace fastprdc {

namespace {

// Host storage of one set of balls (radii, frame thresholds, reach).
struct BallBuffers {
  std::vector<float> th_inside, th_outside, reach;
  BallSet set;

  BallBuffers(int64_t rows, int64_t k, const double* radii, double scale, bool exact, bool strict, bool zeros_counted)
      : th_inside(static_cast<size_t>(rows * k)),
        th_outside(static_cast<size_t>(rows * k)),
        reach(static_cast<size_t>(rows)) {
    set.k = static_cast<int32_t>(k);
    set.radii = radii;
    set.th_inside = th_inside.data();
    set.th_outside = th_outside.data();
    set.reach = reach.data();
    if (k == 0) return;
    for (int64_t i = 0; i < rows; ++i)
      ball_thresholds(radii, set.k, i, scale, exact, strict, zeros_counted, th_inside.data(), th_outside.data(),
                      reach.data());
  }
};

// Host storage of the realism columns: frame radii (negative = pruned) and the largest per column.
struct RealismBuffers {
  std::vector<double> frame, rmax;
  RealismBuffers(int64_t rows, int64_t k, const double* radii, double scale, double eps, bool exact, bool zeros_preset)
      : frame(static_cast<size_t>(rows * k)), rmax(static_cast<size_t>(k)) {
    realism_frame(radii, rows, static_cast<int32_t>(k), scale, eps, exact, zeros_preset, frame.data(), rmax.data());
  }
};

// Exact mode on data with identical rows (cpu/duplicates.hpp): their pairs are decided without
// the oracle, neighbour lists that copies fill are preset, lists bar later copies of their k-th
// entry, and zero realism radii are settled by their lowest centre. Returns the evaluations.
int64_t use_groups(CrossState& st, const DuplicateGroups& groups, TopkBuffers& top_a, TopkBuffers& top_b, int nt) {
  const int64_t a_rows = st.a.m.rows, b_rows = st.b.m.rows, kr = st.kr;
  st.a.group = groups.id.data();
  st.b.group = groups.id.data() + a_rows;
  top_a.use_groups(st.b.group);
  top_b.use_groups(st.a.group);
  st.top_a = top_a.store();
  st.top_b = top_b.store();
  preset_copies(st.top_a, copy_presets(st.a.group, a_rows, st.b.group, b_rows, st.top_a.k, false), nt);
  preset_copies(st.top_b, copy_presets(st.b.group, b_rows, st.a.group, a_rows, st.top_b.k, false), nt);
  if (!kr) return 0;
  const std::vector<int32_t> zs = zero_radius_centres(st.realism_radii, a_rows, kr, st.a.group, st.b.group, b_rows);
  int64_t evaluated = 0;
  const int team = threads_for(nt, b_rows * kr * (st.a.m.cols + 1));
#pragma omp parallel num_threads(team) reduction(+ : evaluated)
  {
    ScratchBuffers local(st.top_r.cap);
    const TopkScratch sc = local.view();
#pragma omp for schedule(static)
    for (int64_t row = 0; row < b_rows * kr; ++row)
      evaluated += st.offer_realism_exact(row, zs.data() + row * 2, 2, sc);
  }
  return evaluated;
}

}  // namespace

CrossResult cross_pass(const CrossInputs& in, const RunConfig& cfg, int64_t panel_rows) {
  const MatrixView& A = in.a;
  const MatrixView& B = in.b;
  const int nt = resolve_threads(cfg.num_threads);
  const Frame frame = make_frame({&A, &B}, cfg.num_threads);
  const float coef = cfg.exact ? error_bound_coefficient(A.cols) : 0.0f;
  const float absb = cfg.exact ? error_bound_absolute(A.cols, frame.exp, frame.e_max) : 0.0f;

  CrossResult r;
  const double inf = std::numeric_limits<double>::infinity();
  r.b_count.assign(static_cast<size_t>(B.rows * in.ka), 0);
  r.b_min_radius.assign(static_cast<size_t>(B.rows * in.ka), inf);
  r.a_ball_count.assign(static_cast<size_t>(A.rows * in.ka), 0);
  r.a_count.assign(static_cast<size_t>(A.rows * in.kb), 0);
  r.a_min_radius.assign(static_cast<size_t>(A.rows * in.kb), inf);
  r.b_ball_count.assign(static_cast<size_t>(B.rows * in.kb), 0);

  DuplicateGroups groups;
  if (cfg.exact) groups = duplicate_groups({&A, &B}, nt);
  if (groups.any) {
    const int64_t* a_group = groups.id.data();
    const int64_t* b_group = a_group + A.rows;
    count_zero_radius_balls(in.radii_a, A.rows, in.ka, in.strict, a_group, b_group, B.rows, r.a_ball_count.data(),
                            r.b_count.data(), r.b_min_radius.data());
    count_zero_radius_balls(in.radii_b, B.rows, in.kb, in.strict, b_group, a_group, A.rows, r.b_ball_count.data(),
                            r.a_count.data(), r.a_min_radius.data());
  }
  const BallBuffers balls_a(A.rows, in.ka, in.radii_a, frame.scale, cfg.exact, in.strict, groups.any);
  const BallBuffers balls_b(B.rows, in.kb, in.radii_b, frame.scale, cfg.exact, in.strict, groups.any);
  TopkBuffers top_a(A.rows, in.knn_a), top_b(B.rows, in.knn_b), top_r(B.rows * in.kr, in.kr ? 1 : 0);
  const RealismBuffers realism(A.rows, in.kr, in.realism_radii, frame.scale, in.realism_eps, cfg.exact, groups.any);

  CrossState st;
  st.a = {A};
  st.b = {B};
  st.exact = cfg.exact;
  st.strict = in.strict;
  st.frame_scale = frame.scale;
  st.balls_a = balls_a.set;
  st.b_count = r.b_count.data();
  st.b_min_radius = r.b_min_radius.data();
  st.a_ball_count = r.a_ball_count.data();
  st.balls_b = balls_b.set;
  st.a_count = r.a_count.data();
  st.a_min_radius = r.a_min_radius.data();
  st.b_ball_count = r.b_ball_count.data();
  st.top_a = top_a.store();
  st.top_b = top_b.store();
  st.kr = static_cast<int32_t>(in.kr);
  st.realism_radii = in.realism_radii;
  st.realism_frame = realism.frame.data();
  st.realism_rmax = realism.rmax.data();
  st.realism_eps = in.realism_eps;
  st.realism_eps_frame = realism_eps_in_frame(in.realism_eps, frame.scale);
  st.top_r = top_r.store();
  const int64_t preset_rechecks = groups.any ? use_groups(st, groups, top_a, top_b, nt) : 0;

  const int64_t cap = std::max({top_a.cap(), top_b.cap(), top_r.cap(), int32_t{1}});
  std::vector<ScratchBuffers> scratch(static_cast<size_t>(nt), ScratchBuffers(cap));
  // Row gates, and for the scan each column's gate widened to the reach of B's balls (decided
  // with the pairs of A's rows: st.needs_a).
  std::vector<float> gate_a(static_cast<size_t>(A.rows)), gate_b(static_cast<size_t>(B.rows)),
      scan_b(static_cast<size_t>(B.rows));
  auto set_gate_b = [&](int64_t j) {
    gate_b[j] = st.gate_b(j);
    scan_b[j] = in.kb && st.balls_b.reach[j] > gate_b[j] ? st.balls_b.reach[j] : gate_b[j];
  };
  for (int64_t i = 0; i < A.rows; ++i) gate_a[i] = st.gate_a(i);
  for (int64_t j = 0; j < B.rows; ++j) set_gate_b(j);
  std::vector<int64_t> rechecks(static_cast<size_t>(nt), 0);

  if (A.rows && B.rows && (in.ka || in.kb || in.knn_a || in.knn_b || in.kr)) {
    // The scan keeps a pair when it matters to either row (row i's gate includes its balls' reach,
    // scan_b B's).
    run_tiles(A, &B, frame, panel_rows, cfg, [&](const Tile& t) {
      int64_t& rc = rechecks[t.thread];
      const TopkScratch sc = scratch[t.thread].view();
      std::vector<int32_t> hits(static_cast<size_t>(t.nj));
      const float* nb = t.norm_b;
      for (int64_t ii = 0; ii < t.ni; ++ii) {
        const int64_t i = t.i0 + ii;
        const float na = t.norm_a[ii];
        const float* row = t.minus2dot + ii * t.nj;
        const int64_t nh = scan_row(row, nb, scan_b.data() + t.j0, t.nj, na, gate_a[i], coef, absb, hits.data());
        for (int64_t h = 0; h < nh; ++h) {
          const int64_t jj = hits[h], j = t.j0 + jj;
          const PairBounds bnd = pair_bounds(na, nb[jj], row[jj], coef, absb);
          if (st.needs_a(bnd.lo, gate_a[i], j)) {
            rc += st.a_side(i, j, bnd.lo, bnd.hi, sc);
            PairDistance pd{&st.a, &st.b, i, j, &rc};
            st.balls(i, j, bnd.lo, bnd.hi, pd);
            gate_a[i] = st.gate_a(i);
          }
          if (st.needs_b(bnd.lo, gate_b[j], i, j)) {
            rc += st.b_side(i, j, bnd.lo, bnd.hi, sc);
            set_gate_b(j);
          }
        }
      }
    });
  }

  int64_t total = preset_rechecks;
  for (int64_t v : rechecks) total += v;
  r.a_knn_dist.resize(static_cast<size_t>(A.rows * in.knn_a));
  r.a_knn_idx.resize(static_cast<size_t>(A.rows * in.knn_a));
  r.b_knn_dist.resize(static_cast<size_t>(B.rows * in.knn_b));
  r.b_knn_idx.resize(static_cast<size_t>(B.rows * in.knn_b));
  r.b_realism.resize(static_cast<size_t>(B.rows * in.kr));
  r.b_realism_idx.resize(static_cast<size_t>(B.rows * in.kr));
  const bool exact = cfg.exact;
  const KnnKeys keys_a{&st.a, &st.b}, keys_b{&st.b, &st.a};
  const RealismKeys keys_r{&st.a, &st.b, in.realism_radii, st.kr, in.realism_eps};
  const int64_t lists = A.rows * in.knn_a + B.rows * (in.knn_b + in.kr);
  const int team = threads_for(nt, lists * (A.cols + 1));
#pragma omp parallel num_threads(team) reduction(+ : total)
  {
    ScratchBuffers local(cap);
    const TopkScratch sc = local.view();
#pragma omp for schedule(dynamic, 64) nowait
    for (int64_t i = 0; i < A.rows * (in.knn_a > 0); ++i) {
      double* key = r.a_knn_dist.data() + i * in.knn_a;
      total += topk::finalize(st.top_a, i, exact, keys_a, sc, key, r.a_knn_idx.data() + i * in.knn_a);
      keys_to_distances(key, in.knn_a, exact, frame.scale);
    }
#pragma omp for schedule(dynamic, 64) nowait
    for (int64_t j = 0; j < B.rows * (in.knn_b > 0); ++j) {
      double* key = r.b_knn_dist.data() + j * in.knn_b;
      total += topk::finalize(st.top_b, j, exact, keys_b, sc, key, r.b_knn_idx.data() + j * in.knn_b);
      keys_to_distances(key, in.knn_b, exact, frame.scale);
    }
#pragma omp for schedule(dynamic, 64)
    for (int64_t row = 0; row < B.rows * in.kr; ++row) {
      double key;
      int64_t idx;
      total += topk::finalize(st.top_r, row, exact, keys_r, sc, &key, &idx);
      r.b_realism[row] = idx < 0 ? std::numeric_limits<double>::quiet_NaN() : -key;
      r.b_realism_idx[row] = idx;
    }
  }
  r.n_rechecked = total;
  return r;
}

}  // namespace fastprdc
