#include "bench_int8/progress.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

namespace octet::bench {
namespace {
std::atomic<bool> g_enabled{true};
constexpr int kBarWidth = 28;
}  // namespace

void ProgressBar::set_enabled(bool on) { g_enabled = on; }

void progress_note(const std::string& line) {
  if (!g_enabled) return;
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

ProgressBar::ProgressBar(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled && g_enabled),
      tty_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  if (enabled_ && tty_) draw(false);
}

ProgressBar::~ProgressBar() {
  if (!finished_) finish();
}

void ProgressBar::set(int64_t done) {
  done_ = std::max<int64_t>(0, done);
  if (!enabled_ || !tty_) return;
  auto now = std::chrono::steady_clock::now();
  // Redraw at most ~10 times a second: drawing must not cost measurable time.
  if (now - last_draw_ < std::chrono::milliseconds(100) && done_ != total_) return;
  last_draw_ = now;
  draw(false);
}

void ProgressBar::finish(const std::string& note) {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  std::string saved = label_;
  if (!note.empty()) label_ += "  " + note;
  draw(true);
  label_ = saved;
}

void ProgressBar::draw(bool final_line) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char counts[96];
  std::string bar;
  if (total_ > 0) {
    double fraction = std::min(1.0, double(done_) / double(total_));
    int filled = static_cast<int>(fraction * kBarWidth + 0.5);
    bar = "[" + std::string(filled, '#') + std::string(kBarWidth - filled, '.') + "]";
    std::snprintf(counts, sizeof counts, " %3d%% %lld/%lld %.1fs", static_cast<int>(fraction * 100),
                  static_cast<long long>(done_), static_cast<long long>(total_), elapsed);
  } else {
    std::snprintf(counts, sizeof counts, " %.1fs", elapsed);
  }
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s %s%s%s", bar.c_str(), label_.c_str(), counts, final_line ? "\n" : "");
  } else if (final_line) {
    std::fprintf(stderr, "%s %s%s\n", bar.c_str(), label_.c_str(), counts);
  }
  std::fflush(stderr);
}

}  // namespace octet::bench
