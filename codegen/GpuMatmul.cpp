// kiln-gpu-matmul: each f32/f64 linalg.matmul on buffers (C += A B, A and/or
// B possibly read transposed through its indexing maps) becomes a gpu.launch
// of Kiln's own tiled GEMM kernel, named `<function>_matmul<N>`:
//
//  - a block computes a 64x64 tile of C with 16x16 threads, each thread a
//    4x4 register block (16 accumulators carried through the k loop);
//  - per step of 16 along k, the block copies a 16x64 slice of A and of B
//    into shared memory (workgroup attributions, `.shared` in PTX), each
//    thread four elements of each, reading along the operand's contiguous
//    dimension so that neighbouring threads read neighbouring addresses;
//  - the accumulators start from C (zeros or a broadcast bias, as on the
//    CPU) and add A(i,k) * B(k,j) with one fused multiply-add per k, k in
//    increasing order, in the element type (fp32 accumulates in fp32; no
//    TF32): every element is summed in an order fixed by the shape, so the
//    result is deterministic.
//  Rows, columns and k steps beyond the operands' sizes are guarded (zeros
//  in shared memory, and the last k step only runs to K), so any shape works,
//  the dynamic batch included.
#include "codegen/Passes.h"
#include "codegen/LinalgNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace kiln {
#define GEN_PASS_DEF_GPUMATMUL
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr int64_t kTile = 64;   // rows and columns of C per block
constexpr int64_t kStepK = 16;  // k per shared-memory step
constexpr int64_t kThreads = 16; // threads per block along x and along y
constexpr int64_t kReg = 4;     // rows and columns of C per thread

struct Builder {
  OpBuilder &b;
  Location loc;
  Value c(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, y);
  }
  Value both(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  /// memref[i, j] where `ok`, else zero.
  Value guardedLoad(Value ok, Value memref, Value i, Value j, Type elem) {
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{elem}, ok, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      Value v = memref::LoadOp::create(b, loc, memref, ValueRange{i, j});
      scf::YieldOp::create(b, loc, v);
      b.setInsertionPointToStart(ifOp.elseBlock());
      Value zero = arith::ConstantOp::create(b, loc, elem, b.getZeroAttr(elem));
      scf::YieldOp::create(b, loc, zero);
    }
    return ifOp.getResult(0);
  }
};

