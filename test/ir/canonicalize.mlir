// The folders and canonicalization patterns, each next to the cases it must
// leave alone: none of them may change a number.
// RUN: kiln-opt %s --canonicalize --split-input-file | FileCheck %s
// RUN: kiln-opt %s --canonicalize --split-input-file --mlir-use-nameloc-as-prefix | FileCheck %s --check-prefix=NAME

// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<?x3xf32>)
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<?x3xf32>) -> (tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>) {
  %0 = kiln.cast %x : tensor<?x3xf32> to tensor<?x3xf32>
  %1 = kiln.reshape %x : tensor<?x3xf32> to tensor<?x3xf32>
  %2 = kiln.transpose %x [0, 1] : (tensor<?x3xf32>) -> tensor<?x3xf32>
  %n = kiln.neg %x : tensor<?x3xf32>
  %3 = kiln.neg %n : tensor<?x3xf32>
  return %0, %1, %2, %3 : tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>, tensor<?x3xf32>
}

// -----

// CHECK-LABEL: func.func @kept
// CHECK: kiln.cast
// CHECK: kiln.transpose
// CHECK: kiln.neg
func.func @kept(%x: tensor<2x3xf32>) -> (tensor<2x3xf64>, tensor<3x2xf32>, tensor<2x3xf32>) {
  %0 = kiln.cast %x : tensor<2x3xf32> to tensor<2x3xf64>
  %1 = kiln.transpose %x [1, 0] : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %2 = kiln.neg %x : tensor<2x3xf32>
  return %0, %1, %2 : tensor<2x3xf64>, tensor<3x2xf32>, tensor<2x3xf32>
}

// -----

// An unused constant goes; a used one stays.
// CHECK-LABEL: func.func @constants
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<2.000000e+00> : tensor<f32>
// CHECK-NEXT: return %[[C]]
func.func @constants() -> tensor<f32> {
  %0 = kiln.constant dense<1.0> : tensor<f32>
  %1 = kiln.constant dense<2.0> : tensor<f32>
  return %1 : tensor<f32>
}

// -----

