#pragma once
// A set of safetensors shards seen as one tensor namespace: a single model.safetensors, or the shards
// listed by model.safetensors.index.json ("weight_map": name -> shard file). Every name in the index must
// exist in its shard; a missing shard file names the index and the shard.
#include "curebench/io/safetensors.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace curebench::io {

class SafetensorsSet {
 public:
  // `path`: a .safetensors file, an index .json, or a folder holding either.
  explicit SafetensorsSet(const std::filesystem::path& path) {
    namespace fs = std::filesystem;
    fs::path p = path;
    if (fs::is_directory(p)) {
      if (fs::exists(p / "model.safetensors.index.json")) p = p / "model.safetensors.index.json";
      else if (fs::exists(p / "model.safetensors")) p = p / "model.safetensors";
      else {
        std::vector<fs::path> found;
        for (auto& e : fs::directory_iterator(p))
          if (e.is_regular_file() && e.path().extension() == ".safetensors") found.push_back(e.path());
        std::sort(found.begin(), found.end());
        if (found.empty()) throw Error(Errc::not_found, path.string(), "", "no .safetensors file or index in folder");
        for (auto& f : found) add_shard(f.string());
        return;
      }
    }
    if (p.extension() == ".json") load_index(p);
    else add_shard(p.string());
  }

  const std::vector<std::unique_ptr<SafetensorsFile>>& shards() const { return shards_; }
  std::size_t size() const { return where_.size(); }
  bool contains(std::string_view name) const { return where_.count(std::string(name)) != 0; }

  struct Ref {
    const SafetensorsFile* file;
    const TensorInfo* info;
  };
  std::optional<Ref> find(std::string_view name) const {
    auto it = where_.find(std::string(name));
    if (it == where_.end()) return std::nullopt;
    const auto* f = shards_[it->second].get();
    return Ref{f, f->find(name)};
  }
  Ref at(std::string_view name) const {
    if (auto r = find(name)) return *r;
    throw Error(Errc::not_found, origin_, std::string(name), "tensor not found in checkpoint");
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (auto& [n, _] : where_) out.push_back(n);
    return out;
  }
  const std::string& origin() const { return origin_; }

 private:
  void add_shard(const std::string& file) {
    if (origin_.empty()) origin_ = file;
    shards_.push_back(std::make_unique<SafetensorsFile>(file));
    std::size_t idx = shards_.size() - 1;
    for (auto& t : shards_.back()->tensors()) {
      if (where_.count(t.name))
        throw Error(Errc::format, file, t.name, "tensor also present in " + shards_[where_[t.name]]->path());
      where_[t.name] = idx;
    }
  }

  void load_index(const std::filesystem::path& index) {
    origin_ = index.string();
    auto j = read_json_file(index.string());
    auto wm = j.find("weight_map");
    if (wm == j.end() || !wm->is_object()) throw Error(Errc::format, origin_, "weight_map", "missing or not an object");
    std::map<std::string, std::size_t> shard_of_file;
    for (auto& [name, file] : wm->items()) {
      if (!file.is_string()) throw Error(Errc::format, origin_, "weight_map." + name, "expected a shard file name");
      auto fname = file.get<std::string>();
      if (fname.find('/') != std::string::npos || fname == "..")
        throw Error(Errc::format, origin_, "weight_map." + name, "shard name must be a plain file name: " + fname);
      if (!shard_of_file.count(fname)) {
        auto full = index.parent_path() / fname;
        // The error_code overload: a name the OS refuses (e.g. longer than NAME_MAX) is a missing shard, not a
        // std::filesystem_error escaping the reader (found by tests/fuzz/fuzz_safetensors_index.cpp).
        std::error_code ec;
        if (!std::filesystem::exists(full, ec))
          throw Error(Errc::not_found, origin_, "weight_map." + name,
                      "shard " + fname + " does not exist" + (ec ? " (" + ec.message() + ")" : std::string()));
        shards_.push_back(std::make_unique<SafetensorsFile>(full.string()));
        shard_of_file[fname] = shards_.size() - 1;
      }
      auto idx = shard_of_file[fname];
      if (!shards_[idx]->find(name))
        throw Error(Errc::not_found, shards_[idx]->path(), name, "listed in " + origin_ + " but not in the shard");
      where_[name] = idx;
    }
  }

  std::string origin_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;
  std::map<std::string, std::size_t> where_;
};

}  // namespace curebench::io
