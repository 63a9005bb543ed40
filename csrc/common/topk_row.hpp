// Per-row collectors of the k nearest candidates under an error bound, in fixed-size storage that
// the CPU engine (std::vector) and the GPU kernels (device arrays, one owner thread per row) share.
//
// Each pair arrives with a lower and an upper bound (lo <= exact key <= hi). A row keeps the k
// smallest upper bounds (a max-heap; its top, one float32 ulp up, is the row threshold T) and every
// candidate whose lower bound is <= T. Every pair whose exact key is among the k smallest (ties
// included) has lo <= key <= T, so it is never dropped; the final evaluation of the survivors by the
// oracle gives the exact top-k, ties broken by the lower index. A row holds at most `cap` = 2k + 16
// candidates: when full, those above T are pruned, and if more than half remain (many pairs within
// the error bound of the k-th, e.g. massive ties) the row is compacted exactly: its candidates are
// evaluated and the k best kept, with bounds tight around their exact keys. Memory is O(rows k).
#pragma once

#include "common/error_bound.hpp"
#include "common/select.hpp"

namespace fastprdc {

FASTPRDC_HD int32_t topk_capacity(int32_t k) { return 2 * k + 16; }

struct TopkStore {
  float* heap = nullptr;         // rows x k upper bounds (max-heap per row)
  int32_t* heap_size = nullptr;  // rows
  float* threshold = nullptr;    // rows (+inf until k upper bounds are known)
  float* cand_lo = nullptr;      // rows x cap
  int32_t* cand_j = nullptr;     // rows x cap
  int32_t* count = nullptr;      // rows
  int32_t k = 0;
  int32_t cap = 0;
  // Optional (exact mode on data with identical rows): the candidates' group ids
  // (cpu/duplicates.hpp) and per row a bar, the k-th entry (group, index) of its last exact
  // compaction (index -1: none). The row's true k-th only moves ahead of the bar, and a copy of
  // the bar's row with a higher index has the same key and a higher index: it cannot enter.
  const int64_t* cand_group = nullptr;
  int64_t* bar_group = nullptr;
  int32_t* bar_idx = nullptr;

