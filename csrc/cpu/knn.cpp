#include "cpu/knn.hpp"

#include <algorithm>
#include <cmath>

#include "common/cross_state.hpp"
#include "common/error_bound.hpp"
#include "cpu/duplicates.hpp"
#include "cpu/prepare.hpp"
#include "cpu/scan.hpp"
#include "cpu/tile_engine.hpp"
#include "cpu/topk.hpp"

namespace fastprdc {

KnnResult knn_self(const MatrixView& x, int64_t k, const RunConfig& cfg, int64_t panel_rows) {
  const int nt = resolve_threads(cfg.num_threads);
  const Frame frame = make_frame({&x}, cfg.num_threads);
  const float coef = cfg.exact ? error_bound_coefficient(x.cols) : 0.0f;
  const float absb = cfg.exact ? error_bound_absolute(x.cols, frame.exp, frame.e_max) : 0.0f;
  TopkBuffers buffers(x.rows, k);
  OracleRows rows{x};
  DuplicateGroups groups;
  if (cfg.exact) groups = duplicate_groups({&x}, cfg.num_threads);
  if (groups.any) {
    rows.group = groups.id.data();
    buffers.use_groups(rows.group);
  }
  const TopkStore top = buffers.store();
  if (groups.any) preset_copies(top, copy_presets(rows.group, x.rows, rows.group, x.rows, k, true), cfg.num_threads);
  const KnnKeys keys{&rows, &rows};
  const KnnToDomain to_domain{frame.scale};
  std::vector<ScratchBuffers> scratch(static_cast<size_t>(nt), ScratchBuffers(buffers.cap()));
  std::vector<int64_t> rechecks(static_cast<size_t>(nt), 0);

  run_tiles(x, nullptr, frame, panel_rows, cfg, [&](const Tile& t) {
    const bool diagonal = (t.i0 == t.j0);
    const TopkScratch sc = scratch[t.thread].view();
    int64_t& rc = rechecks[t.thread];
    std::vector<int32_t> hits(static_cast<size_t>(t.nj));
    for (int64_t ii = 0; ii < t.ni; ++ii) {
      const int64_t i = t.i0 + ii;
      const int64_t first = diagonal ? ii + 1 : 0;  // each pair once, never (i, i)
      const float* row = t.minus2dot + ii * t.nj + first;
      const float* nrm_j = t.norm_b + first;
      const int64_t j0 = t.j0 + first;
      const int64_t nh = scan_row(row, nrm_j, top.threshold + j0, t.nj - first, t.norm_a[ii], top.threshold[i], coef,
                                  absb, hits.data());
      for (int64_t h = 0; h < nh; ++h) {
        const int64_t j = j0 + hits[h];
        const PairBounds pb = pair_bounds(t.norm_a[ii], nrm_j[hits[h]], row[hits[h]], coef, absb);
        rc += topk::offer(top, i, pb.lo, pb.hi, j, cfg.exact, keys, to_domain, sc);
        rc += topk::offer(top, j, pb.lo, pb.hi, i, cfg.exact, keys, to_domain, sc);
      }
    }
  });

  KnnResult r;
  r.dist.resize(static_cast<size_t>(x.rows * k));
  r.idx.resize(static_cast<size_t>(x.rows * k));
  int64_t rechecked = 0;
  for (int64_t v : rechecks) rechecked += v;
  const int team = threads_for(nt, x.rows * k * (x.cols + 1));
#pragma omp parallel num_threads(team) reduction(+ : rechecked)
  {
    ScratchBuffers local(buffers.cap());
    const TopkScratch sc = local.view();
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < x.rows; ++i) {
      rechecked += topk::finalize(top, i, cfg.exact, keys, sc, r.dist.data() + i * k, r.idx.data() + i * k);
      keys_to_distances(r.dist.data() + i * k, k, cfg.exact, frame.scale);
    }
  }
  r.n_rechecked = rechecked;
  return r;
}

}  // namespace fastprdc
