#pragma once
// GGUF reader, versions 2 and 3 (llama.cpp docs/gguf.md; ggml/src/gguf.cpp is the reference parser).
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv | n_kv x (string key, u32 type, value)
//   | n_tensors x (string name, u32 n_dims, u64 ne[n_dims] innermost first, u32 ggml_type, u64 offset)
//   | padding to general.alignment (default 32) | tensor data (offsets relative to here).
// Strings are u64 length + UTF-8 bytes; arrays are u32 element type + u64 count + elements (arrays may nest).
// Every count and length is checked against the bytes left in the file BEFORE anything is allocated, so a
// header that claims 2^60 entries is refused at once; every tensor's byte range is checked against the
// file. Errors name the file, the key or tensor, and the byte offset. The file is memory-mapped; tensor
// bytes are views into the map.
#include "curebench/core/error.hpp"
#include "curebench/core/mapped_file.hpp"
#include "curebench/io/ggml_types.hpp"

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace curebench::io {

enum class GGUFType : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9,
  u64 = 10, i64 = 11, f64 = 12,
};

inline constexpr std::string_view gguf_type_name(GGUFType t) {
  constexpr std::string_view names[] = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
  auto i = static_cast<std::uint32_t>(t);
  return i < std::size(names) ? names[i] : "?";
}

struct GGUFValue;
struct GGUFArray {
  GGUFType type = GGUFType::u8;  // element type (arrays of arrays: GGUFType::array)
  std::vector<GGUFValue> items;
};

// One metadata value. Integers keep their sign class (u64 or i64), floats widen to double, the on-disk
// type stays in `type` so a caller can tell an i32 from a u64.
struct GGUFValue {
  GGUFType type = GGUFType::u8;
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string, GGUFArray> data;

  bool is_unsigned() const { return std::holds_alternative<std::uint64_t>(data); }
  bool is_signed() const { return std::holds_alternative<std::int64_t>(data); }
  bool is_integer() const { return is_unsigned() || is_signed(); }
  bool is_float() const { return std::holds_alternative<double>(data); }
  bool is_string() const { return std::holds_alternative<std::string>(data); }
  bool is_array() const { return std::holds_alternative<GGUFArray>(data); }
  const GGUFArray& array() const { return std::get<GGUFArray>(data); }
  // "u32", "string", "array[string]", "array[array[i32]]"
  std::string type_name() const {
    if (!is_array()) return std::string(gguf_type_name(type));
    const auto& a = array();
    std::string inner = a.type == GGUFType::array && !a.items.empty() ? a.items.front().type_name()
                                                                       : std::string(gguf_type_name(a.type));
    return "array[" + inner + "]";
  }
};

struct GGUFKeyValue {
  std::string key;
  GGUFValue value;
  std::uint64_t offset = 0;  // file offset of the key's length field
};

struct GGUFTensorInfo {
  std::string name;
  std::vector<std::uint64_t> ne;  // ggml order: ne[0] is the innermost (contiguous) dimension
  GGMLType type = GGMLType::F32;
  std::uint64_t offset = 0;       // from the start of the data section
  std::uint64_t nbytes = 0;
  std::uint64_t info_offset = 0;  // file offset of this tensor-info entry

  std::uint64_t numel() const {
    std::uint64_t n = 1;
    for (auto d : ne) n *= d;
    return n;
  }
  // Row-major (torch) order, outermost first: a 2-D weight with ne = {in, out} is [out, in].
  std::vector<std::int64_t> shape() const {
    std::vector<std::int64_t> s(ne.rbegin(), ne.rend());
    return s;
  }
};

class GGUFFile {
 public:
  static constexpr std::uint32_t kDefaultAlignment = 32;
  static constexpr int kMaxArrayDepth = 8;
  // Each array element becomes a GGUFValue (48 bytes) even when it is one byte on disk, so counts bounded
  // only by the file size let a 1 GiB file ask for ~48 GiB. All arrays of one file together may hold at
  // most 2^22 elements (~200 MiB materialised): 5x the largest real tokenizer metadata (Gemma-3: tokens,
  // scores and token types of 262 144 entries each).
  static constexpr std::uint64_t kMaxMetadataElements = std::uint64_t{1} << 22;
  static constexpr std::uint32_t kMaxDims = 4;  // GGML_MAX_DIMS

