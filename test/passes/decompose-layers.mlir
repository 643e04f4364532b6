// kiln-decompose on the recurrent and normalization layers: products,
// element-wise ops and scf.for loops over time-major steps, in ATen's order
// of operations.
// RUN: kiln-opt %s --kiln-decompose --split-input-file | FileCheck %s

// lstm: one product projects every step (time-major rows [T*N, in]) plus
// b_ih; an scf.for over T carries the states and the cells, [T + 1, N, H]
// each with the zero state at step 0: gates = (h_{t-1} W_hh^T + b_hh) +
// pre_t split into i, f, g, o; c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t).
// CHECK-LABEL: func.func @lstm
// CHECK: %[[TM:.*]] = kiln.transpose %arg0 [1, 0, 2]
// CHECK: %[[ROWS:.*]] = kiln.reshape %[[TM]] : tensor<5x?x3xf32> to tensor<?x3xf32>
// CHECK: %[[WIH:.*]] = kiln.transpose %arg1 [1, 0]
// CHECK: %[[P:.*]] = kiln.matmul %[[ROWS]], %[[WIH]]
// CHECK: %[[PB:.*]] = kiln.add %[[P]], %arg3
// CHECK: %[[PRE:.*]] = kiln.reshape %[[PB]] : tensor<?x16xf32> to tensor<5x?x16xf32>
// CHECK: %[[WHH:.*]] = kiln.transpose %arg2 [1, 0]
// CHECK: %[[H0:.*]] = kiln.fill 0.000000e+00 sizes(%{{.*}}) : tensor<6x?x4xf32>
// CHECK: %[[C0:.*]] = kiln.fill 0.000000e+00 sizes(%{{.*}}) : tensor<6x?x4xf32>
// CHECK: %[[LOOP:.*]]:2 = scf.for %[[T:.*]] = %c0 to %c5 step %c1 iter_args(%[[HS:.*]] = %[[H0]], %[[CS:.*]] = %[[C0]])
// CHECK: %[[HPREV:.*]] = tensor.extract_slice %[[HS]][%[[T]], 0, 0]
// CHECK: %[[CPREV:.*]] = tensor.extract_slice %[[CS]][%[[T]], 0, 0]
// CHECK: %[[R:.*]] = kiln.matmul %[[HPREV]], %[[WHH]] : (tensor<?x4xf32>, tensor<4x16xf32>) -> tensor<?x16xf32>
// CHECK: %[[RB:.*]] = kiln.add %[[R]], %arg4
// CHECK: %[[PRET:.*]] = tensor.extract_slice %[[PRE]][%[[T]], 0, 0]
// CHECK: %[[GATES:.*]] = kiln.add %[[RB]], %[[PRET]]
// CHECK: %[[IS:.*]] = kiln.slice %[[GATES]] dim 1 start 0 size 4
// CHECK: %[[I:.*]] = kiln.sigmoid %[[IS]]
// CHECK: %[[FS:.*]] = kiln.slice %[[GATES]] dim 1 start 4 size 4
// CHECK: %[[F:.*]] = kiln.sigmoid %[[FS]]
// CHECK: %[[GS:.*]] = kiln.slice %[[GATES]] dim 1 start 8 size 4
// CHECK: %[[G:.*]] = kiln.tanh %[[GS]]
// CHECK: %[[OS:.*]] = kiln.slice %[[GATES]] dim 1 start 12 size 4
// CHECK: %[[O:.*]] = kiln.sigmoid %[[OS]]
// CHECK: %[[FC:.*]] = kiln.mul %[[F]], %[[CPREV]]
// CHECK: %[[IG:.*]] = kiln.mul %[[I]], %[[G]]
// CHECK: %[[C:.*]] = kiln.add %[[FC]], %[[IG]]
// CHECK: %[[TC:.*]] = kiln.tanh %[[C]]
// CHECK: %[[H:.*]] = kiln.mul %[[O]], %[[TC]]
// CHECK: %[[NEXT:.*]] = arith.addi %[[T]], %c1
// CHECK: %[[HW:.*]] = tensor.insert_slice %[[H]] into %[[HS]][%[[NEXT]], 0, 0]
// CHECK: %[[CW:.*]] = tensor.insert_slice %[[C]] into %[[CS]][%[[NEXT]], 0, 0]
// CHECK: scf.yield %[[HW]], %[[CW]]
// CHECK: %[[ALL:.*]] = tensor.extract_slice %[[LOOP]]#0[1, 0, 0] [5, %{{.*}}, 4]
// CHECK: kiln.transpose %[[ALL]] [1, 0, 2] : (tensor<5x?x4xf32>) -> tensor<?x5x4xf32>
func.func @lstm(%x: tensor<?x5x3xf32>, %wih: tensor<16x3xf32>, %whh: tensor<16x4xf32>, %bih: tensor<16xf32>, %bhh: tensor<16xf32>) -> tensor<?x5x4xf32> {
  %0 = kiln.lstm %x, %wih, %whh, %bih, %bhh : (tensor<?x5x3xf32>, tensor<16x3xf32>, tensor<16x4xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

// -----

// lstm_step_grad: the activations over the whole sequence; the cells in a
// forward loop of element-wise ops; then the reverse loop t = T-1-i with
// dh = dgates_{t+1} @ W_hh + g_t, one product per step, and each gate's
// gradient written into its columns of step t.
// CHECK-LABEL: func.func @lstm_step_grad
// CHECK: %[[ONE:.*]] = kiln.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[GATES:.*]] = kiln.transpose %arg0 [1, 0, 2]
// CHECK: %[[GS:.*]] = kiln.transpose %arg1 [1, 0, 2]
// CHECK: kiln.sigmoid {{.*}} : tensor<5x?x4xf32>
// CHECK: kiln.sigmoid {{.*}} : tensor<5x?x4xf32>
// CHECK: kiln.tanh {{.*}} : tensor<5x?x4xf32>
// CHECK: kiln.sigmoid {{.*}} : tensor<5x?x4xf32>
// CHECK: %[[CELLS:.*]] = scf.for %[[T:.*]] = %c0 to %c5 step %c1 iter_args(%[[CS:.*]] = %{{.*}}) -> (tensor<6x?x4xf32>)
// CHECK-NOT: kiln.matmul
// CHECK: scf.yield
// CHECK: %[[TANHC:.*]] = kiln.tanh %{{.*}} : tensor<5x?x4xf32>
// CHECK: scf.for %[[I:.*]] = %c0 to %c5 step %c1 iter_args(%[[DS:.*]] = %{{.*}}, %[[DCF:.*]] = %{{.*}}) -> (tensor<6x?x16xf32>, tensor<6x?x4xf32>)
// CHECK: %[[T:.*]] = arith.subi %c4, %[[I]]
// CHECK: %[[NEXT:.*]] = arith.addi %[[T]], %c1
// CHECK: %[[DN:.*]] = tensor.extract_slice %[[DS]][%[[NEXT]], 0, 0] [1, %{{.*}}, 16]
// CHECK: %[[P:.*]] = kiln.matmul %[[DN]], %arg2 : (tensor<?x16xf32>, tensor<16x4xf32>) -> tensor<?x4xf32>
// CHECK: %[[G:.*]] = tensor.extract_slice %[[GS]][%[[T]], 0, 0]
// CHECK: %[[DH:.*]] = kiln.add %[[P]], %[[G]]
// CHECK: tensor.insert_slice %{{.*}} into %[[DS]][%[[T]], 0, 0] [1, %{{.*}}, 4]
// CHECK: tensor.insert_slice %{{.*}}[%[[T]], 0, 4] [1, %{{.*}}, 4]
// CHECK: tensor.insert_slice %{{.*}}[%[[T]], 0, 8] [1, %{{.*}}, 4]
// CHECK: tensor.insert_slice %{{.*}}[%[[T]], 0, 12] [1, %{{.*}}, 4]
// CHECK: tensor.insert_slice %{{.*}} into %[[DCF]][%[[T]], 0, 0]
func.func @lstm_step_grad(%gates: tensor<?x5x16xf32>, %g: tensor<?x5x4xf32>, %whh: tensor<16x4xf32>) -> tensor<?x5x16xf32> {
  %0 = kiln.lstm_step_grad %gates, %g, %whh : (tensor<?x5x16xf32>, tensor<?x5x4xf32>, tensor<16x4xf32>) -> tensor<?x5x16xf32>
  return %0 : tensor<?x5x16xf32>
}

// -----

// gru: the input projection of every step is one product; per step
// hh = h_{t-1} W_hh^T + b_hh, r = sigmoid(hr + xr), z = sigmoid(hz + xz),
// n = tanh(xn + hn * r), h_t = (h_{t-1} - n) * z + n.
// CHECK-LABEL: func.func @gru
// CHECK: %[[PB:.*]] = kiln.add %{{.*}}, %arg3
// CHECK: %[[PRE:.*]] = kiln.reshape %[[PB]] : tensor<?x12xf32> to tensor<5x?x12xf32>
// CHECK: scf.for %[[T:.*]] = %c0 to %c5 step %c1 iter_args(%[[HS:.*]] = %{{.*}}) -> (tensor<6x?x4xf32>)
// CHECK: %[[HPREV:.*]] = tensor.extract_slice %[[HS]][%[[T]], 0, 0]
// CHECK: %[[R0:.*]] = kiln.matmul %[[HPREV]], %{{.*}} : (tensor<?x4xf32>, tensor<4x12xf32>) -> tensor<?x12xf32>
// CHECK: %[[HH:.*]] = kiln.add %[[R0]], %arg4
// CHECK: %[[X:.*]] = tensor.extract_slice %[[PRE]][%[[T]], 0, 0]
// CHECK: %[[HR:.*]] = kiln.slice %[[HH]] dim 1 start 0 size 4
// CHECK: %[[XR:.*]] = kiln.slice %[[X]] dim 1 start 0 size 4
// CHECK: %[[RS:.*]] = kiln.add %[[HR]], %[[XR]]
// CHECK: %[[R:.*]] = kiln.sigmoid %[[RS]]
// CHECK: %[[HZ:.*]] = kiln.slice %[[HH]] dim 1 start 4 size 4
// CHECK: %[[XZ:.*]] = kiln.slice %[[X]] dim 1 start 4 size 4
// CHECK: %[[ZS:.*]] = kiln.add %[[HZ]], %[[XZ]]
// CHECK: %[[Z:.*]] = kiln.sigmoid %[[ZS]]
// CHECK: %[[XN:.*]] = kiln.slice %[[X]] dim 1 start 8 size 4
// CHECK: %[[HN:.*]] = kiln.slice %[[HH]] dim 1 start 8 size 4
// CHECK: %[[HNR:.*]] = kiln.mul %[[HN]], %[[R]]
// CHECK: %[[NS:.*]] = kiln.add %[[XN]], %[[HNR]]
// CHECK: %[[N:.*]] = kiln.tanh %[[NS]]
// CHECK: %[[D:.*]] = kiln.sub %[[HPREV]], %[[N]]
// CHECK: %[[DZ:.*]] = kiln.mul %[[D]], %[[Z]]
// CHECK: %[[H:.*]] = kiln.add %[[DZ]], %[[N]]
// CHECK: tensor.insert_slice %[[H]] into %[[HS]]
func.func @gru(%x: tensor<?x5x3xf32>, %wih: tensor<12x3xf32>, %whh: tensor<12x4xf32>, %bih: tensor<12xf32>, %bhh: tensor<12xf32>) -> tensor<?x5x4xf32> {
  %0 = kiln.gru %x, %wih, %whh, %bih, %bhh : (tensor<?x5x3xf32>, tensor<12x3xf32>, tensor<12x4xf32>, tensor<12xf32>, tensor<12xf32>) -> tensor<?x5x4xf32>
  return %0 : tensor<?x5x4xf32>
}

// -----

// gru_step_grad: r, z, n over the whole sequence, then the reverse loop:
// dh = (dhidden_{t+1} @ W_hh + dh_{t+1} * z_{t+1}) + g_t, with dhidden the
// first 3H columns of the carried (dr, dz, dn * r, dn).
// CHECK-LABEL: func.func @gru_step_grad
// CHECK: scf.for %[[I:.*]] = %c0 to %c5 step %c1 iter_args(%[[DS:.*]] = %{{.*}}, %[[DHZ:.*]] = %{{.*}}) -> (tensor<6x?x16xf32>, tensor<6x?x4xf32>)
// CHECK: %[[T:.*]] = arith.subi %c4, %[[I]]
// CHECK: %[[NEXT:.*]] = arith.addi %[[T]], %c1
// CHECK: %[[DN:.*]] = tensor.extract_slice %[[DS]][%[[NEXT]], 0, 0] [1, %{{.*}}, 16]
// CHECK: %[[DHID:.*]] = kiln.slice %[[DN]] dim 1 start 0 size 12
// CHECK: %[[P:.*]] = kiln.matmul %[[DHID]], %arg4 : (tensor<?x12xf32>, tensor<12x4xf32>) -> tensor<?x4xf32>
// CHECK: %[[CARRY:.*]] = tensor.extract_slice %[[DHZ]][%[[NEXT]], 0, 0]
// CHECK: %[[S:.*]] = kiln.add %[[P]], %[[CARRY]]
// CHECK: kiln.add %[[S]], %{{.*}}
// CHECK: tensor.insert_slice %{{.*}} into %[[DS]][%[[T]], 0, 0] [1, %{{.*}}, 4]
// CHECK: tensor.insert_slice %{{.*}}[%[[T]], 0, 4] [1, %{{.*}}, 4]
// CHECK: tensor.insert_slice %{{.*}}[%[[T]], 0, 8] [1, %{{.*}}, 4]
// CHECK: tensor.insert_slice %{{.*}}[%[[T]], 0, 12] [1, %{{.*}}, 4]
// CHECK: tensor.insert_slice %{{.*}} into %[[DHZ]][%[[T]], 0, 0]
func.func @gru_step_grad(%xg: tensor<?x5x12xf32>, %hg: tensor<?x5x12xf32>, %prev: tensor<?x5x4xf32>, %g: tensor<?x5x4xf32>, %whh: tensor<12x4xf32>) -> tensor<?x5x16xf32> {
  %0 = kiln.gru_step_grad %xg, %hg, %prev, %g, %whh : (tensor<?x5x12xf32>, tensor<?x5x12xf32>, tensor<?x5x4xf32>, tensor<?x5x4xf32>, tensor<12x4xf32>) -> tensor<?x5x16xf32>
  return %0 : tensor<?x5x16xf32>
}

// -----

// layer_norm as ATen's CPU kernel: mean and biased variance over the last
// dim, rstd = 1 / sqrt(var + eps), (x * rstd + (-rstd * mean)) * w + b.
// CHECK-LABEL: func.func @layer_norm
// CHECK-DAG: %[[ONE:.*]] = kiln.constant dense<1.000000e+00> : tensor<f32>
// CHECK-DAG: %[[EPS:.*]] = kiln.constant dense<9.99999974E-6> : tensor<f32>
// CHECK: %[[MEAN:.*]] = kiln.mean %arg0 [1] {keepdim = true}
// CHECK: %[[D:.*]] = kiln.sub %arg0, %[[MEAN]]
// CHECK: %[[SQ:.*]] = kiln.mul %[[D]], %[[D]]
// CHECK: %[[VAR:.*]] = kiln.mean %[[SQ]] [1] {keepdim = true}
// CHECK: %[[VE:.*]] = kiln.add %[[VAR]], %[[EPS]]
// CHECK: %[[SD:.*]] = kiln.sqrt %[[VE]]
// CHECK: %[[RSTD:.*]] = kiln.div %[[ONE]], %[[SD]]
// CHECK: %[[NEG:.*]] = kiln.neg %[[RSTD]]
// CHECK: %[[SHIFT:.*]] = kiln.mul %[[NEG]], %[[MEAN]]
// CHECK: %[[XS:.*]] = kiln.mul %arg0, %[[RSTD]]
// CHECK: %[[XHAT:.*]] = kiln.add %[[XS]], %[[SHIFT]]
// CHECK: %[[Y:.*]] = kiln.mul %[[XHAT]], %arg1
// CHECK: kiln.add %[[Y]], %arg2
func.func @layer_norm(%x: tensor<?x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<?x8xf32> {
  %0 = kiln.layer_norm %x, %w, %b eps 1.0e-5 : (tensor<?x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}
