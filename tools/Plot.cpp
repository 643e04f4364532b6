#include "tools/Plot.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <tuple>

namespace kiln::plot {

namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

/// A log is text of about 100 bytes a step; this bounds what a mistaken path
/// (a disk image) costs before the first line says it is not a log.
constexpr uint64_t kMaxLogBytes = uint64_t(1) << 30;

/// Keys of a log line that are not losses or metrics.
bool isBookkeeping(llvm::StringRef key) {
  return key == "epoch" || key == "step" || key == "samples_per_second" || key == "seconds";
}

/// A name from the file, safe for a one-line message: printable ASCII, the
/// rest as \xNN, at most 64 bytes.
std::string quoted(llvm::StringRef s) {
  std::string out;
  for (char c : s.take_front(64)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    }
  }
  return "'" + out + (s.size() > 64 ? "...'" : "'");
}

llvm::Error lineError(llvm::StringRef path, size_t line, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ":" + llvm::Twine(line) + ": " + message);
}

} // namespace

llvm::Expected<MetricsLog> parseMetricsLog(llvm::StringRef path, llvm::StringRef text) {
  struct Pending {
    Quantity quantity;
    bool isLoss;
    size_t line, column, order; // where the name first appears: the panels' order
  };
  std::vector<Pending> found;
  std::map<std::string, size_t, std::less<>> index;
  // Epoch points go at the epoch's last logged step; they are placed once
  // the whole file is read (a log without step lines plots by epoch).
  struct EpochValue {
    size_t quantity;
    bool validation;
    int64_t epoch;
    int64_t lastStep; // -1: no step line before it
    double value;
  };
  std::vector<EpochValue> epochValues;
  std::vector<std::pair<int64_t, int64_t>> epochEnds; // (epoch, last step or -1)
  std::map<int64_t, int64_t> lastStepOfEpoch;
  MetricsLog log;
  int64_t lastStep = -1;
  size_t lineNo = 0, lines = 0;

  for (llvm::StringRef rest = text; !rest.empty();) {
    auto [raw, next] = rest.split('\n');
    rest = next;
    ++lineNo;
    llvm::StringRef line = raw.trim(" \t\r");
    if (line.empty())
      continue;
    ++lines;
    llvm::Expected<llvm::json::Value> value = llvm::json::parse(line);
    if (!value) {
      // LLVM says "[1:7, byte=6]: Expected ..."; the line is ours to name.
      std::string message = llvm::toString(value.takeError());
      llvm::StringRef m = message;
      std::string where;
      if (m.consume_front("[")) {
        auto [position, after] = m.split("]: ");
        where = "column " + position.split(',').first.split(':').second.str() + ": ";
        m = after;
      }
      return lineError(path, lineNo, "not a line of a --metrics log (" + where + m + ")");
    }
    const llvm::json::Object *object = value->getAsObject();
    if (!object)
      return lineError(path, lineNo, "not a line of a --metrics log (not a JSON object)");
    std::optional<int64_t> epoch;
    if (const llvm::json::Value *e = object->get("epoch"))
      epoch = e->getAsInteger();
    if (!epoch || *epoch < 0)
      return lineError(path, lineNo,
                       "not a line of a --metrics log (no \"epoch\" count, a whole number)");
    std::optional<int64_t> step;
    if (const llvm::json::Value *s = object->get("step")) {
      step = s->getAsInteger();
      if (!step || *step < 0)
        return lineError(path, lineNo, "\"step\" is not a step count (a whole number)");
    }
    for (const auto &[key, v] : *object) {
      if (isBookkeeping(key))
        continue;
      double y;
      if (v.kind() == llvm::json::Value::Null)
        y = NaN; // written for a value that is not finite
      else if (std::optional<double> number = v.getAsNumber())
        y = *number;
      else
        return lineError(path, lineNo, quoted(key) + " is not a number (nor null)");
      llvm::StringRef name = key;
      bool validation = name.consume_front("val_");
      auto [it, isNew] = index.try_emplace(name.str(), found.size());
      if (isNew) {
        size_t column = line.find("\"" + key.str() + "\"");
        found.push_back(
            {Quantity{name.str(), {}, {}}, name == "loss", lineNo, column, found.size()});
      }
      Quantity &q = found[it->second].quantity;
      Series &series = validation ? q.validation : q.train;
      if (step)
        series.steps.push_back({double(*step), y});
      else
        epochValues.push_back({it->second, validation, *epoch,
                               lastStepOfEpoch.count(*epoch) ? lastStepOfEpoch[*epoch] : lastStep,
                               y});
    }
    if (step) {
      ++log.steps;
      lastStep = *step;
      lastStepOfEpoch[*epoch] = *step;
    } else {
      ++log.epochs;
      epochEnds.push_back(
          {*epoch, lastStepOfEpoch.count(*epoch) ? lastStepOfEpoch[*epoch] : lastStep});
    }
  }

  if (lines == 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   path + ": empty, not a --metrics log");
  bool anyValue = false;
  for (const Pending &p : found)
    for (const Series *s : {&p.quantity.train, &p.quantity.validation})
      for (const Point &pt : s->steps)
        anyValue |= std::isfinite(pt.y);
  for (const EpochValue &e : epochValues)
    anyValue |= std::isfinite(e.value);
  if (!anyValue)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   path + ": no loss or metric values in its " +
                                       llvm::Twine(lines) + (lines == 1 ? " line" : " lines") +
                                       ", nothing to plot");

  log.stepAxis = log.steps > 0;
  auto epochX = [&](int64_t epoch, int64_t lastStepSeen) {
    if (!log.stepAxis)
      return double(epoch);
    return double(std::max<int64_t>(lastStepSeen, 0));
  };
  for (const EpochValue &e : epochValues) {
    Quantity &q = found[e.quantity].quantity;
    (e.validation ? q.validation : q.train)
        .epochs.push_back({epochX(e.epoch, e.lastStep), e.value});
  }
  for (auto [epoch, last] : epochEnds)
    log.epochEnds.push_back({epoch, epochX(epoch, last)});

  std::sort(found.begin(), found.end(), [](const Pending &a, const Pending &b) {
    if (a.isLoss != b.isLoss)
      return a.isLoss;
    return std::make_tuple(a.line, a.column, a.order) < std::make_tuple(b.line, b.column, b.order);
  });
  for (Pending &p : found)
    log.quantities.push_back(std::move(p.quantity));
  return log;
}

