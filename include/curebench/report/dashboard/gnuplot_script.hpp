#pragma once
// Builds gnuplot 5 command text: quoted strings, locale-free numbers, inline datablocks, and the common look
// every panel starts from. Text only — nothing here needs gnuplot, so panels can be tested without it.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace curebench::report::gp {

// Text from a run (a config's notice, a split or model name, a path) as a gnuplot string expression that is
// inert: single-quoted pieces, in which gnuplot expands neither backquotes (a shell command inside double quotes),
// nor `@` macros, nor backslash escapes; the only special character is the quote itself, doubled. A newline,
// which cannot stand inside a single-quoted string, becomes the concatenation 'a'."\n".'b'. Other control bytes
// become spaces. Terminals run with noenhanced, so '_' or '^' print as written.
inline std::string str(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "''";
    else if (c == '\n') out += "'.\"\\n\".'";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += ' ';
    else out += c;
  }
  return out + "'";
}

namespace detail {
// v with `decimals` digits after the point, independent of the C locale; a value whose fixed notation does not fit
// 64 characters (|v| above ~1e60) in scientific notation instead (fixed = false). Never the buffer's bytes past
// what to_chars wrote: a failed to_chars returns the buffer's end as its pointer, and the string built from it
// carried 64 bytes of the stack into the gnuplot script, unquoted, backquotes among them (fuzz_run_data found it
// with a token mean of ~1e300 in a results.json; docs/robustness.md).
inline std::string number_text(double v, int decimals, bool& fixed) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  fixed = r.ec == std::errc{};
  if (!fixed) r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific, 6);
  if (r.ec != std::errc{}) return "NaN";  // 64 characters always hold the scientific form; never the raw buffer
  return std::string(buf, r.ptr);
}
}  // namespace detail

