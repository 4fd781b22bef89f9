// Embedding example: open a safetensors checkpoint with curebench and print what it holds.
#include <curebench/curebench_base.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: embed_example FILE.safetensors\n";
    return 2;
  }
  try {
    curebench::io::SafetensorsFile file(argv[1]);
    std::int64_t elements = 0;
    for (const auto& t : file.tensors()) elements += t.numel();
    std::cout << "curebench " << curebench::kVersion << ": " << file.tensors().size() << " tensors, " << elements
              << " elements\n";
    return file.tensors().empty() ? 1 : 0;
  } catch (const curebench::Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
