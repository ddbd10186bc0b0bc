;; Version 2 checksum loop (see checksum.ts): four lanes at bytes 0..15, data from byte 64.
;; Assemble with: wat2wasm checksum_v2.wat -o checksum_v2.wasm
(module
  (memory (export "memory") 17)
  (func (export "absorb") (param $ptr i32) (param $end i32)
    (local $h0 i32) (local $h1 i32) (local $h2 i32) (local $h3 i32)
    (local.set $h0 (i32.load offset=0 (i32.const 0)))
    (local.set $h1 (i32.load offset=4 (i32.const 0)))
    (local.set $h2 (i32.load offset=8 (i32.const 0)))
    (local.set $h3 (i32.load offset=12 (i32.const 0)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $h0 (i32.add (i32.mul (i32.rotl (i32.xor (local.get $h0) (i32.load offset=0 (local.get $ptr))) (i32.const 13)) (i32.const -1640531535)) (i32.load offset=16 (local.get $ptr))))
        (local.set $h1 (i32.add (i32.mul (i32.rotl (i32.xor (local.get $h1) (i32.load offset=4 (local.get $ptr))) (i32.const 13)) (i32.const -2048144777)) (i32.load offset=20 (local.get $ptr))))
        (local.set $h2 (i32.add (i32.mul (i32.rotl (i32.xor (local.get $h2) (i32.load offset=8 (local.get $ptr))) (i32.const 13)) (i32.const -1028477379)) (i32.load offset=24 (local.get $ptr))))
        (local.set $h3 (i32.add (i32.mul (i32.rotl (i32.xor (local.get $h3) (i32.load offset=12 (local.get $ptr))) (i32.const 13)) (i32.const 668265263)) (i32.load offset=28 (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 32)))
        (br $next)))
    (i32.store offset=0 (i32.const 0) (local.get $h0))
    (i32.store offset=4 (i32.const 0) (local.get $h1))
    (i32.store offset=8 (i32.const 0) (local.get $h2))
    (i32.store offset=12 (i32.const 0) (local.get $h3))))
