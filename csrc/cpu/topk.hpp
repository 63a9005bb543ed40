// Per-row collector of k-nearest candidates under an error bound.
//
// Each pair arrives with a lower and an upper bound (lo <= oracle d^2 <= hi, scaled domain).
// The collector keeps, per row, the k smallest upper bounds (a max-heap; its top is the row
// threshold T) and every candidate whose lower bound is <= T. Every pair whose oracle value is
// among the k smallest (ties included) has lo <= oracle <= T, so it is never dropped; the final
// float64 recheck of the survivors gives the exact top-k, ties broken by the lower index.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace fastprdc {

class TopkCollector {
 public:
  TopkCollector() = default;
  TopkCollector(int64_t rows, int64_t k)
      : k_(k),
        heap_(static_cast<size_t>(rows * k)),
        heap_size_(static_cast<size_t>(rows), 0),
        threshold_(static_cast<size_t>(rows), std::numeric_limits<float>::infinity()),
        cand_(static_cast<size_t>(rows)),
        limit_(static_cast<size_t>(rows), static_cast<int32_t>(2 * k + 16)) {}

  bool active() const { return k_ > 0; }
  // Candidates with lo above this can never enter the row's top-k.
  float threshold(int64_t i) const { return threshold_[i]; }
  const float* thresholds() const { return threshold_.data(); }

  // Caller has checked lo <= threshold(i). Returns true when the row's candidate list is long
  // (many pairs within the error bound of its k-th, e.g. massive ties): call compact() then.
  bool push(int64_t i, float lo, float hi, int64_t j) {
    std::vector<Cand>& c = cand_[i];
    c.push_back({lo, static_cast<int32_t>(j)});
    float* h = heap_.data() + i * k_;
    int32_t& s = heap_size_[i];
    if (s < k_) {
      h[s++] = hi;
      std::push_heap(h, h + s);
      if (s == k_) set_threshold(i);
    } else if (hi < h[0]) {
      std::pop_heap(h, h + s);
      h[s - 1] = hi;
      std::push_heap(h, h + s);
      set_threshold(i);
    }
    if (static_cast<int64_t>(c.size()) < limit_[i]) return false;
    prune(i);
    return 2 * static_cast<int64_t>(c.size()) > limit_[i];
  }

  // Bounds the memory of row i: evaluates its candidates exactly (`exact_key`, as in finalize)
  // and keeps the k best by (key, index), whose bounds become the exact value; `to_domain(key)`
  // maps an exact key back to the bound domain. Keeps O(k) candidates per row under any ties.
  // Returns the number of exact key evaluations.
  template <class ExactKey, class ToDomain>
  int64_t compact(int64_t i, bool exact, ExactKey exact_key, ToDomain to_domain) {
    int64_t evaluated = 0;
    std::vector<std::pair<double, int64_t>> v = evaluate(i, exact, exact_key, &evaluated);
    const int64_t kk = std::min<int64_t>(k_, static_cast<int64_t>(v.size()));
    std::vector<Cand>& c = cand_[i];
    c.clear();
    float* h = heap_.data() + i * k_;
    for (int64_t t = 0; t < kk; ++t) {
      const double dom = exact ? to_domain(v[t].first) : v[t].first;
      const float lo = exact ? std::nextafter(static_cast<float>(dom * (1.0 - kRel)), -kInf) : static_cast<float>(dom);
      const float hi = exact ? std::nextafter(static_cast<float>(dom * (1.0 + kRel)), kInf) : static_cast<float>(dom);
      c.push_back({std::min(lo, hi), static_cast<int32_t>(v[t].second)});  // min: negative keys
      h[t] = std::max(lo, hi);
    }
    heap_size_[i] = static_cast<int32_t>(kk);
    std::make_heap(h, h + kk);
    if (kk == k_) set_threshold(i);
    return evaluated;
  }

  // The k smallest keys of row i (ascending, ties by lower index) into key/idx (length k);
  // missing entries get +inf and -1. With `exact`, `exact_key(js, n, out)` writes the exact keys
  // of candidates js[0..n) (the lower bounds are used otherwise). Returns the number of exact keys.
  template <class ExactKey>
  int64_t finalize(int64_t i, bool exact, ExactKey exact_key, double* key, int64_t* idx) {
    int64_t evaluated = 0;
    std::vector<std::pair<double, int64_t>> v = evaluate(i, exact, exact_key, &evaluated);
    const int64_t kk = static_cast<int64_t>(v.size());
    for (int64_t t = 0; t < kk; ++t) {
      key[t] = v[t].first;
      idx[t] = v[t].second;
    }
    for (int64_t t = kk; t < k_; ++t) {
      key[t] = std::numeric_limits<double>::infinity();
      idx[t] = -1;
    }
    std::vector<Cand>().swap(cand_[i]);
    return evaluated;
  }

 private:
  static constexpr double kRel = 1.0 / 1099511627776.0;  // 2^-40
  static constexpr float kInf = std::numeric_limits<float>::infinity();

  // One float32 ulp above the k-th upper bound: candidates whose exact value ties the k-th
  // after rounding (e.g. equal square roots of d^2 one ulp apart) are never pruned.
  void set_threshold(int64_t i) { threshold_[i] = std::nextafter(heap_[i * k_], kInf); }

  // Surviving candidates of row i with their keys (exact, or the lower bounds), sorted by
  // (key, index); the first k are the row's answer.
  template <class ExactKey>
  std::vector<std::pair<double, int64_t>> evaluate(int64_t i, bool exact, ExactKey exact_key, int64_t* evaluated) {
    prune(i);
    const std::vector<Cand>& c = cand_[i];
    const int64_t n = static_cast<int64_t>(c.size());
    *evaluated = exact ? n : 0;
    std::vector<int64_t> js(static_cast<size_t>(n));
    std::vector<double> keys(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) js[t] = c[t].j;
    if (exact) {
      exact_key(js.data(), n, keys.data());
    } else {
      for (int64_t t = 0; t < n; ++t) keys[t] = static_cast<double>(c[t].lo);
    }
    std::vector<std::pair<double, int64_t>> v(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) v[t] = {keys[t], js[t]};
    const int64_t kk = std::min<int64_t>(k_, n);
    std::partial_sort(v.begin(), v.begin() + kk, v.end());
    v.resize(static_cast<size_t>(kk));
    return v;
  }

  struct Cand {
    float lo;
    int32_t j;
  };

  void prune(int64_t i) {
    const float t = threshold_[i];
    std::vector<Cand>& c = cand_[i];
    c.erase(std::remove_if(c.begin(), c.end(), [t](const Cand& x) { return x.lo > t; }), c.end());
  }

  int64_t k_ = 0;
  std::vector<float> heap_;
  std::vector<int32_t> heap_size_;
  std::vector<float> threshold_;
  std::vector<std::vector<Cand>> cand_;
  std::vector<int32_t> limit_;
};

}  // namespace fastprdc
