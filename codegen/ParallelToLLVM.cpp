// kiln-parallel-to-llvm: kiln.parallel_for becomes a call to the runtime's
// `kiln_parallel_for(task, context, tasks)` (runtime/kernels/ParallelFor.cpp).
//
// Runs after the func and memref conversions, so the captures are LLVM
// values (a buffer is its descriptor struct). Each capture is stored in a
// stack slot made once in the function's entry block (the call may sit in
// a loop), and the context is the array of the slots' addresses. The task
// is a trampoline `<callee>_task(context, i)` that passes the slots to the
// tile function's C interface: a buffer by its descriptor's address, any
// other value loaded.
#include "codegen/Passes.h"

#include "ir/KilnCodegenOps.h"

#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/SetVector.h"

namespace kiln {
#define GEN_PASS_DEF_PARALLELTOLLVM
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

class ParallelForLowering : public ConvertOpToLLVMPattern<kiln::ir::ParallelForOp> {
public:
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;

  LogicalResult matchAndRewrite(kiln::ir::ParallelForOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto module = op->getParentOfType<ModuleOp>();
    auto caller = op->getParentOfType<LLVM::LLVMFuncOp>();
    auto tileFunc = module.lookupSymbol<LLVM::LLVMFuncOp>(
        ("_mlir_ciface_" + op.getCallee()).str());
    if (!caller || !tileFunc)
      return rewriter.notifyMatchFailure(op, "needs the tile function's C interface");
    MLIRContext *context = rewriter.getContext();
    auto ptr = LLVM::LLVMPointerType::get(context);
    Type i64 = rewriter.getI64Type();
    ValueRange captures = adaptor.getCaptures();
    auto slotsType = LLVM::LLVMArrayType::get(ptr, captures.size());

    // The slots, once per call of the caller.
    SmallVector<Value> slots;
    Value slotArray;
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(&caller.getBody().front());
      Value one = LLVM::ConstantOp::create(rewriter, loc, i64, 1);
      slotArray = LLVM::AllocaOp::create(rewriter, loc, ptr, slotsType, one);
      for (Value capture : captures)
        slots.push_back(LLVM::AllocaOp::create(rewriter, loc, ptr, capture.getType(), one));
    }
    for (auto [index, capture] : llvm::enumerate(captures)) {
      LLVM::StoreOp::create(rewriter, loc, capture, slots[index]);
      Value entry = LLVM::GEPOp::create(rewriter, loc, ptr, slotsType, slotArray,
                                        ArrayRef<LLVM::GEPArg>{0, int32_t(index)});
      LLVM::StoreOp::create(rewriter, loc, slots[index], entry);
    }

    LLVM::LLVMFuncOp task = trampoline(rewriter, op, tileFunc, captures.getTypes());
    auto runtime = module.lookupSymbol<LLVM::LLVMFuncOp>("kiln_parallel_for");
    if (!runtime) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      runtime = LLVM::LLVMFuncOp::create(
          rewriter, loc, "kiln_parallel_for",
          LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context), {ptr, ptr, i64}));
    }
    Value taskAddress = LLVM::AddressOfOp::create(rewriter, loc, task);
    LLVM::CallOp::create(rewriter, loc, runtime,
                         ValueRange{taskAddress, slotArray, adaptor.getTasks()});
    rewriter.eraseOp(op);
    return success();
  }

private:
  /// `void <callee>_task(ptr context, i64 i)`: calls the tile function's C
  /// interface with tile i and the captures read from the context.
  LLVM::LLVMFuncOp trampoline(ConversionPatternRewriter &rewriter, kiln::ir::ParallelForOp op,
                              LLVM::LLVMFuncOp tileFunc, TypeRange captureTypes) const {
    auto module = op->getParentOfType<ModuleOp>();
    std::string name = (op.getCallee() + "_task").str();
    if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
      return existing;
    MLIRContext *context = rewriter.getContext();
    Location loc = op.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(context);
    Type i64 = rewriter.getI64Type();
    OpBuilder::InsertionGuard guard(rewriter);
    rewriter.setInsertionPointToStart(module.getBody());
    auto task = LLVM::LLVMFuncOp::create(
        rewriter, loc, name,
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context), {ptr, i64}));
    task.setLinkage(LLVM::Linkage::Internal);
    Block *entry = rewriter.createBlock(&task.getBody(), {}, {ptr, i64}, {loc, loc});
    auto slotsType = LLVM::LLVMArrayType::get(ptr, captureTypes.size());
    SmallVector<Value> args{entry->getArgument(1)};
    for (auto [index, original] : llvm::enumerate(op.getCaptures().getTypes())) {
      Value entryAddress = LLVM::GEPOp::create(rewriter, loc, ptr, slotsType, entry->getArgument(0),
                                               ArrayRef<LLVM::GEPArg>{0, int32_t(index)});
      Value slot = LLVM::LoadOp::create(rewriter, loc, ptr, entryAddress);
      // The C interface takes a buffer by its descriptor's address.
      args.push_back(isa<MemRefType>(original)
                         ? slot
                         : LLVM::LoadOp::create(rewriter, loc, captureTypes[index], slot));
    }
    LLVM::CallOp::create(rewriter, loc, tileFunc, args);
    LLVM::ReturnOp::create(rewriter, loc, ValueRange{});
    return task;
  }
};

struct ParallelToLLVMPass : public kiln::impl::ParallelToLLVMBase<ParallelToLLVMPass> {
  void runOnOperation() override {
    LLVMTypeConverter converter(&getContext());
    RewritePatternSet patterns(&getContext());
    patterns.add<ParallelForLowering>(converter);
    LLVMConversionTarget target(getContext());
    target.addIllegalOp<kiln::ir::ParallelForOp>();
    ModuleOp module = getOperation();
    llvm::SetVector<StringRef> tileFunctions;
    module.walk([&](kiln::ir::ParallelForOp op) { tileFunctions.insert(op.getCallee()); });
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    // A tile function and its C interface are only called through the task:
    // internal, LLVM inlines them into it and drops the copies (a third of
    // the CNN's code was tile bodies kept for callers that do not exist).
    for (StringRef name : tileFunctions)
      for (std::string symbol : {name.str(), "_mlir_ciface_" + name.str()})
        if (auto func = module.lookupSymbol<LLVM::LLVMFuncOp>(symbol))
          func.setLinkage(LLVM::Linkage::Internal);
  }
};

} // namespace
