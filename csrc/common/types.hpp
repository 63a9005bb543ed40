// Shared plain types of the fastprdc kernels (no Python headers).
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>

namespace fastprdc {

// A read-only, C-contiguous row-major matrix of float32 or float64 values as given by the caller.
struct MatrixView {
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  bool f64 = false;

  template <class T>
  const T* row(int64_t i) const {
    return static_cast<const T*>(data) + i * cols;
  }
};

// Returns false to cancel the run. Called from the calling thread only.
using ProgressFn = std::function<bool(int64_t done, int64_t total)>;

struct RunConfig {
  bool exact = true;      // recheck ambiguous decisions against the float64 oracle
  int64_t tile_rows = 0;  // rows per tile side; 0 = default
  int num_threads = 0;    // 0 = OpenMP default
  ProgressFn progress;    // optional
};

// Thrown when the progress callback asked to stop.
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("fastprdc: run cancelled") {}
};

}  // namespace fastprdc
