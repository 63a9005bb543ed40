#include "cpu/tile_engine.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastprdc {

void init_blas() { scipy_openblas_set_num_threads(1); }

namespace {

struct Task {
  int64_t bi, bj;  // block indices within the panel pair
};

// Orders tasks so that consecutive ones touch different row blocks (less lock contention).
std::vector<Task> make_tasks(int64_t nba, int64_t nbb, bool symmetric) {
  std::vector<Task> tasks;
  if (symmetric) {
    for (int64_t off = 0; off < nba; ++off)
      for (int64_t parity = 0; parity < 2; ++parity)
        for (int64_t i = parity; i + off < nba; i += 2) tasks.push_back({i, i + off});
  } else {
    for (int64_t off = 0; off < nbb; ++off)
      for (int64_t parity = 0; parity < 2; ++parity)
        for (int64_t i = parity; i < nba; i += 2) tasks.push_back({i, (i + off) % nbb});
  }
  return tasks;
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The panels of one set: `count` panels of `rows` rows (the last one shorter), `rows` a multiple
// of the tile rows and at most `cap`, balanced so that the panels have about equal sizes.
struct PanelPlan {
  int64_t n = 0, rows = 0, count = 0;
  PanelPlan(int64_t n_rows, int64_t tr, int64_t cap) : n(n_rows) {
    if (n == 0) return;
    const int64_t want = ceil_div(n, cap);
    rows = std::min(cap, ceil_div(ceil_div(n, want), tr) * tr);
    count = ceil_div(n, rows);
  }
  int64_t begin(int64_t p) const { return p * rows; }
  int64_t size(int64_t p) const { return std::min(rows, n - p * rows); }
  int64_t capacity() const { return std::min(rows, n); }
};

// One packed panel: rows [r0, r0 + n) of a set, float32 in the frame.
struct PanelBuffer {
  std::vector<float> x;
  int64_t r0 = -1, n = 0;

  PanelBuffer(int64_t rows, int64_t cols) : x(static_cast<size_t>(rows * cols)) {}
  // Packs panel p unless it is the one already held. The squared norms of the set's rows
  // (norm2, one per row) are computed the first time each panel is packed (normed[p]).
  void hold(const MatrixView& m, const Frame& frame, const PanelPlan& plan, int64_t p, float* norm2,
            std::vector<char>& normed, int nt) {
    if (r0 == plan.begin(p) && n == plan.size(p)) return;
    r0 = plan.begin(p);
    n = plan.size(p);
    pack_rows(m, frame, r0, n, x.data(), normed[p] ? nullptr : norm2 + r0, nt);
    normed[p] = 1;
  }
};

}  // namespace

int64_t resolve_panel_rows(int64_t requested, int64_t cols) {
  if (requested > 0) return requested;
  return std::max<int64_t>(1, kDefaultPanelBytes / (static_cast<int64_t>(sizeof(float)) * std::max<int64_t>(cols, 1)));
}

void run_tiles(const MatrixView& a, const MatrixView* b_or_null, const Frame& frame, int64_t panel_rows,
               const RunConfig& cfg, const TileReducer& reduce) {
  const bool symmetric = (b_or_null == nullptr);
  const MatrixView& b = symmetric ? a : *b_or_null;
  const int64_t d = a.cols;
  const int nt = resolve_threads(cfg.num_threads);
  int64_t tr =
      std::max<int64_t>(1, std::min(cfg.tile_rows > 0 ? cfg.tile_rows : kDefaultTileRows, std::max(a.rows, b.rows)));
  int64_t cap = resolve_panel_rows(panel_rows, d);
  tr = std::min(tr, cap);  // a panel holds at least one tile side
  cap = cap / tr * tr;     // panel boundaries are tile boundaries
  const PanelPlan plan_a(a.rows, tr, cap);
  const PanelPlan plan_b = symmetric ? plan_a : PanelPlan(b.rows, tr, cap);

  // Panel pairs in sweep order: for each panel P of A, the panels Q of B (Q >= P when symmetric),
  // alternately ascending and descending, so that the B panel ending one sweep starts the next
  // without being packed again.
  auto sweep = [&](auto fn) {
    for (int64_t p = 0; p < plan_a.count; ++p) {
      const int64_t q0 = symmetric ? p : 0;
      for (int64_t t = 0; t < plan_b.count - q0; ++t)
        if (!fn(p, p % 2 == 0 ? q0 + t : plan_b.count - 1 - t)) return;
    }
  };
  auto blocks = [&](const PanelPlan& plan, int64_t p) { return ceil_div(plan.size(p), tr); };
  int64_t ntasks = 0;
  sweep([&](int64_t p, int64_t q) {
    const int64_t na = blocks(plan_a, p), nb = blocks(plan_b, q);
    ntasks += (symmetric && p == q) ? na * (na + 1) / 2 : na * nb;
    return true;
  });

  std::vector<std::mutex> locks_a(static_cast<size_t>(ceil_div(a.rows, tr)));
  std::vector<std::mutex> locks_b_storage(symmetric ? 0 : static_cast<size_t>(ceil_div(b.rows, tr)));
  std::vector<std::mutex>& locks_b = symmetric ? locks_a : locks_b_storage;
  // Squared norms of the packed rows, kept for the whole run (O(rows)): later packings of a panel
  // convert values only.
  std::vector<float> norm_a(static_cast<size_t>(a.rows)), norm_b_storage(symmetric ? 0 : static_cast<size_t>(b.rows));
  std::vector<float>& norm_b = symmetric ? norm_a : norm_b_storage;
  std::vector<char> normed_a(static_cast<size_t>(plan_a.count), 0), normed_b_storage(symmetric ? 0 : plan_b.count, 0);
  std::vector<char>& normed_b = symmetric ? normed_a : normed_b_storage;
  PanelBuffer panel_a(plan_a.capacity(), d);
  // A symmetric pass needs a second panel only when A has several.
  PanelBuffer panel_b((symmetric && plan_a.count <= 1) ? 0 : plan_b.capacity(), d);
  std::vector<std::vector<float>> bufs(static_cast<size_t>(nt), std::vector<float>(static_cast<size_t>(tr * tr)));

  std::atomic<int64_t> done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::mutex failure_lock;
  auto last_report = std::chrono::steady_clock::now();

  sweep([&](int64_t p, int64_t q) {
    if (stop.load() || failure) return false;
    panel_a.hold(a, frame, plan_a, p, norm_a.data(), normed_a, nt);
    const bool diagonal = symmetric && p == q;
    if (!diagonal) panel_b.hold(b, frame, plan_b, q, norm_b.data(), normed_b, nt);
    const PanelBuffer& pa = panel_a;
    const PanelBuffer& pb = diagonal ? panel_a : panel_b;
    const std::vector<Task> tasks = make_tasks(blocks(plan_a, p), blocks(plan_b, q), diagonal);
    const int64_t count = static_cast<int64_t>(tasks.size());
    const int64_t block_a0 = pa.r0 / tr, block_b0 = pb.r0 / tr;
    std::atomic<int64_t> next{0};

#pragma omp parallel num_threads(static_cast<int>(std::min<int64_t>(nt, count)))
    {
      int tid = 0;
#ifdef _OPENMP
      tid = omp_get_thread_num();
#endif
      float* buf = bufs[tid].data();
      while (!stop.load(std::memory_order_relaxed)) {
        const int64_t t = next.fetch_add(1);
        if (t >= count) break;
        try {
          const Task task = tasks[t];
          const int64_t li = task.bi * tr, lj = task.bj * tr;  // rows within the panels
          const int64_t ni = std::min(tr, pa.n - li), nj = std::min(tr, pb.n - lj);
          if (d > 0) {
            scipy_cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(ni),
                              static_cast<blasint>(nj), static_cast<blasint>(d), -2.0f, pa.x.data() + li * d,
                              static_cast<blasint>(d), pb.x.data() + lj * d, static_cast<blasint>(d), 0.0f, buf,
                              static_cast<blasint>(nj));
          } else {
            std::fill(buf, buf + ni * nj, 0.0f);
          }
          const int64_t i0 = pa.r0 + li, j0 = pb.r0 + lj;
          const Tile tile{i0, ni, j0, nj, buf, norm_a.data() + i0, norm_b.data() + j0, tid};
          // Lock order: A blocks before B blocks; in a symmetric pass the lower block first.
          std::mutex& la = locks_a[block_a0 + task.bi];
          std::mutex& lb = locks_b[block_b0 + task.bj];
          if (&la == &lb) {
            std::lock_guard<std::mutex> g(la);
            reduce(tile);
          } else {
            std::lock_guard<std::mutex> g1(la);
            std::lock_guard<std::mutex> g2(lb);
            reduce(tile);
          }
        } catch (...) {
          std::lock_guard<std::mutex> g(failure_lock);
          if (!failure) failure = std::current_exception();
          stop = true;
        }
        const int64_t finished = done.fetch_add(1) + 1;
        if (tid == 0 && cfg.progress) {
          const auto now = std::chrono::steady_clock::now();
          if (now - last_report > std::chrono::milliseconds(100) || finished == ntasks) {
            last_report = now;
            if (!cfg.progress(finished, ntasks)) stop = true;
          }
        }
      }
    }
    return true;
  });
  if (failure) std::rethrow_exception(failure);
  if (stop) throw Cancelled();
  if (cfg.progress && !cfg.progress(ntasks, ntasks)) throw Cancelled();
}

}  // namespace fastprdc
