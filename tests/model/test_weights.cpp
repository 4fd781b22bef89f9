// model/weights.hpp: what load_weights does when a tensor source fails under it.
#include <gtest/gtest.h>

#include <stdexcept>

#include "curebench/model/load.hpp"
#include "model/model_fixtures.hpp"

namespace cb = curebench;

namespace {
// A real checkpoint's source whose allocator gives out at one tensor, failing as libtorch 1.13's CPU
// allocator does: a c10::Error whose what() is the message and then a stack trace.
struct AllocatorGivesOutAt {
  cb::model::SafetensorsSource real;
  std::string at;
  std::optional<at::Tensor> dense(const std::string& name) const {
    if (name == at)
      throw std::runtime_error("[enforce fail at alloc_cpu.cpp:75] err == 0. DefaultCPUAllocator: can't allocate memory: "
                               "you tried to allocate 549755813888 bytes.\nframe #0: c10::alloc_cpu(unsigned long)");
    return real.dense(name);
  }
  std::optional<cb::quant::Weight> linear(const std::string& name) const { return real.linear(name); }
  std::string origin() const { return real.origin(); }
  cb::model::NameStyle name_style() const { return real.name_style(); }
};
}  // namespace

// Found by tests/fuzz/cli_adversarial/special_files.py: `generate` on a checkpoint too large for the host
// printed error[internal] with libtorch's stack trace. It is out_of_memory, naming the file and the tensor.
TEST(LoadWeights, AllocatorFailureIsOutOfMemoryNamingTheTensor) {
  const auto dir = model_fixture("llama");
  auto spec = cb::model::load_hf_config(dir + "/config.json");
  cb::io::SafetensorsSet set(dir);
  AllocatorGivesOutAt src{cb::model::SafetensorsSource(set, at::kFloat, at::kCPU), "model.layers.1.mlp.up_proj.weight"};
  try {
    cb::model::load_weights(spec, src);
    FAIL() << "loaded";
  } catch (const cb::Error& e) {
    EXPECT_EQ(e.code(), cb::Errc::out_of_memory);
    EXPECT_EQ(e.path(), src.origin());
    EXPECT_EQ(e.field(), "model.layers.1.mlp.up_proj.weight");
    EXPECT_NE(e.message().find("can't allocate memory"), std::string::npos) << e.message();
    EXPECT_EQ(std::string(e.what()).find("frame #0"), std::string::npos) << e.what();
  }
}
