// kiln-merge-duplicate-functions: private functions with the same type and
// the same body become one. `forward`, `loss` and `train_step` each run
// the model's forward ops, so kiln-forall-to-threads outlines the same tile
// function up to three times (fashion_cnn_bn: 15% of the LLVM IR); LLVM
// would optimize and compile every copy. Uses of a copy now name the first
// function of its kind, and the copy is erased. Only private functions are
// merged: a public one is an entry point that must keep its name.
#include "codegen/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_MERGEDUPLICATEFUNCTIONS
#include "codegen/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// What two equal functions share, so that only such pairs are compared
/// op by op: the type and the number of ops in the body.
struct Key {
  FunctionType type;
  size_t ops;
  bool operator<(const Key &other) const {
    if (ops != other.ops)
      return ops < other.ops;
    return type.getAsOpaquePointer() < other.type.getAsOpaquePointer();
  }
};

struct MergeDuplicateFunctionsPass
    : public kiln::impl::MergeDuplicateFunctionsBase<MergeDuplicateFunctionsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::map<Key, SmallVector<func::FuncOp>> kinds; // ordered: the same result every run
    SmallVector<std::pair<func::FuncOp, func::FuncOp>> merges; // (copy, kept)
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func.isPrivate() || func.isExternal())
        continue;
      size_t ops = 0;
      func.getBody().walk([&](Operation *) { ++ops; });
      SmallVector<func::FuncOp> &same = kinds[Key{func.getFunctionType(), ops}];
      auto kept = llvm::find_if(same, [&](func::FuncOp other) {
        return OperationEquivalence::isRegionEquivalentTo(
                   &func.getBody(), &other.getBody(), OperationEquivalence::IgnoreLocations) &&
               func->getDiscardableAttrDictionary() == other->getDiscardableAttrDictionary();
      });
      if (kept == same.end())
        same.push_back(func);
      else
        merges.push_back({func, *kept});
    }
    for (auto [copy, kept] : merges) {
      if (failed(SymbolTable::replaceAllSymbolUses(copy, kept.getSymNameAttr(), module)))
        return signalPassFailure();
      copy.erase();
    }
  }
};

} // namespace
