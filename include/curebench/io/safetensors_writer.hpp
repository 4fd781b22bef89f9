#pragma once
// Writes a safetensors file (atomically: temp file + rename). Tensors keep the order they were added in;
// the header is padded with spaces to an 8-byte boundary as the reference implementation does.
#include "curebench/core/atomic_write.hpp"
#include "curebench/core/dtype.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace curebench::io {

class SafetensorsWriter {
 public:
  void add(std::string name, DType dtype, std::vector<std::int64_t> shape, std::span<const std::byte> data) {
    entries_.push_back({std::move(name), dtype, std::move(shape), std::vector<std::byte>(data.begin(), data.end())});
  }
  template <class T>
  void add(std::string name, DType dtype, std::vector<std::int64_t> shape, const std::vector<T>& values) {
    add(std::move(name), dtype, std::move(shape), std::as_bytes(std::span<const T>(values)));
  }
  void set_metadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }

  std::string serialize() const {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata_.empty()) header["__metadata__"] = metadata_;
    std::uint64_t offset = 0;
    for (auto& e : entries_) {
      header[e.name] = {{"dtype", std::string(dtype_name(e.dtype))}, {"shape", e.shape},
                        {"data_offsets", {offset, offset + e.data.size()}}};
      offset += e.data.size();
    }
    std::string h = header.dump();
    while ((h.size() + 8) % 8 != 0) h.push_back(' ');
    std::string out(8, '\0');
    std::uint64_t n = h.size();
    for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
    out += h;
    for (auto& e : entries_) out.append(reinterpret_cast<const char*>(e.data.data()), e.data.size());
    return out;
  }

  void write(const std::string& path) const { atomic_write(path, serialize()); }

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> data;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace curebench::io
