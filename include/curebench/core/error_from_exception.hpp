#pragma once
// What any exception means to a user, as one typed, one-line Error: ours as is; an allocation failure
// (std::bad_alloc, libtorch's "DefaultCPUAllocator: can't allocate memory", CUDA "out of memory") as
// out_of_memory; a std::filesystem refusal as io naming its path; anything else internal. libtorch appends a
// C++ stack trace to its messages: only the first line is kept.
#include "curebench/core/error.hpp"

#include <exception>
#include <filesystem>
#include <new>
#include <string>

namespace curebench {

inline bool is_allocation_failure(const std::string& message) {
  for (const char* s : {"out of memory", "OutOfMemory", "can't allocate memory", "Cannot allocate memory"})
    if (message.find(s) != std::string::npos) return true;
  return false;
}

inline Error error_from_exception(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const Error& e) {
    return e;
  } catch (const std::bad_alloc&) {
    return Error(Errc::out_of_memory, "", "", "host allocation failed (std::bad_alloc)");
  } catch (const std::filesystem::filesystem_error& e) {
    return Error(Errc::io, e.path1().string(), "", e.code().message());
  } catch (const std::exception& e) {
    std::string msg = e.what();
    msg = msg.substr(0, msg.find('\n'));
    return Error(is_allocation_failure(msg) ? Errc::out_of_memory : Errc::internal, "", "", msg);
  } catch (...) {
    return Error(Errc::internal, "", "", "unknown exception");
  }
}

}  // namespace curebench