//===----------------------------------------------------------------------===//
// Drawing
//===----------------------------------------------------------------------===//

namespace {

const char *const kTrainColour = "#1f6fb4";
const char *const kValColour = "#e8710a";

std::string fmt(const char *format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

/// A coordinate: one decimal is finer than a pixel.
std::string coord(double v) { return fmt("%.1f", v); }

std::string escape(llvm::StringRef s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      if (static_cast<unsigned char>(c) >= 0x20)
        out += c;
    }
  }
  return out;
}

/// A value for people: 4 significant digits, as train's lines print.
std::string human(double v) {
  if (!std::isfinite(v))
    return "not finite";
  double a = std::fabs(v);
  if (v == 0 || (a >= 1e-3 && a < 1e5))
    return fmt("%.4f", v);
  return fmt("%.4g", v);
}

/// An axis: its range, its scale and where its ticks go.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;
  double tickStep = 1; // linear axes: for the labels' decimals

  double fraction(double v) const {
    if (log)
      return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    return (v - lo) / (hi - lo);
  }

  std::string label(double v) const {
    // One style for the whole axis: %g where fixed decimals would be too
    // many (steps under 1e-4) or too long (beyond 1e6); zero is "0" there.
    double far = std::max(std::fabs(lo), std::fabs(hi));
    if (log || far >= 1e6 || tickStep < 1e-4)
      return fmt("%g", v);
    int decimals = std::max(0, int(-std::floor(std::log10(tickStep) + 1e-9)));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
  }
};

/// 1, 2 or 5 times a power of ten, near `raw`.
double niceStep(double raw) {
  double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double n = raw / magnitude;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * magnitude;
}

/// Ticks over [lo, hi]; `extend` widens the range to the outer ticks (a value
/// axis), `integers` keeps ticks whole (steps, epochs).
Axis linearAxis(double lo, double hi, int count, bool extend, bool integers) {
  if (!(hi > lo)) {
    double d = integers ? 1 : (lo == 0 ? 1 : std::fabs(lo) * 0.1);
    lo -= d;
    hi += d;
  }
  Axis a;
  double step = niceStep((hi - lo) / count);
  if (integers)
    step = std::max(step, 1.0);
  if (extend) {
    lo = std::floor(lo / step + 1e-9) * step;
    hi = std::ceil(hi / step - 1e-9) * step;
  }
  a.lo = lo;
  a.hi = hi;
  a.tickStep = step;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    a.ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return a;
}

