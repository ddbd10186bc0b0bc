;; Version 3 checksum loop (see checksum.ts): sixteen lanes as four i32x4
;; vectors at bytes 0..63, data from byte 64. Each 128-byte group feeds the
;; vectors in turn: vector v takes the four words at 32v by xor before its
;; multiply and the four words at 32v + 16 by addition after it. The four
;; vectors are independent chains, so the multiplies overlap.
;; Assemble with: wat2wasm checksum_v3.wat -o checksum_v3.wasm
(module
  (memory (export "memory") 17)
  (func (export "absorb") (param $ptr i32) (param $end i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $t v128) (local $m v128)
    (local.set $a (v128.load offset=0 (i32.const 0)))
    (local.set $b (v128.load offset=16 (i32.const 0)))
    (local.set $c (v128.load offset=32 (i32.const 0)))
    (local.set $d (v128.load offset=48 (i32.const 0)))
    (local.set $m (v128.const i32x4 0x9e3779b1 0x85ebca77 0xc2b2ae3d 0x27d4eb2f))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $t (v128.xor (local.get $a) (v128.load offset=0 (local.get $ptr))))
        (local.set $a (i32x4.add (i32x4.mul (v128.or (i32x4.shl (local.get $t) (i32.const 13)) (i32x4.shr_u (local.get $t) (i32.const 19))) (local.get $m)) (v128.load offset=16 (local.get $ptr))))
        (local.set $t (v128.xor (local.get $b) (v128.load offset=32 (local.get $ptr))))
        (local.set $b (i32x4.add (i32x4.mul (v128.or (i32x4.shl (local.get $t) (i32.const 13)) (i32x4.shr_u (local.get $t) (i32.const 19))) (local.get $m)) (v128.load offset=48 (local.get $ptr))))
        (local.set $t (v128.xor (local.get $c) (v128.load offset=64 (local.get $ptr))))
        (local.set $c (i32x4.add (i32x4.mul (v128.or (i32x4.shl (local.get $t) (i32.const 13)) (i32x4.shr_u (local.get $t) (i32.const 19))) (local.get $m)) (v128.load offset=80 (local.get $ptr))))
        (local.set $t (v128.xor (local.get $d) (v128.load offset=96 (local.get $ptr))))
        (local.set $d (i32x4.add (i32x4.mul (v128.or (i32x4.shl (local.get $t) (i32.const 13)) (i32x4.shr_u (local.get $t) (i32.const 19))) (local.get $m)) (v128.load offset=112 (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 128)))
        (br $next)))
    (v128.store offset=0 (i32.const 0) (local.get $a))
    (v128.store offset=16 (i32.const 0) (local.get $b))
    (v128.store offset=32 (i32.const 0) (local.get $c))
    (v128.store offset=48 (i32.const 0) (local.get $d))))
