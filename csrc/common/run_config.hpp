// How a native run is executed (host side): exactness, tiling, threads, progress and cancellation.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>

namespace fastprdc {

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