void buildGemm(linalg::MatmulOp op, bool aT, bool bT, StringRef name) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Builder h{b, loc};
  Value A = op.getDpsInputs()[0], B = op.getDpsInputs()[1], C = op.getDpsInits()[0];
  Type elem = cast<MemRefType>(C.getType()).getElementType();
  Value M = memref::DimOp::create(b, loc, C, 0), N = memref::DimOp::create(b, loc, C, 1);
  Value K = memref::DimOp::create(b, loc, A, aT ? 0 : 1);
  auto ceilDiv = [&](Value x, int64_t d) {
    return arith::DivUIOp::create(b, loc, h.add(x, h.c(d - 1)), h.c(d)).getResult();
  };
  MLIRContext *ctx = op.getContext();
  auto shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto tileType = MemRefType::get({kStepK, kTile}, elem, MemRefLayoutAttrInterface{}, shared);
  auto launch = gpu::LaunchOp::create(
      b, loc, ceilDiv(N, kTile), ceilDiv(M, kTile), h.c(1), h.c(kThreads), h.c(kThreads),
      h.c(1), /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, /*workgroupAttributions=*/TypeRange{tileType, tileType});
  launch.setFunctionAttr(FlatSymbolRefAttr::get(ctx, name));
  Value As = launch.getWorkgroupAttributions()[0], Bs = launch.getWorkgroupAttributions()[1];

  Block &body = launch.getBody().front();
  b.setInsertionPointToStart(&body);
  Value tx = launch.getThreadIds().x, ty = launch.getThreadIds().y;
  Value rowBase = h.mul(launch.getBlockIds().y, h.c(kTile));
  Value colBase = h.mul(launch.getBlockIds().x, h.c(kTile));
  Value tid = h.add(h.mul(ty, h.c(kThreads)), tx);
  Value row0 = h.add(rowBase, h.mul(ty, h.c(kReg)));
  Value col0 = h.add(colBase, h.mul(tx, h.c(kReg)));
  SmallVector<Value> rows, cols, rowOk, colOk;
  for (int64_t r = 0; r < kReg; ++r) {
    rows.push_back(h.add(row0, h.c(r)));
    rowOk.push_back(h.lt(rows.back(), M));
    cols.push_back(h.add(col0, h.c(r)));
    colOk.push_back(h.lt(cols.back(), N));
  }
  // The accumulators start from C (zeros, or the bias broadcast along rows).
  SmallVector<Value> init;
  for (int64_t r = 0; r < kReg; ++r)
    for (int64_t c = 0; c < kReg; ++c)
      init.push_back(h.guardedLoad(h.both(rowOk[r], colOk[c]), C, rows[r], cols[c], elem));

  auto kLoop = scf::ForOp::create(b, loc, h.c(0), K, h.c(kStepK), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(kLoop.getBody());
    Value kt = kLoop.getInductionVar();
    // Each thread copies kStepK * kTile / (kThreads^2) elements of each tile.
    constexpr int64_t perThread = kStepK * kTile / (kThreads * kThreads);
    for (int64_t l = 0; l < perThread; ++l) {
      Value e = h.add(tid, h.c(l * kThreads * kThreads));
      auto split = [&](bool kFastest) -> std::pair<Value, Value> {
        if (kFastest) // (k, m) with k varying fastest across threads
          return {arith::RemUIOp::create(b, loc, e, h.c(kStepK)),
                  arith::DivUIOp::create(b, loc, e, h.c(kStepK))};
        return {arith::DivUIOp::create(b, loc, e, h.c(kTile)),
                arith::RemUIOp::create(b, loc, e, h.c(kTile))};
      };
      // A is [M, K] row-major (k contiguous) unless read transposed.
      auto [ka, ma] = split(!aT);
      Value gk = h.add(kt, ka), gm = h.add(rowBase, ma);
      Value a = aT ? h.guardedLoad(h.both(h.lt(gk, K), h.lt(gm, M)), A, gk, gm, elem)
                   : h.guardedLoad(h.both(h.lt(gm, M), h.lt(gk, K)), A, gm, gk, elem);
      memref::StoreOp::create(b, loc, a, As, ValueRange{ka, ma});
      // B is [K, N] row-major (n contiguous) unless read transposed.
      auto [kb, nb] = split(bT);
      Value gkb = h.add(kt, kb), gn = h.add(colBase, nb);
      Value bv = bT ? h.guardedLoad(h.both(h.lt(gn, N), h.lt(gkb, K)), B, gn, gkb, elem)
                    : h.guardedLoad(h.both(h.lt(gkb, K), h.lt(gn, N)), B, gkb, gn, elem);
      memref::StoreOp::create(b, loc, bv, Bs, ValueRange{kb, nb});
    }
    gpu::BarrierOp::create(b, loc);
    // The last step runs to K only: padded zeros never touch an accumulator.
    Value steps = arith::MinSIOp::create(b, loc, h.c(kStepK),
                                         arith::SubIOp::create(b, loc, K, kt));
    auto inner = scf::ForOp::create(b, loc, h.c(0), steps, h.c(1), kLoop.getRegionIterArgs());
    {
      OpBuilder::InsertionGuard guard2(b);
      b.setInsertionPointToStart(inner.getBody());
      Value kk = inner.getInductionVar();
      SmallVector<Value> av, bv2, next;
      for (int64_t r = 0; r < kReg; ++r) {
        av.push_back(memref::LoadOp::create(
            b, loc, As, ValueRange{kk, h.add(h.mul(ty, h.c(kReg)), h.c(r))}));
        bv2.push_back(memref::LoadOp::create(
            b, loc, Bs, ValueRange{kk, h.add(h.mul(tx, h.c(kReg)), h.c(r))}));
      }
      for (int64_t r = 0; r < kReg; ++r)
        for (int64_t c = 0; c < kReg; ++c)
          // llvm.intr.fma is PTX's fma.rn: one rounding, no libdevice
          // call (math.fma would become __nv_fmaf).
          next.push_back(LLVM::FMAOp::create(b, loc, av[r], bv2[c],
                                             inner.getRegionIterArgs()[r * kReg + c]));
      scf::YieldOp::create(b, loc, next);
    }
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, inner.getResults());
  }
  for (int64_t r = 0; r < kReg; ++r)
    for (int64_t c = 0; c < kReg; ++c) {
      auto ifOp = scf::IfOp::create(b, loc, h.both(rowOk[r], colOk[c]), /*withElse=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      memref::StoreOp::create(b, loc, kLoop.getResult(r * kReg + c), C,
                              ValueRange{rows[r], cols[c]});
    }
  gpu::TerminatorOp::create(b, loc);
  op.erase();
}

struct GpuMatmulPass : public kiln::impl::GpuMatmulBase<GpuMatmulPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      SmallVector<linalg::MatmulOp> matmuls;
      func.walk([&](linalg::MatmulOp op) {
        Type elem = getElementTypeOrSelf(op.getDpsInits()[0].getType());
        if (op.hasPureBufferSemantics() && kiln::matmulTransposes(op) && (elem.isF32() || elem.isF64()))
          matmuls.push_back(op);
        else if (op.hasPureBufferSemantics())
          op.emitError("kiln-gpu-matmul: no GPU kernel for this product");
      });
      unsigned n = 0;
      for (linalg::MatmulOp op : matmuls) {
        auto [aT, bT] = *kiln::matmulTransposes(op);
        buildGemm(op, aT, bT,
                  (func.getName() + "_matmul" + Twine(n++) + kiln::modelNameSuffix(op.getLoc())).str());
      }
    }
  }
};

} // namespace
