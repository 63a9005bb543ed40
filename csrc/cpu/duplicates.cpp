#include "cpu/duplicates.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "cpu/prepare.hpp"

namespace fastprdc {

namespace {

uint64_t mix(uint64_t h) {  // splitmix64's finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

template <class T>
uint64_t bits_of(T x) {
  const double v = static_cast<double>(x) + 0.0;
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

double value(const MatrixView& m, int64_t i, int64_t t) {
  return m.f64 ? m.row<double>(i)[t] : static_cast<double>(m.row<float>(i)[t]);
}

// A hash of the row's values as float64 (+0.0 added, so that -0 and +0 hash alike), in eight
// independent lanes: the mixing chain of one lane is long, the lanes overlap.
template <class T>
uint64_t row_hash(const T* x, int64_t d) {
  constexpr int kLanes = 8;
  uint64_t h[kLanes];
  for (int l = 0; l < kLanes; ++l) h[l] = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(l + 1);
  int64_t t = 0;
  for (; t + kLanes <= d; t += kLanes)
    for (int l = 0; l < kLanes; ++l) h[l] = mix(h[l] ^ bits_of(x[t + l]));
  uint64_t r = static_cast<uint64_t>(d);
  for (; t < d; ++t) r = mix(r ^ bits_of(x[t]));
  for (int l = 0; l < kLanes; ++l) r = mix(r ^ h[l]);
  return r;
}

uint64_t row_hash(const MatrixView& m, int64_t i) {
  return m.f64 ? row_hash(m.row<double>(i), m.cols) : row_hash(m.row<float>(i), m.cols);
}

bool same_values(const MatrixView& a, int64_t i, const MatrixView& b, int64_t j) {
  for (int64_t t = 0; t < a.cols; ++t)
    if (!(value(a, i, t) == value(b, j, t))) return false;
  return true;
}

}  // namespace

DuplicateGroups duplicate_groups(const std::vector<const MatrixView*>& sets, int num_threads) {
  std::vector<std::pair<const MatrixView*, int64_t>> where;  // concatenated position -> (set, row)
  for (const MatrixView* m : sets)
    for (int64_t i = 0; i < m->rows; ++i) where.emplace_back(m, i);
  const int64_t n = static_cast<int64_t>(where.size());
  const int64_t cols = sets.empty() ? 0 : sets[0]->cols;

  std::vector<uint64_t> hash(static_cast<size_t>(n));
  const int team = threads_for(resolve_threads(num_threads), n * (cols + 1));
#pragma omp parallel for num_threads(team) schedule(static)
  for (int64_t p = 0; p < n; ++p) hash[p] = row_hash(*where[p].first, where[p].second);

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::sort(order.begin(), order.end(),
            [&](int64_t x, int64_t y) { return hash[x] < hash[y] || (hash[x] == hash[y] && x < y); });

  DuplicateGroups g;
  g.id.resize(static_cast<size_t>(n));
  std::vector<int64_t> reps;  // distinct rows of the current run of equal hashes, lowest index first
  for (int64_t s = 0; s < n;) {
    int64_t e = s + 1;
    while (e < n && hash[order[e]] == hash[order[s]]) ++e;
    reps.clear();
    for (int64_t q = s; q < e; ++q) {
      const int64_t p = order[q];
      int64_t id = p;
      for (int64_t r : reps) {
        if (same_values(*where[r].first, where[r].second, *where[p].first, where[p].second)) {
          id = r;
          g.any = true;
          break;
        }
      }
      if (id == p) reps.push_back(p);
      g.id[p] = id;
    }
    s = e;
  }
  return g;
}

GroupMembers::GroupMembers(const int64_t* id, int64_t rows) : ids_(id, id + rows), rows_(static_cast<size_t>(rows)) {
  std::iota(rows_.begin(), rows_.end(), int32_t{0});
  std::stable_sort(rows_.begin(), rows_.end(), [&](int32_t x, int32_t y) { return id[x] < id[y]; });
  for (int64_t q = 0; q < rows; ++q) ids_[q] = id[rows_[q]];
}

void GroupMembers::find(int64_t g, int64_t* first, int64_t* count) const {
  const auto lo = std::lower_bound(ids_.begin(), ids_.end(), g);
  const auto hi = std::upper_bound(lo, ids_.end(), g);
  *first = lo - ids_.begin();
  *count = hi - lo;
}

void preset_copies(const TopkStore& top, const int64_t* ids, int64_t rows, const GroupMembers& to, bool self,
                   int num_threads) {
  if (!top.active()) return;
  const int64_t k = top.k;
  const int team = threads_for(resolve_threads(num_threads), rows * (k + 16));
#pragma omp parallel num_threads(team)
  {
    std::vector<int32_t> js(static_cast<size_t>(k));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
      int64_t first, count;
      to.find(ids[i], &first, &count);
      if (count < k + (self ? 1 : 0)) continue;
      int64_t n = 0;
      for (int64_t q = first; n < k; ++q)
        if (!self || to.rows()[q] != i) js[n++] = to.rows()[q];
      topk::preset(top, i, js.data());
    }
  }
}

}  // namespace fastprdc
