#pragma once
// safetensors reader (https://github.com/huggingface/safetensors, format spec in its README):
//   u64 little-endian N | N bytes of UTF-8 JSON header | data buffer.
// Header: {"__metadata__": {str: str}?, "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}}.
// Every entry is validated before any byte is used: known dtype, non-negative shape whose element count
// times the dtype size equals e - b without overflow, ranges inside the buffer, no overlaps, no holes.
#include "curebench/core/dtype.hpp"
#include "curebench/core/error.hpp"
#include "curebench/core/json_file.hpp"
#include "curebench/core/mapped_file.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace curebench::io {

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // offsets in the data buffer
  std::uint64_t nbytes() const { return end - begin; }
  std::int64_t numel() const {
    // The reader checked the product without overflow; a 0 anywhere makes it 0, and multiplying the other
    // (possibly huge) dimensions first would overflow int64.
    for (auto d : shape)
      if (d == 0) return 0;
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

class SafetensorsFile {
 public:
  static constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;  // the reference implementation's limit

  explicit SafetensorsFile(const std::string& path) : file_(path) { parse(); }

  const std::string& path() const { return file_.path(); }
  std::uint64_t file_size() const { return file_.size(); }
  std::uint64_t header_size() const { return header_size_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  const TensorInfo* find(std::string_view name) const {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }
  const TensorInfo& at(std::string_view name) const {
    if (auto* t = find(name)) return *t;
    throw Error(Errc::not_found, path(), std::string(name), "tensor not in file");
  }
  std::span<const std::byte> bytes(const TensorInfo& t) const {
    return file_.bytes().subspan(data_start_ + t.begin, t.nbytes());
  }

 private:
  [[noreturn]] void fail(const std::string& field, const std::string& msg) const {
    throw Error(Errc::format, path(), field, msg);
  }

  static bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
    return __builtin_mul_overflow(a, b, &out);
  }

  void parse() {
    const auto size = file_.size();
    if (size < 8) fail("header length", "file has " + std::to_string(size) + " bytes, fewer than the 8-byte header length");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<std::uint8_t>(file_.data()[i]);
    if (n > kMaxHeaderBytes) fail("header length", "header claims " + std::to_string(n) + " bytes, limit is " + std::to_string(kMaxHeaderBytes));
    if (n > size - 8) fail("header length", "header claims " + std::to_string(n) + " bytes but only " + std::to_string(size - 8) + " follow (truncated file?)");
    header_size_ = n;
    data_start_ = 8 + n;
    std::string_view text(reinterpret_cast<const char*>(file_.data()) + 8, n);
    if (text.empty() || text.front() != '{') fail("header", "JSON header must start with '{'");
    auto header = parse_json_text(text, path(), JsonLimits{kMaxHeaderBytes, 8});
    if (!header.is_object()) fail("header", "JSON header is not an object");
    const std::uint64_t data_size = size - data_start_;

    for (auto& [key, value] : header.items()) {
      if (key == "__metadata__") {
        if (!value.is_object()) fail("__metadata__", "expected an object of strings");
        for (auto& [mk, mv] : value.items()) {
          if (!mv.is_string()) fail("__metadata__." + mk, "expected a string");
          metadata_[mk] = mv.get<std::string>();
        }
        continue;
      }
      tensors_.push_back(parse_entry(key, value, data_size));
    }
    // Ranges must tile the buffer exactly: sorted by begin, each starting where the previous ended.
    std::vector<std::size_t> order(tensors_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return tensors_[a].begin < tensors_[b].begin; });
    std::uint64_t cursor = 0;
    for (auto i : order) {
      const auto& t = tensors_[i];
      if (t.begin < cursor) fail(t.name + ".data_offsets", "overlaps the previous tensor (begin " + std::to_string(t.begin) + " < " + std::to_string(cursor) + ")");
      if (t.begin > cursor) fail(t.name + ".data_offsets", "leaves a hole before it (begin " + std::to_string(t.begin) + ", expected " + std::to_string(cursor) + ")");
      cursor = t.end;
    }
    if (cursor != data_size)
      fail("data_offsets", "tensors cover " + std::to_string(cursor) + " bytes of a " + std::to_string(data_size) + "-byte data buffer");
    for (std::size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
  }

  TensorInfo parse_entry(const std::string& name, const nlohmann::json& v, std::uint64_t data_size) const {
    if (!v.is_object()) fail(name, "expected an object with dtype, shape, data_offsets");
    TensorInfo t;
    t.name = name;
    auto dt = v.find("dtype");
    if (dt == v.end() || !dt->is_string()) fail(name + ".dtype", "missing or not a string");
    auto parsed = parse_dtype(dt->get<std::string>());
    if (!parsed) fail(name + ".dtype", "unknown dtype '" + dt->get<std::string>() + "'");
    t.dtype = *parsed;
    auto sh = v.find("shape");
    if (sh == v.end() || !sh->is_array()) fail(name + ".shape", "missing or not an array");
    if (sh->size() > 16) fail(name + ".shape", "more than 16 dimensions");
    std::uint64_t numel = 1;
    for (auto& d : *sh) {
      if (!d.is_number_unsigned()) fail(name + ".shape", "dimensions must be non-negative integers");
      auto dim = d.get<std::uint64_t>();
      if (dim > (1ull << 62) || mul_overflows(numel, dim, numel)) fail(name + ".shape", "element count overflows");
      t.shape.push_back(static_cast<std::int64_t>(dim));
    }
    auto off = v.find("data_offsets");
    if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
      fail(name + ".data_offsets", "expected [begin, end] of non-negative integers");
    t.begin = (*off)[0].get<std::uint64_t>();
    t.end = (*off)[1].get<std::uint64_t>();
    if (t.end < t.begin) fail(name + ".data_offsets", "end " + std::to_string(t.end) + " < begin " + std::to_string(t.begin));
    if (t.end > data_size)
      fail(name + ".data_offsets", "end " + std::to_string(t.end) + " is past the data buffer of " + std::to_string(data_size) + " bytes (truncated file?)");
    std::uint64_t expect = 0;
    if (mul_overflows(numel, element_size(t.dtype), expect)) fail(name + ".shape", "byte size overflows");
    if (expect != t.nbytes())
      fail(name + ".data_offsets", "holds " + std::to_string(t.nbytes()) + " bytes but " + std::string(dtype_name(t.dtype)) +
                                       " x shape needs " + std::to_string(expect));
    return t;
  }

  MappedFile file_;
  std::uint64_t header_size_ = 0, data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

inline void to_json(nlohmann::json& j, const TensorInfo& t) {
  j = nlohmann::json{{"name", t.name}, {"dtype", std::string(dtype_name(t.dtype))}, {"shape", t.shape},
                     {"nbytes", t.nbytes()}, {"data_offsets", {t.begin, t.end}}};
}

inline void to_json(nlohmann::json& j, const SafetensorsFile& f) {
  j = nlohmann::json{{"path", f.path()},       {"file_bytes", f.file_size()}, {"header_bytes", f.header_size()},
                     {"metadata", f.metadata()}, {"tensors", f.tensors()}};
}

}  // namespace curebench::io
