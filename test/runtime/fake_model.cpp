// A hand-written stand-in for the code Kiln generates, to test the runtime's
// main() end to end: the linear model logits = x @ W^T + b with x f32[N, 3],
// logits f32[N, 2], a cross-entropy loss and accuracy against y i64[N], and
// a train step: SGD with momentum (one momentum buffer per parameter).
// Built with FAKE_NO_SHUFFLE its train block says shuffle = false. Built
// with FAKE_TWO_OUTPUTS it also outputs probs = softmax(logits) and has
// neither loss nor metrics (so no kiln_loss at all). The target y has
// "classes": 2 (class indices 0 and 1; the loss treats any other value as 1,
// so only the runtime's check refuses them).
// Environment, for tests: FAKE_FIRST_STEP=K, the step a resumed run's first
// kiln_train_step must get (default 1); FAKE_STEP_SLEEP_MS=T sleeps T ms per
// step, so a test can signal a run in the middle of a step.
#include "runtime/KilnABI.h"

#include <cmath>
#include <cstdlib>
#include <ctime>

using kiln::MemRefDescriptor;

#ifdef FAKE_NO_SHUFFLE
#define FAKE_SHUFFLE "false"
#else
#define FAKE_SHUFFLE "true"
#endif

#ifndef FAKE_TWO_OUTPUTS
extern "C" const char kiln_manifest_json[] = R"({
  "model": "FakeLinear",
  "inputs":  [{"name": "x", "dtype": "f32", "shape": [-1, 3]}],
  "targets": [{"name": "y", "dtype": "i64", "shape": [-1], "classes": 2}],
  "outputs": [{"name": "logits", "dtype": "f32", "shape": [-1, 2]}],
  "params":  [{"name": "fc.weight", "dtype": "f32", "shape": [2, 3],
               "init": {"kind": "uniform", "a": -0.577, "b": 0.577}},
              {"name": "fc.bias", "dtype": "f32", "shape": [2],
               "init": {"kind": "zeros"}}],
  "loss": true,
  "metrics": ["accuracy"],
  "train": {"optimizer": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 0,
            "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
            "batch": 4, "epochs": 3, "seed": 42, "shuffle": )" FAKE_SHUFFLE R"(},
  "flops_per_sample": 12,
  "entry_points": ["forward", "loss", "train_step"],
  "state": [{"name": "fc.weight.momentum_buffer", "dtype": "f32", "shape": [2, 3]},
            {"name": "fc.bias.momentum_buffer", "dtype": "f32", "shape": [2]}],
  "hyper": ["lr", "step"]
})";
#else
extern "C" const char kiln_manifest_json[] = R"({
  "model": "FakeLinearTwoOutputs",
  "inputs":  [{"name": "x", "dtype": "f32", "shape": [-1, 3]}],
  "targets": [],
  "outputs": [{"name": "logits", "dtype": "f32", "shape": [-1, 2]},
              {"name": "probs", "dtype": "f32", "shape": [-1, 2]}],
  "params":  [{"name": "fc.weight", "dtype": "f32", "shape": [2, 3],
               "init": {"kind": "normal", "a": 0, "b": 0.5}},
              {"name": "fc.bias", "dtype": "f32", "shape": [2],
               "init": {"kind": "ones"}}],
  "loss": false,
  "metrics": [],
  "entry_points": ["forward"]
})";
#endif

namespace {

// Element access through the strides, as generated code does.
float at2(const MemRefDescriptor<2> *m, int64_t i, int64_t j) {
  return static_cast<const float *>(m->aligned)[m->offset + i * m->strides[0] +
                                                 j * m->strides[1]];
}
float at1(const MemRefDescriptor<1> *m, int64_t i) {
  return static_cast<const float *>(m->aligned)[m->offset + i * m->strides[0]];
}

void linear(const MemRefDescriptor<2> *x, const MemRefDescriptor<2> *w,
            const MemRefDescriptor<1> *b, int64_t n, float *logits /* [n, 2] */) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < 2; ++o) {
      float acc = at1(b, o);
      for (int64_t k = 0; k < 3; ++k)
        acc += at2(x, i, k) * at2(w, o, k);
      logits[i * 2 + o] = acc;
    }
}

} // namespace

