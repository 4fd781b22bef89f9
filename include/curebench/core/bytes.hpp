#pragma once
// Byte quantities as users write them: "16GiB", "500MB", "1.5G", "123".
#include <cmath>
#include <cstdint>
#include <string>

#include "curebench/core/error.hpp"

namespace curebench {

inline std::int64_t parse_bytes(const std::string& text, const std::string& field = "bytes") {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw Error(Errc::invalid_argument, "", field, "expected a size like 16GiB, 500MB or 123, found '" + text + "'");
  }
  std::string unit = text.substr(used);
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "KiB" || unit == "K") scale = 1024.0;
  else if (unit == "MiB" || unit == "M") scale = 1024.0 * 1024;
  else if (unit == "GiB" || unit == "G") scale = 1024.0 * 1024 * 1024;
  else if (unit == "TiB" || unit == "T") scale = 1024.0 * 1024 * 1024 * 1024;
  else if (unit == "KB") scale = 1e3;
  else if (unit == "MB") scale = 1e6;
  else if (unit == "GB") scale = 1e9;
  else if (unit == "TB") scale = 1e12;
  else throw Error(Errc::invalid_argument, "", field, "unknown unit '" + unit + "' in '" + text + "' (B, KiB, MiB, GiB, KB, MB, GB)");
  if (!(value >= 0) || !std::isfinite(value) || value * scale > 9.0e18)
    throw Error(Errc::invalid_argument, "", field, "size out of range: '" + text + "'");
  return static_cast<std::int64_t>(value * scale);
}

inline std::string format_bytes(std::int64_t b) {
  char buf[64];
  if (b >= (std::int64_t{1} << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / 1073741824.0);
  else if (b >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", b / 1048576.0);
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

}  // namespace curebench