  FASTPRDC_HD bool active() const { return k > 0; }
};

// Scratch of one thread for compaction and finalisation, each array `cap` long. Exact-key functors
// are called as ek(row, js, n, keys_out, aux), may use aux (n doubles) freely and return the number
// of float64 evaluations they made.
struct TopkScratch {
  double* key;
  double* aux;
  int32_t* idx;
};

namespace topk {

FASTPRDC_HD void set_threshold(const TopkStore& s, int64_t i) { s.threshold[i] = next_up(s.heap[i * s.k]); }

// Whether row i has no threshold yet (fewer than k upper bounds known; -inf: complete).
FASTPRDC_HD bool unbounded(const TopkStore& s, int64_t i) { return s.threshold[i] == inf_f32(); }

// Removes row i's candidates whose lower bound is above its threshold (order kept).
FASTPRDC_HD void prune(const TopkStore& s, int64_t i) {
  const float t = s.threshold[i];
  float* lo = s.cand_lo + i * s.cap;
  int32_t* j = s.cand_j + i * s.cap;
  int32_t n = 0;
  for (int32_t c = 0; c < s.count[i]; ++c) {
    if (!(lo[c] > t)) {
      lo[n] = lo[c];
      j[n] = j[c];
      ++n;
    }
  }
  s.count[i] = n;
}

// Row i's surviving candidates with their keys (exact, or the lower bounds), the min(k, n) best
// sorted by (key, index) first in the scratch. Returns the number kept; *evaluated counts the float64
// evaluations.
template <class ExactKeys>
FASTPRDC_HD int32_t select(const TopkStore& s, int64_t i, bool exact, const ExactKeys& ek, const TopkScratch& sc,
                           int64_t* evaluated) {
  prune(s, i);
  const int32_t n = s.count[i];
  const float* lo = s.cand_lo + i * s.cap;
  const int32_t* j = s.cand_j + i * s.cap;
  for (int32_t c = 0; c < n; ++c) sc.idx[c] = j[c];
  if (exact) {
    *evaluated += ek(i, sc.idx, n, sc.key, sc.aux);
  } else {
    for (int32_t c = 0; c < n; ++c) sc.key[c] = static_cast<double>(lo[c]);
  }
  return select_smallest(sc.key, sc.idx, n, s.k);
}

// Keeps the k best candidates of row i, their bounds tight around their exact keys (`to_domain`
// maps an exact key to the bound domain); O(k) entries remain under any ties.
template <class ExactKeys, class ToDomain>
FASTPRDC_HD int64_t compact(const TopkStore& s, int64_t i, bool exact, const ExactKeys& ek, const ToDomain& to_domain,
                            const TopkScratch& sc) {
  int64_t evaluated = 0;
  const int32_t kk = select(s, i, exact, ek, sc, &evaluated);
  float* lo = s.cand_lo + i * s.cap;
  int32_t* j = s.cand_j + i * s.cap;
  float* h = s.heap + i * s.k;
  for (int32_t t = 0; t < kk; ++t) {
    PairBounds b;
    if (exact) {
      b = exact_value_bounds(to_domain(sc.key[t]));
    } else {
      const float v = static_cast<float>(sc.key[t]);
      b = {v, v};
    }
    lo[t] = b.lo;
    j[t] = sc.idx[t];
    h[t] = b.hi;
  }
  s.count[i] = kk;
  s.heap_size[i] = kk;
  heap_make(h, kk);
  if (kk == s.k) set_threshold(s, i);
  if (exact && s.bar_idx && kk == s.k) {
    s.bar_group[i] = s.cand_group[j[kk - 1]];
    s.bar_idx[i] = j[kk - 1];
  }
  return evaluated;
}

// Fills row i with its exact top k, known without bounds (the k lowest-indexed copies of the row,
// at distance 0). The list is complete: a threshold of -inf (which no bound produces) marks it,
// and offer refuses everything from then on, even a pair whose lower bound is -inf (data too
// extreme for the bound), which would otherwise enter the list a second time.
FASTPRDC_HD void preset(const TopkStore& s, int64_t i, const int32_t* js) {
  for (int32_t c = 0; c < s.k; ++c) {
    s.cand_lo[i * s.cap + c] = -inf_f32();
    s.cand_j[i * s.cap + c] = js[c];
    s.heap[i * s.k + c] = -inf_f32();
  }
  s.count[i] = s.k;
  s.heap_size[i] = s.k;
  s.threshold[i] = -inf_f32();
}

// Offers pair (i, j) with bounds [lo, hi] to row i. Returns the exact evaluations spent compacting.
template <class ExactKeys, class ToDomain>
FASTPRDC_HD int64_t offer(const TopkStore& s, int64_t i, float lo, float hi, int64_t j, bool exact, const ExactKeys& ek,
                          const ToDomain& to_domain, const TopkScratch& sc) {
  if (!(lo <= s.threshold[i]) || s.threshold[i] == -inf_f32()) return 0;
  if (s.bar_idx && j > s.bar_idx[i] && s.bar_idx[i] >= 0 && s.cand_group[j] == s.bar_group[i]) return 0;
  const int32_t c = s.count[i]++;
  s.cand_lo[i * s.cap + c] = lo;
  s.cand_j[i * s.cap + c] = static_cast<int32_t>(j);
  float* h = s.heap + i * s.k;
  int32_t& hs = s.heap_size[i];
  if (hs < s.k) {
    h[hs] = hi;
    heap_sift_up(h, hs);
    ++hs;
    if (hs == s.k) set_threshold(s, i);
  } else if (hi < h[0]) {
    h[0] = hi;
    heap_sift_down(h, hs, 0);
    set_threshold(s, i);
  }
  if (s.count[i] < s.cap) return 0;
  prune(s, i);
  if (2 * s.count[i] <= s.cap) return 0;
  return compact(s, i, exact, ek, to_domain, sc);
}

// The k best keys of row i (ascending, ties by lower index) into key/idx (length k); missing
// entries get +inf and -1. Empties the row. Returns the number of exact evaluations.
template <class ExactKeys>
FASTPRDC_HD int64_t finalize(const TopkStore& s, int64_t i, bool exact, const ExactKeys& ek, const TopkScratch& sc,
                             double* key, int64_t* idx) {
  int64_t evaluated = 0;
  const int32_t kk = select(s, i, exact, ek, sc, &evaluated);
  for (int32_t t = 0; t < kk; ++t) {
    key[t] = sc.key[t];
    idx[t] = sc.idx[t];
  }
  for (int32_t t = kk; t < s.k; ++t) {
    key[t] = inf_f64();
    idx[t] = -1;
  }
  s.count[i] = 0;
  return evaluated;
}

}  // namespace topk

}  // namespace fastprdc