  explicit GGUFFile(const std::string& path) : file_(path) { parse(); }

  const std::string& path() const { return file_.path(); }
  std::uint64_t file_size() const { return file_.size(); }
  std::uint32_t version() const { return version_; }
  std::uint32_t alignment() const { return alignment_; }
  std::uint64_t data_offset() const { return data_offset_; }  // absolute file offset of the data section

  // ---- metadata -----------------------------------------------------------------------------------------
  const std::vector<GGUFKeyValue>& metadata() const { return kvs_; }
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  const GGUFValue* find(std::string_view key) const {
    auto it = kv_index_.find(std::string(key));
    return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
  }
  const GGUFValue& at(std::string_view key) const {
    if (auto* v = find(key)) return *v;
    throw Error(Errc::not_found, path(), std::string(key), "metadata key not in file");
  }

  // Typed access. Integers convert between widths when the value fits (a u32 token id reads as int64_t);
  // floats need f32/f64; strings need string; bool needs bool. Anything else names expected and found.
  template <class T>
  T get(std::string_view key) const {
    return convert<T>(at(key), key);
  }
  template <class T>
  T get_or(std::string_view key, T fallback) const {
    auto* v = find(key);
    return v ? convert<T>(*v, key) : fallback;
  }
  // Arrays as flat vectors (tokenizer.ggml.tokens / merges: strings, scores: floats, token_type: ints).
  std::vector<std::string> get_strings(std::string_view key) const { return get_array<std::string>(key); }
  std::vector<float> get_floats(std::string_view key) const { return get_array<float>(key); }
  std::vector<std::int64_t> get_ints(std::string_view key) const { return get_array<std::int64_t>(key); }
  template <class T>
  std::vector<T> get_array(std::string_view key) const {
    const auto& v = at(key);
    if (!v.is_array()) type_error(key, "array", v.type_name());
    std::vector<T> out;
    out.reserve(v.array().items.size());
    for (const auto& item : v.array().items) out.push_back(convert<T>(item, key));
    return out;
  }