/// Powers of ten spanning [lo, hi] (lo > 0), with 2 and 5 between them when
/// the range is short.
Axis logAxis(double lo, double hi) {
  Axis a;
  a.log = true;
  double e0 = std::floor(std::log10(lo) + 1e-9), e1 = std::ceil(std::log10(hi) - 1e-9);
  if (e1 <= e0)
    e1 = e0 + 1;
  a.lo = std::pow(10.0, e0);
  a.hi = std::pow(10.0, e1);
  for (double e = e0; e <= e1; ++e) {
    double p = std::pow(10.0, e);
    a.ticks.push_back(p);
    if (e1 - e0 <= 2 && e < e1) {
      a.ticks.push_back(2 * p);
      a.ticks.push_back(5 * p);
    }
  }
  std::sort(a.ticks.begin(), a.ticks.end());
  return a;
}

/// The value axis of a panel: linear, or logarithmic for positive values
/// spanning more than two decades with most of them near the bottom (a loss
/// falling from 1000 to 0.1, which a linear axis would show as a corner).
Axis valueAxis(std::vector<double> values) {
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
      values.end());
  if (values.empty())
    return linearAxis(0, 1, 5, true, false);
  auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  double lo = *mn, hi = *mx;
  std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
  double median = values[values.size() / 2];
  if (lo > 0 && hi / lo > 100 && median - lo < 0.05 * (hi - lo))
    return logAxis(lo, hi);
  return linearAxis(lo, hi, 5, true, false);
}

struct Box {
  double x, y, w, h; // the plot area, in SVG coordinates
};

/// An SVG path through the points, broken where a value is not finite; more
/// points than the width holds are thinned to each pixel column's first,
/// smallest, largest and last values.
std::string pathData(const std::vector<Point> &points, const Axis &xa, const Axis &ya,
                     const Box &box) {
  std::string d;
  bool pen = false;
  auto emit = [&](double px, double py) {
    d += (pen ? "L" : "M") + coord(px) + " " + coord(py);
    pen = true;
  };
  bool thin = points.size() > size_t(box.w * 2);
  long column = std::numeric_limits<long>::min();
  std::vector<std::pair<size_t, double>> bucket; // (index, py) of this column
  auto flush = [&]() {
    if (bucket.empty())
      return;
    auto [mn, mx] = std::minmax_element(bucket.begin(), bucket.end(),
                                        [](auto &a, auto &b) { return a.second < b.second; });
    std::vector<size_t> keep = {0, size_t(mn - bucket.begin()), size_t(mx - bucket.begin()),
                                bucket.size() - 1};
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
    for (size_t k : keep) {
      const Point &p = points[bucket[k].first];
      emit(box.x + xa.fraction(p.x) * box.w, bucket[k].second);
    }
    bucket.clear();
  };
  for (size_t i = 0; i < points.size(); ++i) {
    const Point &p = points[i];
    if (!std::isfinite(p.y)) {
      flush();
      pen = false;
      continue;
    }
    double px = box.x + xa.fraction(p.x) * box.w;
    double py = box.y + box.h - ya.fraction(p.y) * box.h;
    if (!thin) {
      emit(px, py);
      continue;
    }
    long c = long(std::floor(px));
    if (c != column) {
      flush();
      column = c;
    }
    bucket.push_back({i, py});
  }
  flush();
  return d;
}

size_t finiteCount(const std::vector<Point> &points) {
  return size_t(std::count_if(points.begin(), points.end(),
                              [](const Point &p) { return std::isfinite(p.y); }));
}

/// The last finite value of a series, if any.
std::optional<Point> lastFinite(const std::vector<Point> &points) {
  for (auto it = points.rbegin(); it != points.rend(); ++it)
    if (std::isfinite(it->y))
      return *it;
  return std::nullopt;
}

struct Layout {
  double width, height;
  int columns;
  double panelW, panelH;
  double headerH;
  static constexpr double kPad = 16, kLeft = 68, kRight = 18, kTop = 50, kBottom = 46;
};

