#include "runtime/train/TrainReport.h"

#include "runtime/Args.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace kiln::runtime {

namespace {

/// A loss or metric for people: 4 decimals where that reads well.
std::string humanValue(double v) {
  char buf[48];
  double a = std::fabs(v);
  if (v == 0 || (a >= 1e-3 && a < 1e5))
    std::snprintf(buf, sizeof buf, "%.4f", v);
  else
    std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

/// 4.2s, 3m07s, 1h05m.
std::string duration(double seconds) {
  char buf[48];
  if (!(seconds >= 0) || seconds > 1e9)
    return "?";
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    long s = std::lround(seconds);
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    long m = std::lround(seconds / 60);
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", m / 60, m % 60);
  }
  return buf;
}

/// A JSON number: exact for the scalar dtype (%.9g f32, %.17g f64); null
/// for a value JSON cannot hold.
std::string jsonValue(double v, int digits) {
  if (!std::isfinite(v))
    return "null";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

/// A JSON string (names are identifiers, but escape anyway).
std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// A live bar only on a terminal that can take one.
bool stdoutIsLiveTerminal() {
  if (!isatty(STDOUT_FILENO))
    return false;
  const char *term = std::getenv("TERM");
  return !(term && std::strcmp(term, "dumb") == 0);
}

} // namespace

TrainReport::TrainReport(std::vector<std::string> names, bool f64Scalars, int64_t epochs,
                         int64_t samples, int64_t batch, const std::string &metricsPath)
    : names_(std::move(names)), f64_(f64Scalars), epochs_(epochs), samples_(samples),
      stepsPerEpoch_((samples + batch - 1) / batch), live_(stdoutIsLiveTerminal()),
      logPath_(metricsPath) {
  if (!metricsPath.empty()) {
    log_.reset(std::fopen(metricsPath.c_str(), "w"));
    if (!log_)
      inputError(errnoMessage(metricsPath, "cannot open for writing"));
  }
}

TrainReport::~TrainReport() { abort(); }

double TrainReport::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void TrainReport::beginEpoch(int64_t epoch) {
  epoch_ = epoch;
  stepInEpoch_ = 0;
  seen_ = 0;
  sums_.assign(names_.size(), 0.0);
  start_ = std::chrono::steady_clock::now();
  lastDraw_ = start_;
  if (live_)
    drawBar(/*force=*/true);
}

std::string TrainReport::valuesText(const std::vector<double> &values) const {
  std::string text;
  for (size_t i = 0; i < names_.size() && i < values.size(); ++i)
    text += "  " + names_[i] + " " + humanValue(values[i]);
  return text;
}

void TrainReport::step(int64_t runStep, int64_t rows, const std::vector<double> &values) {
  ++stepInEpoch_;
  seen_ += rows;
  for (size_t i = 0; i < sums_.size() && i < values.size(); ++i)
    sums_[i] += values[i] * double(rows);
  if (log_) {
    std::string line = "{\"epoch\":" + std::to_string(epoch_) +
                       ",\"step\":" + std::to_string(runStep);
    for (size_t i = 0; i < names_.size() && i < values.size(); ++i)
      line += "," + jsonString(names_[i]) + ":" + jsonValue(values[i], f64_ ? 17 : 9);
    writeLog(line + "}\n");
  }
  if (live_)
    drawBar(/*force=*/false);
}

void TrainReport::drawBar(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && stepInEpoch_ < stepsPerEpoch_ &&
      now - lastDraw_ < std::chrono::milliseconds(100))
    return;
  lastDraw_ = now;
  constexpr int kWidth = 20;
  int filled = stepsPerEpoch_ ? int(stepInEpoch_ * kWidth / stepsPerEpoch_) : kWidth;
  std::string bar(size_t(filled), '=');
  if (filled < kWidth)
    bar += '>' + std::string(size_t(kWidth - filled - 1), ' ');
  char head[128];
  std::snprintf(head, sizeof head, "epoch %lld/%lld  [%s]  %lld/%lld",
                static_cast<long long>(epoch_), static_cast<long long>(epochs_), bar.c_str(),
                static_cast<long long>(stepInEpoch_), static_cast<long long>(stepsPerEpoch_));
  std::string line = head;
  if (seen_ > 0) {
    std::vector<double> means;
    for (double s : sums_)
      means.push_back(s / double(seen_));
    line += valuesText(means);
    double t = elapsed();
    if (t > 0) {
      double rate = double(seen_) / t;
      char buf[96];
      std::snprintf(buf, sizeof buf, "  %.0f samples/s  ETA %s", rate,
                    duration(double(samples_ - seen_) / rate).c_str());
      line += buf;
    }
  }
  std::fprintf(stdout, "\r%s\033[K", line.c_str());
  std::fflush(stdout);
  barShown_ = true;
}

void TrainReport::endEpoch() {
  double seconds = elapsed();
  std::vector<double> means;
  for (double s : sums_)
    means.push_back(seen_ ? s / double(seen_) : 0.0);
  double rate = seconds > 0 ? double(seen_) / seconds : 0.0;
  char tail[96];
  std::snprintf(tail, sizeof tail, "  %.0f samples/s  %s", rate, duration(seconds).c_str());
  std::string line = "epoch " + std::to_string(epoch_) + "/" + std::to_string(epochs_) +
                     valuesText(means) + tail;
  if (live_)
    std::fprintf(stdout, "\r%s\033[K\n", line.c_str());
  else
    std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
  barShown_ = false;
  if (log_) {
    std::string json = "{\"epoch\":" + std::to_string(epoch_);
    for (size_t i = 0; i < names_.size(); ++i)
      json += "," + jsonString(names_[i]) + ":" + jsonValue(means[i], f64_ ? 17 : 9);
    json += ",\"samples_per_second\":" + jsonValue(rate, 6) +
            ",\"seconds\":" + jsonValue(seconds, 6) + "}\n";
    writeLog(json);
  }
}

void TrainReport::abort() {
  if (barShown_) {
    std::fprintf(stdout, "\n");
    std::fflush(stdout);
    barShown_ = false;
  }
}

void TrainReport::writeLog(const std::string &line) {
  if (std::fwrite(line.data(), 1, line.size(), log_.get()) != line.size() ||
      std::fflush(log_.get()) != 0)
    runError(errnoMessage(logPath_, "write failed"));
}

} // namespace kiln::runtime