  // ---- tensors ------------------------------------------------------------------------------------------
  const std::vector<GGUFTensorInfo>& tensors() const { return tensors_; }
  const GGUFTensorInfo* find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(std::string(name));
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
  }
  const GGUFTensorInfo& tensor(std::string_view name) const {
    if (auto* t = find_tensor(name)) return *t;
    throw Error(Errc::not_found, path(), std::string(name), "tensor not in file");
  }
  std::span<const std::byte> bytes(const GGUFTensorInfo& t) const {
    return file_.bytes().subspan(data_offset_ + t.offset, t.nbytes);
  }

 private:
  [[noreturn]] void fail(const std::string& field, std::uint64_t at, const std::string& msg) const {
    throw Error(Errc::format, path(), field, msg + " (at byte " + std::to_string(at) + ")");
  }
  [[noreturn]] void type_error(std::string_view key, std::string_view expected, const std::string& found) const {
    throw Error(Errc::config, path(), std::string(key),
                "expected " + std::string(expected) + ", found " + found);
  }

  template <class T>
  T convert(const GGUFValue& v, std::string_view key) const {
    if constexpr (std::is_same_v<T, bool>) {
      if (auto* b = std::get_if<bool>(&v.data)) return *b;
      type_error(key, "bool", v.type_name());
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (auto* s = std::get_if<std::string>(&v.data)) return *s;
      type_error(key, "string", v.type_name());
    } else if constexpr (std::is_floating_point_v<T>) {
      if (auto* d = std::get_if<double>(&v.data)) return static_cast<T>(*d);
      type_error(key, "f32 or f64", v.type_name());
    } else if constexpr (std::is_integral_v<T>) {
      if (auto* u = std::get_if<std::uint64_t>(&v.data)) {
        if (*u <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(*u);
        type_error(key, "an integer that fits the requested type", std::to_string(*u));
      }
      if (auto* s = std::get_if<std::int64_t>(&v.data)) {
        if (std::in_range<T>(*s)) return static_cast<T>(*s);
        type_error(key, "an integer that fits the requested type", std::to_string(*s));
      }
      type_error(key, "integer", v.type_name());
    } else {
      static_assert(sizeof(T) == 0, "GGUFFile::get<T>: T must be bool, std::string, a floating or integral type");
    }
  }

  // ---- bounds-checked cursor ------------------------------------------------------------------------------
  std::uint64_t left() const { return file_.size() - pos_; }
  void need(std::uint64_t n, const std::string& field, const char* what) const {
    if (n > left())
      fail(field, pos_, std::string(what) + " needs " + std::to_string(n) + " bytes but only " +
                            std::to_string(left()) + " remain (truncated file?)");
  }
  template <class T>
  T read(const std::string& field, const char* what) {
    need(sizeof(T), field, what);
    T v;
    std::memcpy(&v, file_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const std::string& field, const char* what) {
    auto at = pos_;
    auto n = read<std::uint64_t>(field, what);
    if (n > left())
      fail(field, at, std::string(what) + " length " + std::to_string(n) + " exceeds the " + std::to_string(left()) +
                          " bytes left in the file");
    std::string s(reinterpret_cast<const char*>(file_.data()) + pos_, static_cast<std::size_t>(n));
    pos_ += n;
    return s;
  }

  // Smallest encoding of one value of a type: used to refuse counts the file cannot hold before allocating.
  static std::uint64_t min_bytes(GGUFType t) {
    switch (t) {
      case GGUFType::u8: case GGUFType::i8: case GGUFType::boolean: return 1;
      case GGUFType::u16: case GGUFType::i16: return 2;
      case GGUFType::u32: case GGUFType::i32: case GGUFType::f32: return 4;
      case GGUFType::u64: case GGUFType::i64: case GGUFType::f64: case GGUFType::string: return 8;
      case GGUFType::array: return 12;  // u32 type + u64 count
    }
    return 1;
  }
  static bool known(std::uint32_t t) { return t <= static_cast<std::uint32_t>(GGUFType::f64); }

  GGUFValue read_value(GGUFType t, const std::string& key, int depth) {
    GGUFValue v;
    v.type = t;
    switch (t) {
      case GGUFType::u8: v.data = std::uint64_t{read<std::uint8_t>(key, "u8 value")}; break;
      case GGUFType::i8: v.data = std::int64_t{read<std::int8_t>(key, "i8 value")}; break;
      case GGUFType::u16: v.data = std::uint64_t{read<std::uint16_t>(key, "u16 value")}; break;
      case GGUFType::i16: v.data = std::int64_t{read<std::int16_t>(key, "i16 value")}; break;
      case GGUFType::u32: v.data = std::uint64_t{read<std::uint32_t>(key, "u32 value")}; break;
      case GGUFType::i32: v.data = std::int64_t{read<std::int32_t>(key, "i32 value")}; break;
      case GGUFType::u64: v.data = read<std::uint64_t>(key, "u64 value"); break;
      case GGUFType::i64: v.data = read<std::int64_t>(key, "i64 value"); break;
      case GGUFType::f32: v.data = double{read<float>(key, "f32 value")}; break;
      case GGUFType::f64: v.data = read<double>(key, "f64 value"); break;
      case GGUFType::boolean: {
        auto at = pos_;
        auto b = read<std::uint8_t>(key, "bool value");
        if (b > 1) fail(key, at, "bool value must be 0 or 1, found " + std::to_string(b));
        v.data = b == 1;
        break;
      }
      case GGUFType::string: v.data = read_string(key, "string value"); break;
      case GGUFType::array: {
        if (depth >= kMaxArrayDepth) fail(key, pos_, "arrays nested deeper than " + std::to_string(kMaxArrayDepth));
        auto at = pos_;
        auto et = read<std::uint32_t>(key, "array element type");
        if (!known(et)) fail(key, at, "unknown array element type " + std::to_string(et) + " (expected 0..12)");
        auto count_at = pos_;
        auto n = read<std::uint64_t>(key, "array length");
        auto elem = min_bytes(static_cast<GGUFType>(et));
        if (n > left() / elem)
          fail(key, count_at, "array of " + std::to_string(n) + " " + std::string(gguf_type_name(static_cast<GGUFType>(et))) +
                                  " needs at least " + (n > left() ? std::string("more") : std::to_string(n * elem)) +
                                  " bytes but only " + std::to_string(left()) + " remain");
        if (n > kMaxMetadataElements - metadata_elements_)
          fail(key, count_at, "array of " + std::to_string(n) + " elements would bring the file's metadata arrays to " +
                                  std::to_string(metadata_elements_ + n) + " elements, more than the " +
                                  std::to_string(kMaxMetadataElements) + " allowed");
        metadata_elements_ += n;
        GGUFArray a;
        a.type = static_cast<GGUFType>(et);
        a.items.reserve(static_cast<std::size_t>(n));
        for (std::uint64_t i = 0; i < n; ++i) a.items.push_back(read_value(a.type, key, depth + 1));
        v.data = std::move(a);
        break;
      }
    }
    return v;
  }

  void parse() {
    if (file_.size() < 24) fail("header", 0, "file has " + std::to_string(file_.size()) + " bytes, fewer than the 24-byte GGUF header");
    if (std::memcmp(file_.data(), "GGUF", 4) != 0) fail("magic", 0, "expected \"GGUF\"");
    pos_ = 4;
    version_ = read<std::uint32_t>("version", "version");
    if (version_ == 0x02000000u || version_ == 0x03000000u)
      throw Error(Errc::unsupported, path(), "version", "big-endian GGUF files are not supported");
    if (version_ == 1) throw Error(Errc::unsupported, path(), "version", "GGUF v1 (32-bit counts) is not supported; expected 2 or 3");
    if (version_ != 2 && version_ != 3)
      throw Error(Errc::unsupported, path(), "version", "expected 2 or 3, found " + std::to_string(version_));
    auto nt_at = pos_;
    auto n_tensors = read<std::uint64_t>("n_tensors", "tensor count");
    auto nkv_at = pos_;
    auto n_kv = read<std::uint64_t>("n_kv", "metadata count");
    // A key-value pair needs >= 8 (key length) + 4 (type) + 1 bytes; a tensor info >= 8 + 4 + 4 + 8.
    if (n_kv > left() / 13)
      fail("n_kv", nkv_at, "header claims " + std::to_string(n_kv) + " metadata entries; the file has room for at most " +
                              std::to_string(left() / 13));
    if (n_tensors > left() / 24)
      fail("n_tensors", nt_at, "header claims " + std::to_string(n_tensors) + " tensors; the file has room for at most " +
                                   std::to_string(left() / 24));

    kvs_.reserve(static_cast<std::size_t>(n_kv));
    for (std::uint64_t i = 0; i < n_kv; ++i) {
      GGUFKeyValue kv;
      kv.offset = pos_;
      kv.key = read_string("metadata[" + std::to_string(i) + "].key", "key");
      auto type_at = pos_;
      auto t = read<std::uint32_t>(kv.key, "value type");
      if (!known(t)) fail(kv.key, type_at, "unknown value type " + std::to_string(t) + " (expected 0..12)");
      kv.value = read_value(static_cast<GGUFType>(t), kv.key, 0);
      if (kv_index_.count(kv.key)) fail(kv.key, kv.offset, "duplicate metadata key");
      kv_index_[kv.key] = kvs_.size();
      kvs_.push_back(std::move(kv));
    }

    if (auto* a = find("general.alignment")) {
      if (a->type != GGUFType::u32) type_error("general.alignment", "u32", a->type_name());
      auto al = std::get<std::uint64_t>(a->data);
      if (al == 0 || (al & (al - 1)) != 0)
        throw Error(Errc::format, path(), "general.alignment", "must be a non-zero power of two, found " + std::to_string(al));
      alignment_ = static_cast<std::uint32_t>(al);
    }

    tensors_.reserve(static_cast<std::size_t>(n_tensors));
    for (std::uint64_t i = 0; i < n_tensors; ++i) {
      GGUFTensorInfo t;
      t.info_offset = pos_;
      t.name = read_string("tensor[" + std::to_string(i) + "].name", "tensor name");
      auto dims_at = pos_;
      auto n_dims = read<std::uint32_t>(t.name, "n_dims");
      if (n_dims == 0 || n_dims > kMaxDims)
        fail(t.name, dims_at, "n_dims must be 1.." + std::to_string(kMaxDims) + ", found " + std::to_string(n_dims));
      std::uint64_t numel = 1;
      for (std::uint32_t d = 0; d < n_dims; ++d) {
        auto ne_at = pos_;
        auto ne = read<std::uint64_t>(t.name, "ne");
        if (ne > (std::uint64_t{1} << 62) || __builtin_mul_overflow(numel, ne, &numel))
          fail(t.name, ne_at, "element count overflows (ne[" + std::to_string(d) + "] = " + std::to_string(ne) + ")");
        t.ne.push_back(ne);
      }
      auto type_at = pos_;
      auto type_id = read<std::uint32_t>(t.name, "ggml type");
      const auto* info = ggml_type_info(type_id);
      if (!info) throw Error(Errc::unsupported, path(), t.name, "unknown ggml type " + std::to_string(type_id) + " (at byte " + std::to_string(type_at) + ")");
      t.type = info->type;
      if (t.ne[0] % info->block_elems != 0)
        fail(t.name, dims_at, "ne[0] = " + std::to_string(t.ne[0]) + " is not a multiple of the " + std::string(info->name) +
                                  " block size " + std::to_string(info->block_elems));
      if (__builtin_mul_overflow(numel / info->block_elems, std::uint64_t{info->block_bytes}, &t.nbytes))
        fail(t.name, dims_at, "byte size overflows");
      auto off_at = pos_;
      t.offset = read<std::uint64_t>(t.name, "data offset");
      if (t.offset % alignment_ != 0)
        fail(t.name, off_at, "data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " + std::to_string(alignment_));
      if (tensor_index_.count(t.name)) fail(t.name, t.info_offset, "duplicate tensor name");
      tensor_index_[t.name] = tensors_.size();
      tensors_.push_back(std::move(t));
    }

    // Data starts at the next multiple of the alignment; every tensor must lie inside the file and not overlap.
    data_offset_ = (pos_ + alignment_ - 1) / alignment_ * alignment_;
    if (data_offset_ > file_.size() && !tensors_.empty())
      fail("data", pos_, "data section would start at " + std::to_string(data_offset_) + ", past the end of the " +
                             std::to_string(file_.size()) + "-byte file");
    const std::uint64_t data_size = data_offset_ <= file_.size() ? file_.size() - data_offset_ : 0;
    std::vector<const GGUFTensorInfo*> order;
    for (const auto& t : tensors_) {
      if (t.offset > data_size || t.nbytes > data_size - t.offset)
        fail(t.name, t.info_offset, "data [" + std::to_string(t.offset) + ", +" + std::to_string(t.nbytes) + ") of " +
                                        std::string(ggml_type_name(t.type)) + " lies past the " + std::to_string(data_size) +
                                        "-byte data section (truncated file?)");
      order.push_back(&t);
    }
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < order.size(); ++i)
      if (order[i]->offset < order[i - 1]->offset + order[i - 1]->nbytes)
        fail(order[i]->name, order[i]->info_offset, "data overlaps tensor " + order[i - 1]->name);
  }

  MappedFile file_;
  std::uint64_t pos_ = 0;
  std::uint64_t metadata_elements_ = 0;  // array elements read so far, all arrays (kMaxMetadataElements)
  std::uint32_t version_ = 0;
  std::uint32_t alignment_ = kDefaultAlignment;
  std::uint64_t data_offset_ = 0;
  std::vector<GGUFKeyValue> kvs_;
  std::map<std::string, std::size_t> kv_index_;
  std::vector<GGUFTensorInfo> tensors_;
  std::map<std::string, std::size_t> tensor_index_;
};

}  // namespace curebench::io