void drawPanel(std::string &svg, const Quantity &q, const MetricsLog &log, const Axis &xa,
               double ox, double oy, const Layout &L) {
  Box box{ox + Layout::kLeft, oy + Layout::kTop, L.panelW - Layout::kLeft - Layout::kRight,
          L.panelH - Layout::kTop - Layout::kBottom};
  std::vector<double> values;
  for (const Series *s : {&q.train, &q.validation})
    for (const auto *pts : {&s->steps, &s->epochs})
      for (const Point &p : *pts)
        values.push_back(p.y);
  Axis ya = valueAxis(values);

  svg += "<g class=\"panel\" id=\"panel-" + escape(q.name) + "\">\n";
  svg += "<rect class=\"frame\" x=\"" + coord(ox) + "\" y=\"" + coord(oy) + "\" width=\"" +
         coord(L.panelW) + "\" height=\"" + coord(L.panelH) +
         "\" rx=\"6\" fill=\"#ffffff\" stroke=\"#d0d4da\"/>\n";
  // Title, and the last epoch's figures (else the last step's).
  svg += "<text class=\"panel-title\" x=\"" + coord(box.x) + "\" y=\"" + coord(oy + 22) +
         "\" font-size=\"15\" font-weight=\"bold\" fill=\"#1a1a1a\">" + escape(q.name) +
         "</text>\n";
  std::string summary;
  bool byEpoch = lastFinite(q.train.epochs) || lastFinite(q.validation.epochs);
  if (byEpoch) {
    auto t = lastFinite(q.train.epochs), v = lastFinite(q.validation.epochs);
    summary = "last epoch:";
    if (t)
      summary += " train " + human(t->y);
    if (v)
      summary += std::string(t ? "," : "") + " validation " + human(v->y);
  } else if (auto t = lastFinite(q.train.steps)) {
    summary = "step " + fmt("%.0f", t->x) + ": " + human(t->y);
  }
  // Long names leave room for the figures alone, or for nothing.
  double room = box.w - 9.5 * double(q.name.size()) - 16;
  if (6.8 * double(summary.size()) > room && summary.rfind("last epoch: ", 0) == 0)
    summary = summary.substr(12);
  if (6.8 * double(summary.size()) > room)
    summary.clear();
  svg += "<text class=\"panel-summary\" x=\"" + coord(box.x + box.w) + "\" y=\"" + coord(oy + 22) +
         "\" text-anchor=\"end\" font-size=\"12\" fill=\"#555\">" + escape(summary) + "</text>\n";

  // Grid and ticks.
  svg += "<rect class=\"plot-area\" x=\"" + coord(box.x) + "\" y=\"" + coord(box.y) +
         "\" width=\"" + coord(box.w) + "\" height=\"" + coord(box.h) +
         "\" fill=\"#fbfbfc\" stroke=\"#9aa0a6\"/>\n";
  svg += "<g class=\"axis y\" font-size=\"11\" fill=\"#333\">\n";
  for (double t : ya.ticks) {
    double py = box.y + box.h - ya.fraction(t) * box.h;
    svg += "<line x1=\"" + coord(box.x) + "\" x2=\"" + coord(box.x + box.w) + "\" y1=\"" +
           coord(py) + "\" y2=\"" + coord(py) + "\" stroke=\"#e3e6ea\"/>";
    svg += "<text class=\"tick\" x=\"" + coord(box.x - 6) + "\" y=\"" + coord(py + 4) +
           "\" text-anchor=\"end\">" + ya.label(t) + "</text>\n";
  }
  double midY = box.y + box.h / 2;
  std::string yLabel = q.name + (ya.log ? " (log scale)" : "");
  size_t fits = size_t(box.h / 7.2);
  if (yLabel.size() > fits) // the title names it in full
    yLabel = yLabel.substr(0, fits - 3) + "...";
  svg += "<text class=\"axis-label\" transform=\"translate(" + coord(ox + 16) + "," + coord(midY) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" + escape(yLabel) +
         "</text>\n</g>\n";
  svg += "<g class=\"axis x\" font-size=\"11\" fill=\"#333\">\n";
  for (double t : xa.ticks) {
    double px = box.x + xa.fraction(t) * box.w;
    svg += "<line x1=\"" + coord(px) + "\" x2=\"" + coord(px) + "\" y1=\"" + coord(box.y + box.h) +
           "\" y2=\"" + coord(box.y + box.h + 4) + "\" stroke=\"#9aa0a6\"/>";
    svg += "<text class=\"tick\" x=\"" + coord(px) + "\" y=\"" + coord(box.y + box.h + 17) +
           "\" text-anchor=\"middle\">" + xa.label(t) + "</text>\n";
  }
  svg += "<text class=\"axis-label\" x=\"" + coord(box.x + box.w / 2) + "\" y=\"" +
         coord(box.y + box.h + 36) + "\" text-anchor=\"middle\" font-size=\"12\">" +
         (log.stepAxis ? "step" : "epoch") + "</text>\n</g>\n";

  // Epoch boundaries on a step axis: a dashed line after each epoch, named
  // where there is room.
  if (log.stepAxis && !log.epochEnds.empty()) {
    svg += "<g class=\"epochs\" font-size=\"10\" fill=\"#80868b\">\n";
    // Many epochs: a line every 2, 5, 10, ... epochs, so that they stay
    // apart (40 epochs in a panel were a grey comb hiding the curves).
    int64_t every = 1;
    double spacing = box.w / double(log.epochEnds.size());
    for (int64_t k : {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}) {
      every = k;
      if (spacing * double(k) >= 24)
        break;
    }
    double previous = box.x, labelEnd = box.x;
    for (auto [epoch, x] : log.epochEnds) {
      if (epoch % every != 0)
        continue;
      double px = box.x + xa.fraction(x) * box.w;
      if (px < box.x + box.w - 1)
        svg += "<line x1=\"" + coord(px) + "\" x2=\"" + coord(px) + "\" y1=\"" + coord(box.y) +
               "\" y2=\"" + coord(box.y + box.h) +
               "\" stroke=\"#b0b6bd\" stroke-dasharray=\"4 3\"/>";
      // One epoch apart: its name over its span; further apart: the name
      // of the epoch that ends at each line, over the line.
      std::string name = "epoch " + std::to_string(epoch);
      double half = 3.1 * double(name.size()) + 4; // 10px text, some space
      double at = every == 1 ? (previous + px) / 2 : px;
      bool room = every == 1 ? px - previous >= 2 * half
                             : at - half >= labelEnd && at + half <= box.x + box.w;
      if (room) {
        labelEnd = at + half;
        svg += "<text class=\"epoch-label\" x=\"" + coord(at) + "\" y=\"" +
               coord(box.y - 5) + "\" text-anchor=\"middle\">" + name + "</text>";
      }
      svg += "\n";
      previous = px;
    }
    svg += "</g>\n";
  }

  // Series: steps thin and light, epochs a thicker line with points;
  // validation in its own colour, drawn over training.
  auto series = [&](const Series &s, const std::string &who, const char *colour) {
    auto dot = [&](const Point &p, const char *cls, double r) {
      svg += "<circle class=\"" + std::string(cls) + "\" cx=\"" +
             coord(box.x + xa.fraction(p.x) * box.w) + "\" cy=\"" +
             coord(box.y + box.h - ya.fraction(p.y) * box.h) + "\" r=\"" + coord(r) + "\"/>\n";
    };
    bool epochs = finiteCount(s.epochs) > 0;
    if (finiteCount(s.steps) > 0) {
      // Thin and light under the epochs' line; plainer without one.
      std::string opacity = !epochs ? "0.9" : who == "train" ? "0.45" : "0.7";
      svg += "<path class=\"series " + who + "-step\" data-points=\"" +
             std::to_string(s.steps.size()) + "\" d=\"" + pathData(s.steps, xa, ya, box) +
             "\" fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"" + (epochs ? "1" : "1.5") +
             "\" stroke-opacity=\"" + opacity + "\" stroke-linejoin=\"round\"/>\n";
      // Few points (--val-every, a short run): each marked, so a value
      // between two gaps shows too.
      if (s.steps.size() * 6 < box.w) {
        svg += "<g class=\"points " + who + "-step\" fill=\"" + colour + "\" fill-opacity=\"" +
               opacity + "\">\n";
        for (const Point &p : s.steps)
          if (std::isfinite(p.y))
            dot(p, "point", 2);
        svg += "</g>\n";
      }
    }
    if (epochs) {
      svg += "<path class=\"series " + who + "-epoch\" data-points=\"" +
             std::to_string(s.epochs.size()) + "\" d=\"" + pathData(s.epochs, xa, ya, box) +
             "\" fill=\"none\" stroke=\"" + colour +
             "\" stroke-width=\"2.5\" stroke-linejoin=\"round\"/>\n";
      svg += "<g class=\"points " + who + "-epoch\" fill=\"" + colour +
             "\" stroke=\"#ffffff\" stroke-width=\"1.2\">\n";
      for (const Point &p : s.epochs)
        if (std::isfinite(p.y))
          dot(p, "point", s.epochs.size() > 60 ? 2 : 4);
      svg += "</g>\n";
    }
  };
  series(q.train, "train", kTrainColour);
  series(q.validation, "validation", kValColour);
  svg += "</g>\n";
}

} // namespace