// Fixed-point number text independent of the C locale (gnuplot wants '.'); scientific above ~1e60.
inline std::string num(double v, int decimals = 3) {
  if (!std::isfinite(v)) return "NaN";
  bool fixed = true;
  std::string s = detail::number_text(v, decimals, fixed);
  if (!fixed) return s;
  if (s.find('.') != std::string::npos) {  // trim trailing zeros: "65.000" -> "65"
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

// "set yrange [lo:hi]\n" for a range computed from the data. gnuplot stops the whole dashboard on an empty range
// ("Can't plot with an empty y range!"), which equal values make: one sample, every answer empty, a speed or a
// divergence of 0. The range gnuplot would read (the printed numbers) is widened when it is empty, and a log axis
// gets positive bounds.
inline std::string yrange(double lo, double hi, int decimals, bool log_axis = false) {
  if (!std::isfinite(hi)) hi = lo;
  if (!std::isfinite(lo)) lo = 0;
  if (log_axis) {
    if (hi <= 0) hi = 1;
    if (lo <= 0 || lo >= hi) lo = hi / 1000;
  }
  auto printed = [&](double v) { return std::strtod(num(v, decimals).c_str(), nullptr); };
  if (!(printed(hi) > printed(lo))) hi = log_axis ? lo * 1000 : printed(lo) + std::max(1.0, std::abs(printed(lo)));
  return "set yrange [" + num(lo, decimals) + ":" + num(hi, decimals) + "]\n";
}

// Human text for a value with a fixed number of decimals, e.g. "65.0".
inline std::string fixed(double v, int decimals) {
  bool is_fixed = true;
  std::string s = detail::number_text(v, decimals, is_fixed);
  if (is_fixed && s.size() > 1 && s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

// Shorten a label for a tic; the full name stays in the tables of report.md.
inline std::string shorten(std::string_view s, std::size_t max_chars) {
  if (s.size() <= max_chars) return std::string(s);
  return std::string(s.substr(0, max_chars - 2)) + "..";
}

// Two lines for a long name, split at the separator nearest the middle ("llama-3-8b-\nnf4"), so tic labels
// of neighbouring categories do not run into each other.
inline std::string wrap_name(std::string_view s, std::size_t line_chars) {
  if (s.size() <= line_chars) return std::string(s);
  std::size_t best = std::string_view::npos;
  for (std::size_t i = 1; i + 1 < s.size(); ++i)
    if (s[i] == '-' || s[i] == '_' || s[i] == ' ' || s[i] == '/' || s[i] == '.')
      if (best == std::string_view::npos || (i > s.size() / 2 ? i - s.size() / 2 : s.size() / 2 - i) <
                                               (best > s.size() / 2 ? best - s.size() / 2 : s.size() / 2 - best))
        best = i;
  if (best == std::string_view::npos) return shorten(s, line_chars);
  auto first = s.substr(0, s[best] == ' ' ? best : best + 1);
  return shorten(first, line_chars) + "\n" + shorten(s.substr(best + 1), line_chars);
}

inline std::string rgb(std::uint32_t c) {
  static const char* hex = "0123456789abcdef";
  std::string s = "#000000";
  for (int i = 0; i < 6; ++i) s[6 - i] = hex[(c >> (4 * i)) & 0xF];
  return "rgb \"" + s + "\"";
}

namespace color {
inline constexpr std::uint32_t validation = 0x2E86AB, test = 0xA23B72, other = 0xF18F01;
inline constexpr std::uint32_t ok = 0x2A9D43, failed = 0xD1495B, skipped = 0x9E9E9E;
inline constexpr std::uint32_t gpu = 0x3D5A80, host = 0x98C1D9, time = 0xEE6C4D;
inline constexpr std::uint32_t gap = 0x8D99AE;
inline constexpr std::uint32_t input = 0x98C1D9, output = 0x3D5A80, neutral = 0x555555, note = 0x777777;
}  // namespace color

class Script {
 public:
  Script& operator<<(std::string_view s) {
    text_ += s;
    return *this;
  }
  // Writes `$dN << EOD ... EOD` and returns the block's name. Rows are numbers only; text goes into labels.
  std::string datablock(const std::vector<std::vector<double>>& rows) {
    std::string name = "$d" + std::to_string(++blocks_);
    text_ += name + " << EOD\n";
    for (auto& row : rows) {
      for (std::size_t i = 0; i < row.size(); ++i) text_ += (i ? " " : "") + num(row[i], 6);
      text_ += "\n";
    }
    text_ += "EOD\n";
    return name;
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  int blocks_ = 0;
};

// Every panel starts from the same state: in a multiplot the previous panel's settings would leak otherwise.
inline void begin_panel(Script& s, std::string_view title) {
  s << "reset\n"
    << "set title " << str(title) << " font \",15\"\n"
    << "set border 3 lc rgb \"#444444\"\nset tics nomirror out scale 0.6\n"
    << "set grid ytics lc rgb \"#dddddd\" lt 1 lw 1\n"
    << "set style fill solid 0.85 border lc rgb \"#333333\"\n"
    << "set key top right noautotitle samplen 1.5 spacing 1.1 font \",11\"\n";
}

// The panel that stands in for missing data: visible and says why, never an empty or zero chart.
inline void no_data_panel(Script& s, std::string_view title, std::string_view why) {
  begin_panel(s, title);
  s << "unset border\nunset tics\nunset grid\nunset key\nset xrange [0:1]\nset yrange [0:1]\n"
    << "set label 1 \"no data\" at 0.5,0.6 center font \",18\" tc rgb \"#999999\"\n"
    << "set label 2 " << str(why) << " at 0.5,0.42 center font \",11\" tc rgb \"#777777\"\n"
    << "plot 2 notitle\n";
}

// x tics from category names at 0, 1, 2, ... gnuplot's automatic bottom margin counts one line of tic text,
// so two-line names get an explicit margin.
inline std::string xtics(const std::vector<std::string>& names) {
  std::string t = "set xtics (";
  bool two_lines = false;
  for (std::size_t i = 0; i < names.size(); ++i) {
    t += (i ? ", " : "") + str(names[i]) + " " + std::to_string(i);
    two_lines = two_lines || names[i].find('\n') != std::string::npos;
  }
  return t + ")\n" + (two_lines ? "set bmargin 4.5\n" : "");
}
inline std::string ytics(const std::vector<std::string>& names) {
  std::string t = "set ytics (";
  for (std::size_t i = 0; i < names.size(); ++i) t += (i ? ", " : "") + str(names[i]) + " " + std::to_string(i);
  return t + ")\n";
}

// A text label placed in data coordinates.
// A text label placed in data coordinates. gnuplot hangs extra lines below the anchor; the offset moves a
// multi-line label up by half its height so it is centred on the point.
inline std::string label(std::string_view text, double x, double y, std::string_view extra = "center") {
  std::string out = "set label " + str(text) + " at " + num(x, 4) + "," + num(y, 4) + " " + std::string(extra);
  auto lines = static_cast<double>(std::count(text.begin(), text.end(), '\n'));
  if (lines > 0 && extra.find("offset") == std::string_view::npos) out += " offset 0," + num(lines / 2, 2);
  return out + " front\n";
}

}  // namespace curebench::report::gp