// x * 1 and 1 * x are x when the product broadcasts nothing: a 0-d one, a
// row of ones, a fill of ones (static or sized at run time), integers.
// CHECK-LABEL: func.func @mul_by_one
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x10xf32>, %[[N:[^:]*]]: index, %[[I:[^:]*]]: tensor<4xi64>)
// CHECK-NOT: kiln.mul
// CHECK: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]], %[[I]]
func.func @mul_by_one(%x: tensor<?x10xf32>, %n: index, %i: tensor<4xi64>)
    -> (tensor<?x10xf32>, tensor<?x10xf32>, tensor<?x10xf32>, tensor<?x10xf32>, tensor<?x10xf32>, tensor<4xi64>) {
  %one = kiln.constant dense<1.0> : tensor<f32>
  %row = kiln.constant dense<1.0> : tensor<1x10xf32>
  %fill = kiln.fill 1.0 : tensor<10xf32>
  %ones = kiln.fill 1.0 sizes(%n) : tensor<?x10xf32>
  %ione = kiln.constant dense<1> : tensor<i64>
  %0 = kiln.mul %x, %one : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %1 = kiln.mul %one, %x : (tensor<f32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  %2 = kiln.mul %row, %x : (tensor<1x10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  %3 = kiln.mul %fill, %x : (tensor<10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  %4 = kiln.mul %x, %ones : (tensor<?x10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  %5 = kiln.mul %i, %ione : (tensor<4xi64>, tensor<i64>) -> tensor<4xi64>
  return %0, %1, %2, %3, %4, %5 : tensor<?x10xf32>, tensor<?x10xf32>, tensor<?x10xf32>, tensor<?x10xf32>, tensor<?x10xf32>, tensor<4xi64>
}

// -----

// The product's name moves to the value that replaces it, so `--emit=grad`
// still reads `%logits.grad`; a value with a name of its own keeps it.
// NAME-LABEL: func.func @mul_by_one_named
// NAME: %logits.grad = kiln.cross_entropy_grad
// NAME: %h = kiln.relu
// NAME: return %logits.grad, %h
func.func @mul_by_one_named(%x: tensor<?x10xf32>, %t: tensor<?xi64>) -> (tensor<?x10xf32>, tensor<?x10xf32>) {
  %one = kiln.constant dense<1.0> : tensor<f32>
  %g = kiln.cross_entropy_grad %x, %t : (tensor<?x10xf32>, tensor<?xi64>) -> tensor<?x10xf32>
  %0 = kiln.mul %g, %one : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32> loc("logits.grad")
  %r = kiln.relu %x : tensor<?x10xf32> loc("h")
  %1 = kiln.mul %r, %one : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32> loc("other")
  return %0, %1 : tensor<?x10xf32>, tensor<?x10xf32>
}

// -----

// Kept: a product with ones that broadcasts x (its result is not x), with a
// value other than one, and with a constant that is not a splat.
// CHECK-LABEL: func.func @mul_kept
// CHECK-SAME: (%[[X:[^:]*]]: tensor<10xf32>, %[[N:[^:]*]]: index)
// CHECK-DAG: %[[ONES:.*]] = kiln.constant dense<1.000000e+00> : tensor<4x10xf32>
// CHECK-DAG: %[[FILL:.*]] = kiln.fill 1.000000e+00 sizes(%[[N]]) : tensor<?x10xf32>
// CHECK-DAG: %[[TWO:.*]] = kiln.constant dense<2.000000e+00> : tensor<f32>
// CHECK-DAG: %[[MIXED:.*]] = kiln.constant dense<{{.*}}2.000000e+00{{.*}}> : tensor<2x1xf32>
// CHECK: kiln.mul %[[X]], %[[ONES]] : (tensor<10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>
// CHECK: kiln.mul %[[X]], %[[FILL]] : (tensor<10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
// CHECK: kiln.mul %[[X]], %[[TWO]]
// CHECK: kiln.mul %[[X]], %[[MIXED]]
func.func @mul_kept(%x: tensor<10xf32>, %n: index)
    -> (tensor<4x10xf32>, tensor<?x10xf32>, tensor<10xf32>, tensor<2x10xf32>) {
  %ones = kiln.constant dense<1.0> : tensor<4x10xf32>
  %fill = kiln.fill 1.0 sizes(%n) : tensor<?x10xf32>
  %two = kiln.constant dense<2.0> : tensor<f32>
  %mixed = kiln.constant dense<[[1.0], [2.0]]> : tensor<2x1xf32>
  %0 = kiln.mul %x, %ones : (tensor<10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>
  %1 = kiln.mul %x, %fill : (tensor<10xf32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  %2 = kiln.mul %x, %two : (tensor<10xf32>, tensor<f32>) -> tensor<10xf32>
  %3 = kiln.mul %x, %mixed : (tensor<10xf32>, tensor<2x1xf32>) -> tensor<2x10xf32>
  return %0, %1, %2, %3 : tensor<4x10xf32>, tensor<?x10xf32>, tensor<10xf32>, tensor<2x10xf32>
}

// -----

// x / 1 is x; 1 / x and a quotient that broadcasts x stay.
// CHECK-LABEL: func.func @div_by_one
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x10xf32>, %[[Y:[^:]*]]: tensor<10xf32>)
// CHECK: %[[ONE:.*]] = kiln.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[ONES:.*]] = kiln.constant dense<1.000000e+00> : tensor<4x10xf32>
// CHECK: %[[R:.*]] = kiln.div %[[ONE]], %[[X]]
// CHECK: %[[B:.*]] = kiln.div %[[Y]], %[[ONES]]
// CHECK: return %[[X]], %[[R]], %[[B]]
func.func @div_by_one(%x: tensor<?x10xf32>, %y: tensor<10xf32>)
    -> (tensor<?x10xf32>, tensor<?x10xf32>, tensor<4x10xf32>) {
  %one = kiln.constant dense<1.0> : tensor<f32>
  %ones = kiln.constant dense<1.0> : tensor<4x10xf32>
  %0 = kiln.div %x, %one : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %1 = kiln.div %one, %x : (tensor<f32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  %2 = kiln.div %y, %ones : (tensor<10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>
  return %0, %1, %2 : tensor<?x10xf32>, tensor<?x10xf32>, tensor<4x10xf32>
}

// -----

// x + 0 stays (-0.0 + 0.0 is +0.0); add and mul are commutative, so the
// canonicalizer moves a constant to the right, which changes no number.
// CHECK-LABEL: func.func @add_zero_kept
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x10xf32>, %[[Y:[^:]*]]: tensor<?x10xf32>)
// CHECK: %[[ZERO:.*]] = kiln.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[TWO:.*]] = kiln.constant dense<2.000000e+00> : tensor<f32>
// CHECK: %[[A:.*]] = kiln.add %[[X]], %[[ZERO]]
// CHECK: %[[B:.*]] = kiln.add %[[X]], %[[ZERO]]
// CHECK: %[[C:.*]] = kiln.mul %[[Y]], %[[TWO]]
// CHECK: return %[[A]], %[[B]], %[[C]]
func.func @add_zero_kept(%x: tensor<?x10xf32>, %y: tensor<?x10xf32>)
    -> (tensor<?x10xf32>, tensor<?x10xf32>, tensor<?x10xf32>) {
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %two = kiln.constant dense<2.0> : tensor<f32>
  %0 = kiln.add %x, %zero : (tensor<?x10xf32>, tensor<f32>) -> tensor<?x10xf32>
  %1 = kiln.add %zero, %x : (tensor<f32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  %2 = kiln.mul %two, %y : (tensor<f32>, tensor<?x10xf32>) -> tensor<?x10xf32>
  return %0, %1, %2 : tensor<?x10xf32>, tensor<?x10xf32>, tensor<?x10xf32>
}

// -----

// A transpose of a transpose: the input when they cancel, else one
// transpose by the composed permutation (result dim i = input dim
// inner[outer[i]]).
// CHECK-LABEL: func.func @transpose_transpose
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x3x4xf32>)
// CHECK-NEXT: %[[T:.*]] = kiln.transpose %[[X]] [2, 0, 1] : (tensor<?x3x4xf32>) -> tensor<4x?x3xf32>
// CHECK-NEXT: return %[[X]], %[[T]]
func.func @transpose_transpose(%x: tensor<?x3x4xf32>) -> (tensor<?x3x4xf32>, tensor<4x?x3xf32>) {
  %a = kiln.transpose %x [1, 0, 2] : (tensor<?x3x4xf32>) -> tensor<3x?x4xf32>
  %0 = kiln.transpose %a [1, 0, 2] : (tensor<3x?x4xf32>) -> tensor<?x3x4xf32>
  %b = kiln.transpose %x [1, 2, 0] : (tensor<?x3x4xf32>) -> tensor<3x4x?xf32>
  %1 = kiln.transpose %b [1, 2, 0] : (tensor<3x4x?xf32>) -> tensor<4x?x3xf32>
  return %0, %1 : tensor<?x3x4xf32>, tensor<4x?x3xf32>
}

// -----

// A transpose of a transpose that has other uses: the outer one still reads
// the input directly, and the inner one stays for its other use.
// CHECK-LABEL: func.func @transpose_transpose_shared
// CHECK-SAME: (%[[X:[^:]*]]: tensor<2x3xf32>)
// CHECK-NEXT: %[[T:.*]] = kiln.transpose %[[X]] [1, 0]
// CHECK-NEXT: return %[[X]], %[[T]]
func.func @transpose_transpose_shared(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x2xf32>) {
  %t = kiln.transpose %x [1, 0] : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %0 = kiln.transpose %t [1, 0] : (tensor<3x2xf32>) -> tensor<2x3xf32>
  return %0, %t : tensor<2x3xf32>, tensor<3x2xf32>
}

// -----

// A reshape of a reshape: the input when they cancel, else one reshape.
// CHECK-LABEL: func.func @reshape_reshape
// CHECK-SAME: (%[[X:[^:]*]]: tensor<?x28x28xf32>)
// CHECK-NEXT: %[[R:.*]] = kiln.reshape %[[X]] : tensor<?x28x28xf32> to tensor<?x1x784xf32>
// CHECK-NEXT: return %[[X]], %[[R]]
func.func @reshape_reshape(%x: tensor<?x28x28xf32>) -> (tensor<?x28x28xf32>, tensor<?x1x784xf32>) {
  %flat = kiln.reshape %x : tensor<?x28x28xf32> to tensor<?x784xf32>
  %0 = kiln.reshape %flat : tensor<?x784xf32> to tensor<?x28x28xf32>
  %1 = kiln.reshape %flat : tensor<?x784xf32> to tensor<?x1x784xf32>
  return %0, %1 : tensor<?x28x28xf32>, tensor<?x1x784xf32>
}

// -----

// A cast of a cast whose first conversion is exact: the input when it
// comes back to its own type, else one cast to a float type or between
// integers.
// CHECK-LABEL: func.func @cast_cast
// CHECK-SAME: (%[[F:[^:]*]]: tensor<4xf32>, %[[U:[^:]*]]: tensor<4xui8>, %[[I:[^:]*]]: tensor<4xi32>)
// CHECK-NEXT: %[[A:.*]] = kiln.cast %[[U]] : tensor<4xui8> to tensor<4xf64>
// CHECK-NEXT: %[[B:.*]] = kiln.cast %[[U]] : tensor<4xui8> to tensor<4xi64>
// CHECK-NEXT: %[[C:.*]] = kiln.cast %[[I]] : tensor<4xi32> to tensor<4xf32>
// CHECK-NEXT: return %[[F]], %[[U]], %[[A]], %[[B]], %[[C]], %[[I]]
func.func @cast_cast(%f: tensor<4xf32>, %u: tensor<4xui8>, %i: tensor<4xi32>)
    -> (tensor<4xf32>, tensor<4xui8>, tensor<4xf64>, tensor<4xi64>, tensor<4xf32>, tensor<4xi32>) {
  %fd = kiln.cast %f : tensor<4xf32> to tensor<4xf64>
  %0 = kiln.cast %fd : tensor<4xf64> to tensor<4xf32>
  %uf = kiln.cast %u : tensor<4xui8> to tensor<4xf32>
  %1 = kiln.cast %uf : tensor<4xf32> to tensor<4xui8>
  %2 = kiln.cast %uf : tensor<4xf32> to tensor<4xf64>
  %ui = kiln.cast %u : tensor<4xui8> to tensor<4xi32>
  %3 = kiln.cast %ui : tensor<4xi32> to tensor<4xi64>
  %id = kiln.cast %i : tensor<4xi32> to tensor<4xf64>
  %4 = kiln.cast %id : tensor<4xf64> to tensor<4xf32>
  %il = kiln.cast %i : tensor<4xi32> to tensor<4xi64>
  %5 = kiln.cast %il : tensor<4xi64> to tensor<4xi32>
  return %0, %1, %2, %3, %4, %5 : tensor<4xf32>, tensor<4xui8>, tensor<4xf64>, tensor<4xi64>, tensor<4xf32>, tensor<4xi32>
}

// -----

// Kept: a first conversion that can lose something (f64 -> f32 rounds,
// i32 -> f32 rounds, f32 -> i32 truncates), and float -> f64 -> integer,
// whose out-of-range values the two forms would not treat alike.
// CHECK-LABEL: func.func @cast_cast_kept
// CHECK-COUNT-8: kiln.cast
// CHECK-NOT: kiln.cast
func.func @cast_cast_kept(%d: tensor<4xf64>, %i: tensor<4xi32>, %f: tensor<4xf32>)
    -> (tensor<4xf64>, tensor<4xf64>, tensor<4xf32>, tensor<4xi32>) {
  %df = kiln.cast %d : tensor<4xf64> to tensor<4xf32>
  %0 = kiln.cast %df : tensor<4xf32> to tensor<4xf64>
  %if = kiln.cast %i : tensor<4xi32> to tensor<4xf32>
  %1 = kiln.cast %if : tensor<4xf32> to tensor<4xf64>
  %fi = kiln.cast %f : tensor<4xf32> to tensor<4xi32>
  %2 = kiln.cast %fi : tensor<4xi32> to tensor<4xf32>
  %fd = kiln.cast %f : tensor<4xf32> to tensor<4xf64>
  %3 = kiln.cast %fd : tensor<4xf64> to tensor<4xi32>
  return %0, %1, %2, %3 : tensor<4xf64>, tensor<4xf64>, tensor<4xf32>, tensor<4xi32>
}
