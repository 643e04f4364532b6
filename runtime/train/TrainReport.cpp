#include "runtime/train/TrainReport.h"

#include "runtime/Args.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
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

/// A live bar only on a terminal that can take one.
bool stdoutIsLiveTerminal() {
  if (!isatty(STDOUT_FILENO))
    return false;
  const char *term = std::getenv("TERM");
  return !(term && std::strcmp(term, "dumb") == 0);
}

/// Opens the --metrics log: the path's rule is resolveOutputPath's (a
/// regular file, a new name, or a link to one), truncated or appended to.
FILE *openLog(const std::string &path, bool append) {
  std::string error;
  std::string target = resolveOutputPath(path, error);
  if (target.empty())
    inputError(error);
  int fd = open(target.c_str(),
                O_WRONLY | O_CREAT | O_CLOEXEC | O_NONBLOCK | (append ? O_APPEND : 0), 0666);
  struct stat st;
  if (fd < 0)
    inputError(errnoMessage(path, "cannot open for writing"));
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { // replaced since it was checked
    close(fd);
    inputError(path + ": not a regular file");
  }
  int flags = fcntl(fd, F_GETFL);
  if ((!append && ftruncate(fd, 0) != 0) || flags < 0 ||
      fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    close(fd);
    inputError(errnoMessage(path, "cannot open for writing"));
  }
  FILE *f = fdopen(fd, append ? "ab" : "wb");
  if (!f) {
    close(fd);
    inputError(errnoMessage(path, "cannot open for writing"));
  }
  return f;
}

} // namespace

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

int terminalWidth() {
  struct winsize ws;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  if (const char *c = std::getenv("COLUMNS")) {
    int n = std::atoi(c);
    if (n > 0)
      return n;
  }
  return 80;
}

TrainReport::TrainReport(ReportOptions o)
    : o_(std::move(o)), stepsPerEpoch_((o_.samples + o_.batch - 1) / o_.batch),
      live_(stdoutIsLiveTerminal()) {
  if (const char *env = std::getenv("KILN_PROGRESS_SECONDS")) {
    char *end = nullptr;
    double v = std::strtod(env, &end);
    if (end != env && *end == '\0' && v >= 0 && std::isfinite(v))
      plainEvery_ = v;
  }
  if (!o_.metricsPath.empty())
    log_.reset(openLog(o_.metricsPath, o_.appendMetrics));
  if (!o_.tensorboardDir.empty()) {
    if (std::string e = tbTrain_.open(o_.tensorboardDir + "/train"); !e.empty())
      inputError(e);
    if (o_.validation)
      if (std::string e = tbVal_.open(o_.tensorboardDir + "/validation"); !e.empty())
        inputError(e);
  }
  lastFlush_ = std::chrono::steady_clock::now();
}

TrainReport::~TrainReport() { abort(); }

double TrainReport::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void TrainReport::beginEpoch(int64_t epoch, int64_t firstStep, double lr) {
  epoch_ = epoch;
  lr_ = lr;
  stepInEpoch_ = firstStep_ = firstStep;
  seen_ = 0;
  sums_.assign(o_.names.size(), 0.0);
  start_ = std::chrono::steady_clock::now();
  lastDraw_ = lastPlain_ = start_;
  if (live_)
    drawBar(/*force=*/true);
}

std::string TrainReport::valuesText(const std::vector<double> &values,
                                    const char *prefix) const {
  std::string text;
  for (size_t i = 0; i < o_.names.size() && i < values.size(); ++i)
    text += "  " + std::string(prefix) + o_.names[i] + " " + humanValue(values[i]);
  return text;
}

std::string TrainReport::jsonValues(const std::vector<double> &values,
                                    const char *prefix) const {
  std::string text;
  for (size_t i = 0; i < o_.names.size() && i < values.size(); ++i)
    text += "," + jsonString(prefix + o_.names[i]) + ":" +
            jsonValue(values[i], o_.f64Scalars ? 17 : 9);
  return text;
}

