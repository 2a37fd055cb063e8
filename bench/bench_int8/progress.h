// Progress bars on stderr for calibration, evaluation and timing. On a terminal the bar is
// redrawn in place; otherwise one line is printed when the task ends, so logs stay short.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace octet::bench {

class ProgressBar {
 public:
  // total <= 0: a task of unknown length (a spinner-free counter).
  ProgressBar(std::string label, int64_t total, bool enabled = true);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void set(int64_t done);  // absolute progress
  void advance(int64_t n = 1) { set(done_ + n); }
  // Ends the bar with a closing note ("98.9 %", "failed: ...").
  void finish(const std::string& note = "");

  // Global switch (--no-progress) and whether stderr is a terminal.
  static void set_enabled(bool on);

 private:
  void draw(bool final_line);
  std::string label_;
  int64_t total_ = 0;
  int64_t done_ = 0;
  bool enabled_ = true;
  bool finished_ = false;
  bool tty_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// One informational line on stderr (respects the global switch).
void progress_note(const std::string& line);

}  // namespace octet::bench