std::string renderSvg(const MetricsLog &log, llvm::StringRef title) {
  Layout L;
  size_t panels = log.quantities.size();
  L.columns = panels >= 2 ? 2 : 1;
  L.panelW = L.columns == 1 ? 720 : 480;
  L.panelH = 300;
  L.headerH = 96;
  size_t rows = (panels + L.columns - 1) / L.columns;
  L.width = Layout::kPad * (L.columns + 1) + L.panelW * L.columns;
  L.height = L.headerH + rows * (L.panelH + Layout::kPad);

  // One x axis for every panel, so they line up.
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  bool anyStepVal = false, anyEpochVal = false, anyStep = false, anyEpoch = false;
  for (const Quantity &q : log.quantities) {
    for (const Series *s : {&q.train, &q.validation})
      for (const auto *pts : {&s->steps, &s->epochs})
        for (const Point &p : *pts) {
          lo = std::min(lo, p.x);
          hi = std::max(hi, p.x);
        }
    anyStep |= finiteCount(q.train.steps) > 0;
    anyEpoch |= finiteCount(q.train.epochs) > 0;
    anyStepVal |= finiteCount(q.validation.steps) > 0;
    anyEpochVal |= finiteCount(q.validation.epochs) > 0;
  }
  if (!(lo <= hi))
    lo = hi = 1;
  if (lo > 0 && lo <= 0.1 * hi) // a run from its first step: the axis starts at 0
    lo = 0;
  double plotW = L.panelW - Layout::kLeft - Layout::kRight;
  Axis xa = linearAxis(lo, hi, std::max(2, int(plotW / 90)), /*extend=*/false,
                       /*integers=*/true);

  std::string svg;
  svg += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + coord(L.width) + "\" height=\"" +
         coord(L.height) + "\" viewBox=\"0 0 " + coord(L.width) + " " + coord(L.height) +
         "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n";
  svg += "<title>" + escape(title) + "</title>\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"#f3f4f6\"/>\n";
  svg += "<text class=\"title\" x=\"" + coord(Layout::kPad) +
         "\" y=\"30\" font-size=\"18\" font-weight=\"bold\" fill=\"#1a1a1a\">" + escape(title) +
         "</text>\n";
  std::string facts = std::to_string(log.steps) + (log.steps == 1 ? " step, " : " steps, ") +
                      std::to_string(log.epochs) + (log.epochs == 1 ? " epoch" : " epochs");
  svg += "<text class=\"subtitle\" x=\"" + coord(Layout::kPad) +
         "\" y=\"50\" font-size=\"12\" fill=\"#555\">" + escape(facts) + "</text>\n";

  // The legend: only what the log holds.
  svg += "<g class=\"legend\" font-size=\"12\" fill=\"#1a1a1a\">\n";
  double lx = Layout::kPad;
  double ly = 76;
  auto entry = [&](const char *colour, bool epoch, const std::string &text) {
    svg += "<g class=\"legend-entry\">";
    svg += "<line x1=\"" + coord(lx) + "\" x2=\"" + coord(lx + 26) + "\" y1=\"" + coord(ly - 4) +
           "\" y2=\"" + coord(ly - 4) + "\" stroke=\"" + colour + "\" stroke-width=\"" +
           (epoch ? "2.5" : "1.2") + "\"" + (epoch ? "" : " stroke-opacity=\"0.6\"") + "/>";
    if (epoch)
      svg += "<circle cx=\"" + coord(lx + 13) + "\" cy=\"" + coord(ly - 4) + "\" r=\"4\" fill=\"" +
             colour + "\" stroke=\"#ffffff\" stroke-width=\"1.2\"/>";
    svg += "<text x=\"" + coord(lx + 32) + "\" y=\"" + coord(ly) + "\">" + escape(text) +
           "</text></g>\n";
    lx += 32 + 7.0 * double(text.size()) + 22;
  };
  if (anyStep)
    entry(kTrainColour, false, "train, each step");
  if (anyEpoch)
    entry(kTrainColour, true, "train, epoch mean");
  if (anyStepVal) {
    // --val-every K: the most common distance between validated steps.
    std::map<int64_t, int> gaps;
    for (const Quantity &q : log.quantities)
      for (size_t i = 1; i < q.validation.steps.size(); ++i)
        ++gaps[int64_t(q.validation.steps[i].x - q.validation.steps[i - 1].x)];
    auto common = std::max_element(gaps.begin(), gaps.end(),
                                   [](auto &a, auto &b) { return a.second < b.second; });
    entry(kValColour, false,
          common == gaps.end() || common->first <= 0 ? std::string("validation, some steps")
          : common->first == 1                       ? std::string("validation, each step")
                               : "validation, every " + std::to_string(common->first) + " steps");
  }
  if (anyEpochVal)
    entry(kValColour, true, "validation, after each epoch");
  svg += "</g>\n";

  for (size_t i = 0; i < panels; ++i) {
    double ox = Layout::kPad + double(i % L.columns) * (L.panelW + Layout::kPad);
    double oy = L.headerH + double(i / L.columns) * (L.panelH + Layout::kPad);
    drawPanel(svg, log.quantities[i], log, xa, ox, oy, L);
  }
  svg += "</svg>\n";
  return svg;
}