void TrainReport::step(int64_t runStep, int64_t rows, const std::vector<double> &values,
                       const std::vector<double> *val) {
  ++stepInEpoch_;
  seen_ += rows;
  for (size_t i = 0; i < sums_.size() && i < values.size(); ++i)
    sums_[i] += values[i] * double(rows);
  if (log_) {
    std::string line = "{\"epoch\":" + std::to_string(epoch_) +
                       ",\"step\":" + std::to_string(runStep) + jsonValues(values, "");
    if (val)
      line += jsonValues(*val, "val_");
    writeLog(line + "}\n");
  }
  if (tbTrain_.isOpen()) {
    for (size_t i = 0; i < o_.names.size() && i < values.size(); ++i)
      tbTrain_.scalar("step/" + o_.names[i], runStep, values[i]);
    if (val)
      for (size_t i = 0; i < o_.names.size() && i < val->size(); ++i)
        tbVal_.scalar("step/" + o_.names[i], runStep, (*val)[i]);
    auto now = std::chrono::steady_clock::now();
    if (now - lastFlush_ >= std::chrono::seconds(1)) {
      tbTrain_.flush();
      tbVal_.flush();
      lastFlush_ = now;
    }
  }
  if (live_)
    drawBar(/*force=*/false);
  else if (stepInEpoch_ < stepsPerEpoch_ &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - lastPlain_)
                   .count() >= plainEvery_)
    plainLine();
}

std::string TrainReport::barLine(int barWidth, size_t values, bool rate, bool eta,
                                 const char *note) const {
  char head[160];
  std::string bar;
  if (barWidth > 0) {
    int filled = stepsPerEpoch_ ? int(stepInEpoch_ * barWidth / stepsPerEpoch_) : barWidth;
    bar = "  [" + std::string(size_t(filled), '=');
    if (filled < barWidth)
      bar += '>' + std::string(size_t(barWidth - filled - 1), ' ');
    bar += "]";
  }
  std::snprintf(head, sizeof head, "epoch %lld/%lld%s  %lld/%lld",
                static_cast<long long>(epoch_), static_cast<long long>(o_.epochs),
                bar.c_str(), static_cast<long long>(stepInEpoch_),
                static_cast<long long>(stepsPerEpoch_));
  std::string line = head;
  if (seen_ > 0) {
    std::vector<double> means;
    for (size_t i = 0; i < sums_.size() && i < values; ++i)
      means.push_back(sums_[i] / double(seen_));
    line += valuesText(means, "");
    double t = elapsed();
    if (t > 0 && (rate || eta)) {
      double perSecond = double(seen_) / t;
      char buf[96];
      if (rate) {
        std::snprintf(buf, sizeof buf, "  %.0f samples/s", perSecond);
        line += buf;
      }
      if (eta) {
        double stepsPerSecond = double(stepInEpoch_ - firstStep_) / t;
        line += "  ETA " + duration(double(stepsPerEpoch_ - stepInEpoch_) / stepsPerSecond);
      }
    }
  }
  if (note)
    line += std::string("  ") + note;
  return line;
}

void TrainReport::drawBar(bool force, const char *note) {
  auto now = std::chrono::steady_clock::now();
  if (!force && stepInEpoch_ < stepsPerEpoch_ &&
      now - lastDraw_ < std::chrono::milliseconds(100))
    return;
  lastDraw_ = now;
  // Fit the terminal: a line that wraps adds a line at every redraw. Give up
  // the ETA, the rate, the metrics after the loss, then the bar itself.
  size_t width = size_t(std::max(terminalWidth() - 1, 10));
  size_t all = o_.names.size();
  struct Try {
    int bar;
    size_t values;
    bool rate, eta;
  } tries[] = {{20, all, true, true}, {10, all, true, true}, {10, all, true, false},
               {10, all, false, false}, {10, 1, false, false}, {0, 1, false, false},
               {0, 0, false, false}};
  std::string line;
  for (const Try &t : tries) {
    line = barLine(t.bar, t.values, t.rate, t.eta, note);
    if (line.size() <= width)
      break;
  }
  if (line.size() > width)
    line.resize(width);
  std::fprintf(stdout, "\r%s\033[K", line.c_str());
  std::fflush(stdout);
  barShown_ = true;
}

