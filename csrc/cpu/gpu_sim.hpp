// Host emulation of the GPU kernels (csrc/cuda/kernels.cuh): every thread of a launch runs the
// same per-thread body on the CPU, so the GPU pipeline (the Python driver, the kernels' logic)
// is tested on machines without a GPU. Also the layout of the kernels' parameter structs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fastprdc {

struct FieldLayout {
  std::string name;
  std::string type;  // numpy type code: "u8", "i8", "i4", "f8", "f4"
  size_t offset;
};

struct StructLayout {
  std::string name;
  size_t size;
  std::vector<FieldLayout> fields;
};

// Layouts of TileArgs, CrossParams and RowsParams.
std::vector<StructLayout> kernel_param_layouts();

// Kernel name -> name of its parameter struct.
std::vector<std::pair<std::string, std::string>> kernel_names();

// Runs threads [0, n) of kernel `name` with the given parameter bytes (OpenMP over threads), in
// ascending order (order 0), descending (-1) or shuffled by the seed `order` (> 0): a GPU runs its
// threads in no set order, so tests check that results do not depend on it.
void sim_launch(const std::string& name, int64_t n, const std::string& params, const std::string& tile, int num_threads,
                int64_t order = 0);

}  // namespace fastprdc
