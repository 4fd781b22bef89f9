#pragma once
// Umbrella header: all of curebench (target curebench::curebench, needs libtorch).
#include "curebench/curebench_base.hpp"
#include "curebench/core/cuda_memory.hpp"
#include "curebench/core/device_info.hpp"
#include "curebench/core/torch_compat.hpp"