extern "C" void kiln_forward(void **args) {
  auto *x = static_cast<MemRefDescriptor<2> *>(args[0]);
  auto *w = static_cast<MemRefDescriptor<2> *>(args[1]);
  auto *b = static_cast<MemRefDescriptor<1> *>(args[2]);
  auto *out = static_cast<MemRefDescriptor<2> *>(args[3]);
  int64_t n = x->sizes[0];
  if (out->sizes[0] != n || out->sizes[1] != 2 || out->strides[0] != 2)
    __builtin_trap(); // the runtime must hand over a contiguous [n, 2] buffer
  float *logits = static_cast<float *>(out->aligned) + out->offset;
  linear(x, w, b, n, logits);
#ifdef FAKE_TWO_OUTPUTS
  auto *probsDesc = static_cast<MemRefDescriptor<2> *>(args[4]);
  float *probs = static_cast<float *>(probsDesc->aligned) + probsDesc->offset;
  for (int64_t i = 0; i < n; ++i) {
    float m = std::fmax(logits[2 * i], logits[2 * i + 1]);
    float e0 = std::exp(logits[2 * i] - m), e1 = std::exp(logits[2 * i + 1] - m);
    probs[2 * i] = e0 / (e0 + e1);
    probs[2 * i + 1] = e1 / (e0 + e1);
  }
#endif
}

#ifndef FAKE_TWO_OUTPUTS
// Mean cross-entropy and accuracy over the batch.
extern "C" void kiln_loss(void **args) {
  auto *x = static_cast<MemRefDescriptor<2> *>(args[0]);
  auto *y = static_cast<MemRefDescriptor<1> *>(args[1]);
  auto *w = static_cast<MemRefDescriptor<2> *>(args[2]);
  auto *b = static_cast<MemRefDescriptor<1> *>(args[3]);
  auto *loss = static_cast<MemRefDescriptor<0> *>(args[4]);
  auto *accuracy = static_cast<MemRefDescriptor<0> *>(args[5]);
  int64_t n = x->sizes[0];
  float logits[2 * 4096];
  float lossSum = 0, correct = 0;
  for (int64_t start = 0; start < n; start += 4096) {
    int64_t m = n - start < 4096 ? n - start : 4096;
    MemRefDescriptor<2> xs = *x;
    xs.offset += start * x->strides[0];
    linear(&xs, w, b, m, logits);
    for (int64_t i = 0; i < m; ++i) {
      int64_t label = static_cast<const int64_t *>(
          y->aligned)[y->offset + (start + i) * y->strides[0]];
      float l0 = logits[2 * i], l1 = logits[2 * i + 1];
      float mx = std::fmax(l0, l1);
      float lse = mx + std::log(std::exp(l0 - mx) + std::exp(l1 - mx));
      lossSum += lse - (label == 0 ? l0 : l1);
      int64_t pred = l1 > l0 ? 1 : 0; // ties go to the first, as torch.argmax
      correct += pred == label ? 1.0f : 0.0f;
    }
  }
  *(static_cast<float *>(loss->aligned) + loss->offset) = lossSum / float(n);
  *(static_cast<float *>(accuracy->aligned) + accuracy->offset) = correct / float(n);
}
#endif

#ifndef FAKE_TWO_OUTPUTS
namespace {
float *data0(void *arg) {
  auto *m = static_cast<MemRefDescriptor<0> *>(arg);
  return static_cast<float *>(m->aligned) + m->offset;
}
double hyper(void *arg) {
  auto *m = static_cast<MemRefDescriptor<0> *>(arg);
  return static_cast<const double *>(m->aligned)[m->offset];
}
} // namespace