void TrainReport::plainLine() {
  lastPlain_ = std::chrono::steady_clock::now();
  std::vector<double> means;
  for (double s : sums_)
    means.push_back(seen_ ? s / double(seen_) : 0.0);
  double t = elapsed();
  std::string line = "epoch " + std::to_string(epoch_) + "/" + std::to_string(o_.epochs) +
                     "  step " + std::to_string(stepInEpoch_) + "/" +
                     std::to_string(stepsPerEpoch_) + valuesText(means, "");
  if (t > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "  %.0f samples/s", double(seen_) / t);
    line += buf;
    double stepsPerSecond = double(stepInEpoch_ - firstStep_) / t;
    line += "  ETA " + duration(double(stepsPerEpoch_ - stepInEpoch_) / stepsPerSecond);
  }
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

void TrainReport::validating() {
  if (live_)
    drawBar(/*force=*/true, "validating");
}

void TrainReport::endEpoch(int64_t runStep, const std::vector<double> *val) {
  (void)runStep;
  double seconds = elapsed();
  std::vector<double> means;
  for (double s : sums_)
    means.push_back(seen_ ? s / double(seen_) : 0.0);
  double rate = seconds > 0 ? double(seen_) / seconds : 0.0;
  char tail[96];
  std::snprintf(tail, sizeof tail, "  %.0f samples/s  %s", rate, duration(seconds).c_str());
  std::string line = "epoch " + std::to_string(epoch_) + "/" + std::to_string(o_.epochs) +
                     valuesText(means, "") + (val ? valuesText(*val, "val_") : "") + tail;
  if (live_)
    std::fprintf(stdout, "\r%s\033[K\n", line.c_str());
  else
    std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
  barShown_ = false;
  if (log_) {
    std::string json = "{\"epoch\":" + std::to_string(epoch_) + jsonValues(means, "");
    if (val)
      json += jsonValues(*val, "val_");
    json += ",\"lr\":" + jsonValue(lr_, 17) + ",\"samples_per_second\":" + jsonValue(rate, 6) +
            ",\"seconds\":" + jsonValue(seconds, 6) + "}\n";
    writeLog(json);
  }
  if (tbTrain_.isOpen()) {
    for (size_t i = 0; i < o_.names.size(); ++i)
      tbTrain_.scalar("epoch/" + o_.names[i], epoch_, means[i]);
    tbTrain_.scalar("epoch/samples_per_second", epoch_, rate);
    if (val)
      for (size_t i = 0; i < o_.names.size() && i < val->size(); ++i)
        tbVal_.scalar("epoch/" + o_.names[i], epoch_, (*val)[i]);
    tbTrain_.flush();
    tbVal_.flush();
    lastFlush_ = std::chrono::steady_clock::now();
  }
}

void TrainReport::abort() {
  if (barShown_) {
    std::fprintf(stdout, "\n");
    std::fflush(stdout);
    barShown_ = false;
  }
  // Flushing here must not throw (the destructor calls it).
  if (tbTrain_.isOpen() || tbVal_.isOpen()) {
    try {
      tbTrain_.flush();
      tbVal_.flush();
    } catch (...) {
    }
  }
}

void TrainReport::writeLog(const std::string &line) {
  if (std::fwrite(line.data(), 1, line.size(), log_.get()) != line.size() ||
      std::fflush(log_.get()) != 0)
    runError(errnoMessage(o_.metricsPath, "write failed"));
}

} // namespace kiln::runtime
