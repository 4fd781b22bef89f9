#pragma once
// What this build and machine can run on: libtorch version, CUDA compiled in / available, device list.
#include <nlohmann/json.hpp>

#include <string>

#include "curebench/core/cuda_memory.hpp"
#include "curebench/core/torch_compat.hpp"

#if defined(CUREBENCH_WITH_CUDA)
#include <ATen/cuda/CUDAContext.h>
#endif

namespace curebench {

inline nlohmann::json device_info() {
  nlohmann::json j;
  j["libtorch"] = TORCH_VERSION;
#if defined(CUREBENCH_WITH_CUDA)
  j["cuda_compiled"] = true;
#else
  j["cuda_compiled"] = false;
#endif
  j["cuda_available"] = compat::cuda_available();
  j["devices"] = nlohmann::json::array();
#if defined(CUREBENCH_WITH_CUDA)
  if (compat::cuda_available()) {
    j["cuda_runtime"] = CUDART_VERSION;
    for (int i = 0; i < static_cast<int>(at::cuda::getNumGPUs()); ++i) {
      auto* p = at::cuda::getDeviceProperties(i);
      j["devices"].push_back({{"index", i},
                              {"name", std::string(p->name)},
                              {"total_memory_bytes", static_cast<std::int64_t>(p->totalGlobalMem)},
                              {"compute_capability", std::to_string(p->major) + "." + std::to_string(p->minor)},
                              {"multiprocessors", p->multiProcessorCount}});
    }
  }
#endif
  return j;
}

}  // namespace curebench
