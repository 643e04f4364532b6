// A fake libcuda.so.1 for driver/cuda-fake-driver.test: the driver calls
// runtime/gpu uses, with no GPU. Memory is malloc; cuModuleLoadData keeps the
// image (it must be PTX here); cuModuleGetFunction fails unless the PTX has
// `.entry NAME(`; cuLaunchKernel and cuGraphAddKernelNode run nothing, check
// the grid and block and that every kernel parameter pointer is non-null up
// to the count the PTX entry declares, and count; a graph counts its
// kernels, its instantiation and each launch; with FAKE_CUDA_GRAPH_FAIL set,
// cuGraphInstantiateWithFlags fails. At exit it prints what it saw on
// stderr.
// Device memory (cuMemAlloc) is mapped with no access, as a GPU's memory
// is to the host: host code that reads or writes it crashes here too; only
// cuMemcpyHtoDAsync writes it, and counts the copies and their bytes.
// An event remembers how much work was queued when it was recorded;
// cuEventSynchronize counts the waits, and those made while later work was
// already queued (the host running ahead of the device).
// Kernels do not run, so the numbers a run prints mean nothing: the test
// checks the host side's calls, not results.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *image;
static long launches, functions, syncs, graphs, graphLaunches, graphKernels, uploads,
    uploadBytes, deviceBlocks, eventWaits, eventWaitsAhead;
static int bad;

static void report(void) {
  fprintf(stderr,
          "fake-cuda: %ld launches, %ld kernels looked up, %d bad, %ld syncs, %ld graphs, "
          "%ld graph launches of %ld kernels, %ld uploads of %ld bytes, %ld device blocks left, "
          "%ld event waits (%ld with later work queued)\n",
          launches, functions, bad, syncs, graphs, graphLaunches, graphKernels, uploads,
          uploadBytes, deviceBlocks, eventWaits, eventWaitsAhead);
}

int cuInit(unsigned flags) { (void)flags; atexit(report); return 0; }
int cuDeviceGetCount(int *n) { *n = getenv("FAKE_CUDA_NO_GPU") ? 0 : 1; return 0; }
int cuDeviceGet(int *d, int i) { *d = i; return 0; }
// Concurrent managed access (89): yes, unless FAKE_CUDA_NO_CONCURRENT_MANAGED.
int cuDeviceGetAttribute(int *v, int attribute, int d) {
  (void)d;
  *v = attribute == 89 && !getenv("FAKE_CUDA_NO_CONCURRENT_MANAGED");
  return 0;
}
int cuDevicePrimaryCtxRetain(void **c, int d) { (void)d; *c = (void *)0x1; return 0; }
int cuCtxSetCurrent(void *c) { (void)c; return 0; }
int cuCtxSynchronize(void) { ++syncs; return 0; }
int cuModuleLoadData(void **m, const void *data) {
  image = data;
  *m = (void *)0x2;
  if (strncmp(image, "//", 2) != 0) { fprintf(stderr, "fake-cuda: the image is not PTX\n"); return 200; }
  return 0;
}
// Every function handle stays on a list until exit, as the real driver keeps
// them: reachable, so LeakSanitizer does not report them.
struct fn { char name[256]; int params; struct fn *next; };
static struct fn *allFunctions;
int cuModuleGetFunction(void **f, void *m, const char *name) {
  (void)m;
  char key[300];
  snprintf(key, sizeof key, ".entry %s(", name);
  const char *at = strstr(image, key);
  if (!at) { fprintf(stderr, "fake-cuda: no kernel %s in the PTX\n", name); return 500; }
  const char *end = strchr(at, ')');
  struct fn *fn = malloc(sizeof *fn);
  snprintf(fn->name, sizeof fn->name, "%s", name);
  fn->params = 0;
  fn->next = allFunctions;
  allFunctions = fn;
  for (const char *p = at; p && p < end; p = strstr(p + 1, ".param"))
    if (strncmp(p, ".param", 6) == 0) fn->params++;
  ++functions;
  *f = fn;
  return 0;
}
static void checkLaunch(struct fn *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, void **params) {
  if (!gx || !gy || !gz || !bx || !by || !bz || bx * by * bz > 1024) {
    fprintf(stderr, "fake-cuda: %s: bad grid %u,%u,%u block %u,%u,%u\n", fn->name, gx, gy, gz, bx, by, bz);
    ++bad;
  }
  for (int i = 0; i < fn->params; ++i)
    if (!params || !params[i]) { fprintf(stderr, "fake-cuda: %s: param %d null\n", fn->name, i); ++bad; break; }
}
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                   unsigned bz, unsigned smem, void *stream, void **params, void **extra) {
  (void)smem; (void)stream; (void)extra;
  ++launches;
  checkLaunch(f, gx, gy, gz, bx, by, bz, params);
  return 0;
}

