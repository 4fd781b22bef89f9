#pragma once
// Umbrella header for the parts of curebench that need no libtorch (target curebench::base).
#include "curebench/core/atomic_write.hpp"
#include "curebench/core/dtype.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/core/mapped_file.hpp"
#include "curebench/core/memory.hpp"
#include "curebench/core/timer.hpp"
#include "curebench/io/gguf.hpp"
#include "curebench/io/safetensors.hpp"
#include "curebench/io/safetensors_index.hpp"
#include "curebench/io/safetensors_writer.hpp"
#include "curebench/version.hpp"