int runPlot(const std::string &logPath, const std::string &outputPath) {
  auto fail = [](const std::string &message) {
    llvm::errs() << "kiln: error: " << message << "\n";
    return 2;
  };
  // The output's folder first: a plot into a missing folder fails before
  // the log is read.
  if (outputPath != "-") {
    llvm::StringRef folder = llvm::sys::path::parent_path(outputPath);
    if (!folder.empty() && !llvm::sys::fs::is_directory(folder))
      return fail("cannot write '" + outputPath + "': the folder '" + folder.str() +
                  "' does not exist");
    if (llvm::sys::fs::equivalent(logPath, outputPath))
      return fail("the output '" + outputPath + "' is the log itself; name another with -o");
  }
  // Only a regular file is read: a FIFO would block, /dev/zero never ends.
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(logPath, status))
    return fail("cannot read '" + logPath + "': " + ec.message());
  if (status.type() != llvm::sys::fs::file_type::regular_file)
    return fail("cannot read '" + logPath + "': not a regular file");
  if (status.getSize() > kMaxLogBytes)
    return fail("cannot read '" + logPath + "': " + std::to_string(status.getSize()) +
                " bytes is too large for a --metrics log (at most 1 GiB)");
  auto buffer = llvm::MemoryBuffer::getFile(logPath, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail("cannot read '" + logPath + "': " + buffer.getError().message());
  llvm::Expected<MetricsLog> log = parseMetricsLog(logPath, (*buffer)->getBuffer());
  if (!log)
    return fail(llvm::toString(log.takeError()));

  std::string svg = renderSvg(*log, "Training curves: " + llvm::sys::path::filename(logPath).str());
  if (outputPath == "-") {
    llvm::outs() << svg;
    return 0;
  }
  std::error_code ec;
  llvm::ToolOutputFile out(outputPath, ec, llvm::sys::fs::OF_None);
  if (ec)
    return fail("cannot write '" + outputPath + "': " + ec.message());
  out.os() << svg;
  out.os().flush();
  if (out.os().has_error())
    return fail("cannot write '" + outputPath + "': " + out.os().error().message());
  out.keep();

  std::string names;
  bool validation = false;
  for (const Quantity &q : log->quantities) {
    names += (names.empty() ? "" : ", ") + q.name;
    validation |= !q.validation.steps.empty() || !q.validation.epochs.empty();
  }
  llvm::outs() << "plotted " << names << (validation ? " (train and validation)" : "") << " over "
               << log->steps << (log->steps == 1 ? " step" : " steps") << " and " << log->epochs
               << (log->epochs == 1 ? " epoch" : " epochs") << " to " << outputPath << "\n";
  return 0;
}

} // namespace kiln::plot