// A graph is its kernel count; an instantiated graph too.
struct node_params {
  void *func;
  unsigned gx, gy, gz, bx, by, bz, smem;
  void **params, **extra;
};
struct graph { long kernels; long lastNode; };
int cuGraphCreate(struct graph **g, unsigned flags) {
  (void)flags;
  *g = calloc(1, sizeof **g);
  return *g ? 0 : 2;
}
int cuGraphAddKernelNode(long *node, struct graph *g, const long *deps, size_t ndeps,
                         const struct node_params *p) {
  // The runtime chains the kernels: each depends on the one before.
  if (ndeps != (g->kernels ? 1u : 0u) || (ndeps && deps[0] != g->lastNode)) {
    fprintf(stderr, "fake-cuda: graph node %ld does not depend on the one before\n", g->kernels);
    ++bad;
  }
  checkLaunch(p->func, p->gx, p->gy, p->gz, p->bx, p->by, p->bz, p->params);
  *node = g->lastNode = ++g->kernels;
  return 0;
}
int cuGraphInstantiateWithFlags(struct graph **exec, struct graph *g, unsigned long long flags) {
  (void)flags;
  if (getenv("FAKE_CUDA_GRAPH_FAIL")) return 801; // CUDA_ERROR_NOT_SUPPORTED
  // Instantiated graphs live until exit, as the runtime keeps them.
  static struct graph *kept[1024];
  *exec = malloc(sizeof **exec);
  if (!*exec) return 2;
  **exec = *g;
  if (graphs < 1024) kept[graphs] = *exec;
  ++graphs;
  return 0;
}
int cuGraphLaunch(struct graph *exec, void *stream) {
  (void)stream;
  ++graphLaunches;
  graphKernels += exec->kernels;
  return 0;
}
int cuGraphDestroy(struct graph *g) { free(g); return 0; }
int cuMemAllocManaged(unsigned long long *p, size_t n, unsigned flags) {
  (void)flags;
  *p = (unsigned long long)malloc(n);
  return *p ? 0 : 2;
}

// Device-only memory: whole pages with no access, each block's size kept in
// a list (cuMemFree_v2 frees managed memory too, which is malloc's).
struct block { char *p; size_t n; struct block *next; };
static struct block *deviceList;
static struct block *deviceBlock(unsigned long long p) {
  for (struct block *b = deviceList; b; b = b->next)
    if (p >= (unsigned long long)b->p && p < (unsigned long long)(b->p + b->n)) return b;
  return NULL;
}
int cuMemAlloc_v2(unsigned long long *p, size_t n) {
  struct block *b = malloc(sizeof *b);
  void *m = mmap(NULL, n, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!b || m == MAP_FAILED) { free(b); return 2; } // CUDA_ERROR_OUT_OF_MEMORY
  b->p = m;
  b->n = n;
  b->next = deviceList;
  deviceList = b;
  ++deviceBlocks;
  *p = (unsigned long long)m;
  return 0;
}
int cuMemFree_v2(unsigned long long p) {
  for (struct block **at = &deviceList; *at; at = &(*at)->next)
    if ((unsigned long long)(*at)->p == p) {
      struct block *b = *at;
      *at = b->next;
      munmap(b->p, b->n);
      free(b);
      --deviceBlocks;
      return 0;
    }
  free((void *)p);
  return 0;
}
int cuMemAllocHost_v2(void **p, size_t n) { *p = malloc(n); return *p ? 0 : 2; }
int cuMemFreeHost(void *p) { free(p); return 0; }
int cuMemcpyHtoDAsync_v2(unsigned long long dst, const void *src, size_t n, void *stream) {
  (void)stream;
  struct block *b = deviceBlock(dst);
  if (!b || dst + n > (unsigned long long)(b->p + b->n)) {
    fprintf(stderr, "fake-cuda: a copy of %zu bytes to the device outside device memory\n", n);
    ++bad;
    return 1; // CUDA_ERROR_INVALID_VALUE
  }
  mprotect(b->p, b->n, PROT_READ | PROT_WRITE);
  memcpy((void *)dst, src, n);
  mprotect(b->p, b->n, PROT_NONE);
  ++uploads;
  uploadBytes += (long)n;
  return 0;
}
// Work queued so far: launches and graph launches.
static long queued(void) { return launches + graphLaunches; }
struct event { long queuedAt; };
int cuEventCreate(struct event **e, unsigned flags) {
  (void)flags;
  // Events live until exit, as the runtime keeps them: a list LeakSanitizer sees.
  static struct event *kept[64];
  static int count;
  *e = calloc(1, sizeof **e);
  if (!*e) return 2;
  if (count < 64) kept[count++] = *e;
  return 0;
}
int cuEventRecord(struct event *e, void *stream) { (void)stream; e->queuedAt = queued(); return 0; }
int cuEventSynchronize(struct event *e) {
  ++eventWaits;
  if (queued() > e->queuedAt) ++eventWaitsAhead;
  return 0;
}
// Each launch between two events reads as one microsecond.
int cuEventElapsedTime(float *ms, struct event *start, struct event *end) {
  *ms = 0.001f * (float)(end->queuedAt - start->queuedAt);
  return 0;
}
int cuGetErrorName(int r, const char **s) { *s = r == 500 ? "CUDA_ERROR_NOT_FOUND" : "CUDA_ERROR_FAKE"; return 0; }
int cuGetErrorString(int r, const char **s) { (void)r; *s = "fake"; return 0; }