// One SGD step with momentum 0.9, as torch.optim.SGD does it (the buffers
// start at zero, so the first step's buffer is the gradient; a resumed run
// passes them from its checkpoint):
//   x, y, W, b, bufW, bufB, lr, step, loss, accuracy
// W, b, bufW and bufB are updated in place. The loss and accuracy are those
// of the parameters before the update. Traps when the runtime breaks the
// ABI: two updated buffers sharing memory, a step count
// that does not go 1, 2, 3, ... over the whole run (FAKE_FIRST_STEP, ...
// after a resume), descriptors of the wrong shape.
extern "C" void kiln_train_step(void **args) {
  auto *x = static_cast<MemRefDescriptor<2> *>(args[0]);
  auto *y = static_cast<MemRefDescriptor<1> *>(args[1]);
  auto *w = static_cast<MemRefDescriptor<2> *>(args[2]);
  auto *b = static_cast<MemRefDescriptor<1> *>(args[3]);
  auto *bufW = static_cast<MemRefDescriptor<2> *>(args[4]);
  auto *bufB = static_cast<MemRefDescriptor<1> *>(args[5]);
  double lr = hyper(args[6]), step = hyper(args[7]);
  float *loss = data0(args[8]), *accuracy = data0(args[9]);

  static double lastStep = -1;
  if (lastStep < 0) {
    const char *first = std::getenv("FAKE_FIRST_STEP");
    lastStep = (first ? std::atof(first) : 1.0) - 1;
  }
  if (step != lastStep + 1)
    __builtin_trap();
  lastStep = step;
  if (const char *ms = std::getenv("FAKE_STEP_SLEEP_MS")) {
    // The whole time, even when a signal interrupts the sleep.
    struct timespec left = {std::atoi(ms) / 1000, long(std::atoi(ms) % 1000) * 1000000};
    while (nanosleep(&left, &left) != 0) {
    }
  }
  int64_t n = x->sizes[0];
  if (n < 1 || y->sizes[0] != n || w->sizes[0] != 2 || w->sizes[1] != 3 ||
      bufW->sizes[1] != 3 || b->sizes[0] != 2 || bufB->sizes[0] != 2)
    __builtin_trap();
  void *updated[] = {w->aligned, b->aligned, bufW->aligned, bufB->aligned};
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j)
      if (updated[i] == updated[j])
        __builtin_trap(); // updated in place: no two may share memory

  float gw[2][3] = {}, gb[2] = {};
  float lossSum = 0, correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    MemRefDescriptor<2> xs = *x;
    xs.offset += i * x->strides[0];
    float l[2];
    linear(&xs, w, b, 1, l);
    int64_t label = static_cast<const int64_t *>(y->aligned)[y->offset + i * y->strides[0]];
    float mx = std::fmax(l[0], l[1]);
    float e0 = std::exp(l[0] - mx), e1 = std::exp(l[1] - mx);
    lossSum += mx + std::log(e0 + e1) - (label == 0 ? l[0] : l[1]);
    correct += (l[1] > l[0] ? 1 : 0) == label ? 1.0f : 0.0f;
    float d[2] = {e0 / (e0 + e1) - (label == 0 ? 1.0f : 0.0f),
                  e1 / (e0 + e1) - (label == 1 ? 1.0f : 0.0f)};
    for (int o = 0; o < 2; ++o) {
      gb[o] += d[o] / float(n);
      for (int k = 0; k < 3; ++k)
        gw[o][k] += d[o] * at2(&xs, 0, k) / float(n);
    }
  }
  *loss = lossSum / float(n);
  *accuracy = correct / float(n);

  // In place, as generated code does (the gradients are already summed).
  auto *nw = static_cast<float *>(w->aligned) + w->offset;
  auto *nb = static_cast<float *>(b->aligned) + b->offset;
  auto *nbw = static_cast<float *>(bufW->aligned) + bufW->offset;
  auto *nbb = static_cast<float *>(bufB->aligned) + bufB->offset;
  const float momentum = 0.9f, rate = float(lr);
  for (int o = 0; o < 2; ++o) {
    for (int k = 0; k < 3; ++k) {
      float buf = at2(bufW, o, k) * momentum + gw[o][k];
      nbw[o * 3 + k] = buf;
      nw[o * 3 + k] = at2(w, o, k) + -rate * buf;
    }
    float buf = at1(bufB, o) * momentum + gb[o];
    nbb[o] = buf;
    nb[o] = at1(b, o) + -rate * buf;
  }
}
#endif
