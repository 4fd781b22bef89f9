#pragma once
// TensorSource over a set of safetensors shards: copies each tensor out of the mmap straight into the
// load dtype and device, so peak host memory stays near one tensor beyond the mapped files.
#include <functional>
#include <optional>
#include <string>

#include "curebench/core/torch_compat.hpp"
#include "curebench/io/safetensors_index.hpp"
#include "curebench/model/weight_names.hpp"
#include "curebench/quant/weight.hpp"

namespace curebench::model {

class SafetensorsSource {
 public:
  using PrequantizedReader = std::function<std::optional<quant::Weight>(const io::SafetensorsSet&, const std::string& prefix)>;

  SafetensorsSource(const io::SafetensorsSet& set, at::ScalarType dtype, at::Device device,
                    PrequantizedReader prequantized = nullptr)
      : set_(set), dtype_(dtype), device_(device), prequantized_(std::move(prequantized)) {}

  std::optional<at::Tensor> dense(const std::string& name) const {
    auto ref = set_.find(name);
    if (!ref) return std::nullopt;
    return to_tensor(*ref, dtype_, device_);
  }

  std::optional<quant::Weight> linear(const std::string& name) const {
    if (!prequantized_) return std::nullopt;
    const std::string suffix = ".weight";
    auto prefix = name.size() > suffix.size() ? name.substr(0, name.size() - suffix.size()) : name;
    auto w = prequantized_(set_, prefix);
    if (w) *w = quant::to_device(*w, device_);
    return w;
  }

  std::string origin() const { return set_.origin(); }
  NameStyle name_style() const { return NameStyle::hf; }

  // A tensor exactly as stored (no dtype change), as a CPU tensor that owns its memory.
  static at::Tensor to_tensor(const io::SafetensorsSet::Ref& ref, std::optional<at::ScalarType> dtype = std::nullopt,
                              at::Device device = at::kCPU) {
    auto stored = compat::to_scalar_type(ref.info->dtype, ref.file->path(), ref.info->name);
    auto bytes = ref.file->bytes(*ref.info);
    // from_blob views read-only mapped memory; the copy below (to() or clone()) makes it writable and owned.
    auto view = at::from_blob(const_cast<std::byte*>(bytes.data()), ref.info->shape, at::TensorOptions().dtype(stored));
    auto target = dtype.value_or(stored);
    if (target == stored && device.is_cpu()) return view.clone();
    return view.to(device, target);
  }

 private:
  const io::SafetensorsSet& set_;
  at::ScalarType dtype_;
  at::Device device_;
  PrequantizedReader prequantized_;
};

}  // namespace curebench::model
