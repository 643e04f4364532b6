#include "codegen/LinalgNames.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <cctype>

using namespace mlir;

namespace kiln {

std::optional<std::pair<bool, bool>> matmulTransposes(linalg::MatmulOp op) {
  if (!op.hasUserDefinedMaps())
    return std::pair{false, false};
  MLIRContext *ctx = op.getContext();
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
             k = getAffineDimExpr(2, ctx);
  auto map = [&](AffineExpr x, AffineExpr y) { return AffineMap::get(3, 0, {x, y}, ctx); };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (maps.size() != 3 || maps[2] != map(m, n))
    return std::nullopt;
  bool aT = maps[0] == map(k, m), bT = maps[1] == map(n, k);
  if ((!aT && maps[0] != map(m, k)) || (!bT && maps[1] != map(k, n)))
    return std::nullopt;
  return std::pair{aT, bT};
}

std::optional<WindowProduct> windowProduct(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  auto attr = generic ? generic->getAttrOfType<DictionaryAttr>(kWindowProduct) : DictionaryAttr();
  if (!attr)
    return std::nullopt;
  WindowProduct product;
  for (auto [name, field] : {std::pair{"kernel", &product.kernel}, {"stride", &product.stride},
                             {"padding", &product.padding}}) {
    auto values = attr.getAs<DenseI64ArrayAttr>(name);
    if (!values || values.size() != 2)
      return std::nullopt;
    field->assign(values.asArrayRef().begin(), values.asArrayRef().end());
  }
  product.rows = bool(attr.getAs<UnitAttr>("rows"));
  // The image is what the body reads at computed indices.
  generic.getRegion().walk([&](Operation *read) {
    if (auto extract = dyn_cast<tensor::ExtractOp>(read))
      product.image = extract.getTensor();
    else if (auto load = dyn_cast<memref::LoadOp>(read))
      product.image = load.getMemRef();
  });
  auto type = product.image ? dyn_cast<ShapedType>(product.image.getType()) : ShapedType();
  if (!type || type.getRank() != 4 || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1)
    return std::nullopt;
  return product;
}

bool isProduct(Operation *op) {
  return isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op) || windowProduct(op);
}

std::string modelNameSuffix(Location loc) {
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location inner : fused.getLocations())
      if (std::string name = modelNameSuffix(inner); !name.empty())
        return name;
    return "";
  }
  auto name = dyn_cast<NameLoc>(loc);
  if (!name)
    return "";
  std::string text = "_" + name.getName().getValue().str();
  for (char &c : text)
    if (!isalnum(static_cast<unsigned char>(c)))
      c = '_';
  return text;
}

LogicalResult interchangeGenerics(Operation *root, LoopOrderFn order) {
  SmallVector<std::pair<linalg::GenericOp, SmallVector<unsigned>>> ops;
  root->walk([&](linalg::GenericOp op) {
    if (std::optional<SmallVector<unsigned>> loops = order(op))
      ops.push_back({op, *loops});
  });
  IRRewriter rewriter(root->getContext());
  for (auto &[op, loops] : ops) {
    rewriter.setInsertionPoint(op);
    if (failed(linalg::interchangeGenericOp(rewriter, op, loops)))
      return failure();
  }
  return success();
}

} // namespace kiln
